"""STIX 2.1 export: a bundle stix2 accepts, with the scan's indicators and sightings."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import stix2
from report_documents import NAMES, load
from stix2patterns.validator import run_validator

from exhunt.report.formats import render, render_many

AGENT = "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{}']"


def _bundle(text: str) -> Any:
    return stix2.parse(text, allow_custom=False)


def _of(bundle: Any, kind: str) -> list[Any]:
    return [obj for obj in bundle.objects if obj.type == kind]


@pytest.mark.parametrize("name", NAMES)
def test_bundle_validates(name: str) -> None:
    text = render(load(name), "stix")
    bundle = _bundle(text)
    assert bundle.type == "bundle"
    for indicator in _of(bundle, "indicator"):
        assert run_validator(indicator.pattern, stix_version="2.1") == []
    ids = {obj.id for obj in bundle.objects}
    refs = [r for obj in bundle.objects for r in _refs(obj)]
    assert set(refs) <= ids  # every reference resolves inside the bundle
    assert json.loads(text)["objects"][0]["name"] == "exhunt"


def _refs(obj: Any) -> list[str]:
    found = [obj.get("created_by_ref"), obj.get("sighting_of_ref")]
    found += list(obj.get("where_sighted_refs", [])) + list(obj.get("object_refs", []))
    return [ref for ref in found if ref]


def test_compromised_server_bundle_contents() -> None:
    bundle = _bundle(render(load("compromised"), "stix"))
    counts = Counter(obj.type for obj in bundle.objects)
    assert counts == {
        "identity": 2,
        "indicator": 10,
        "sighting": 10,
        "note": 5,
        "report": 1,
    }
    patterns = {i.pattern: i for i in _of(bundle, "indicator")}
    assert set(patterns) == {
        "[ipv4-addr:value = '104.140.114.110']",
        "[ipv4-addr:value = '139.162.202.236']",
        AGENT.format("antSword/v2.1"),
        AGENT.format("python-requests/2.25.1"),
        AGENT.format("ExchangeServicesClient/0.0.0.0"),
        "[file:hashes.'SHA-256' = "
        "'09c1a2fe913839230ec4d7144d015435101bfa0062a38f2473a374b7593699ca']",
        "[network-traffic:extensions.'http-request-ext'.request_value = "
        "'/owa/auth/RedirSuiteServerProxy.aspx']",
        "[file:name = 'RedirSuiteServerProxy.aspx' AND file:parent_directory_ref.path = "
        "'C:\\\\Program Files\\\\Microsoft\\\\Exchange Server\\\\V15\\\\FrontEnd"
        "\\\\HttpProxy\\\\owa\\\\auth']",
        "[file:name = 'lsass.dmp' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\Temp']",
        "[file:name = 'it.zip' AND file:parent_directory_ref.path = 'C:\\\\ProgramData']",
    }
    # The informational McAfee archive (F5) is not an indicator.
    assert not [p for p in patterns if "engmin.zip" in p]
    address = patterns["[ipv4-addr:value = '104.140.114.110']"]
    assert address.valid_from == stix2.utils.parse_into_datetime("2021-03-03T06:51:30Z")
    assert address.indicator_types == ["malicious-activity"]
    assert address.confidence == 60


def test_sightings_count_the_evidence_of_their_findings() -> None:
    bundle = _bundle(render(load("compromised"), "stix"))
    server = next(i for i in _of(bundle, "identity") if i.name == "EXCH01")
    assert server.identity_class == "system"
    by_indicator = {s.sighting_of_ref: s for s in _of(bundle, "sighting")}
    indicators = {i.pattern: i.id for i in _of(bundle, "indicator")}
    first_address = by_indicator[indicators["[ipv4-addr:value = '104.140.114.110']"]]
    assert first_address.where_sighted_refs == [server.id]
    assert first_address.count == 51 + 24  # F1 (web shell) and F2 (ProxyLogon) list it
    assert first_address.first_seen == stix2.utils.parse_into_datetime("2021-03-03T06:51:30Z")
    assert first_address.last_seen == stix2.utils.parse_into_datetime("2021-03-09T20:47:00.793Z")
    shell_hash = next(p for p in indicators if "SHA-256" in p)
    assert by_indicator[indicators[shell_hash]].count == 51


def test_findings_become_notes_on_the_server() -> None:
    bundle = _bundle(render(load("compromised"), "stix"))
    notes = {n.abstract: n for n in _of(bundle, "note")}
    assert sorted(notes) == [
        "F1 [critical] Web shell C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd"
        "\\HttpProxy\\owa\\auth\\RedirSuiteServerProxy.aspx, used from 104.140.114.110, "
        "139.162.202.236",
        "F2 [critical] ProxyLogon exploitation: SSRF to ECP wrote virtual directory settings "
        "(CVE-2021-26855, CVE-2021-27065)",
        "F3 [high] LSASS memory dump on disk (credential theft)",
        "F4 [high] File at a path or with a web shell name published for Exchange attacks",
        "F5 [info] Archives of known security or backup software in ProgramData (not escalated)",
    ]
    f2 = next(n for a, n in notes.items() if a.startswith("F2"))
    refs = {(r.source_name, r.external_id) for r in f2.external_references}
    assert refs == {
        ("cve", "CVE-2021-26855"),
        ("cve", "CVE-2021-27065"),
        ("mitre-attack", "T1190"),
        ("mitre-attack", "T1505.003"),
    }
    assert len(f2.object_refs) == 1 + 3  # the server, its address and two user agents
    report = _of(bundle, "report")[0]
    assert report.name == "exhunt: EXCH01 compromised"
    assert len(report.object_refs) == 1 + 10 + 5 + 10


def test_clean_server_has_no_indicators() -> None:
    bundle = _bundle(render(load("clean"), "stix"))
    assert Counter(o.type for o in bundle.objects) == {"identity": 2, "note": 1, "report": 1}


def test_bundle_is_the_same_every_time() -> None:
    first = render(load("attempted"), "stix")
    assert render(load("attempted"), "stix") == first
    assert "2022-11-28T10:02:30.25Z" in first  # times from the scan, not the clock


def test_fleet_bundle_shares_indicators_and_sights_them_per_server() -> None:
    one, two = load("compromised"), load("compromised").model_copy(deep=True)
    two.evidence.host = "EXCH02"
    bundle = _bundle(render_many([one, two, load("attempted")], "stix"))
    counts = Counter(obj.type for obj in bundle.objects)
    assert counts["identity"] == 1 + 3
    assert counts["indicator"] == 10 + 5  # EXCH02's are EXCH01's; EXCH19 adds its own
    assert counts["sighting"] == 10 + 10 + 5
    assert counts["report"] == 3
    shared = next(i for i in _of(bundle, "indicator") if "104.140.114.110" in i.pattern)
    sightings = [s for s in _of(bundle, "sighting") if s.sighting_of_ref == shared.id]
    assert len({s.where_sighted_refs[0] for s in sightings}) == 2


def test_attempted_server_ipv6_and_confidence() -> None:
    bundle = _bundle(render(load("attempted"), "stix"))
    indicators = {i.pattern: i for i in _of(bundle, "indicator")}
    assert indicators["[ipv6-addr:value = '2604:a880:400:d0::1b1c:1001']"].confidence == 60
    assert len(indicators) == 5
    agents = [i for p, i in indicators.items() if "User-Agent" in p]
    assert {a.confidence for a in agents} == {30}
    assert len(agents) == 2
    assert not [p for p in indicators if "10.20.0.99" in p]  # the informational scanner
