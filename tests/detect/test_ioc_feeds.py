"""STIX 2.1 bundles and MISP exports as indicator feeds for ``--iocs``, beside the CSV packs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from exhunt.detect.ioc import Indicator, load_indicators
from exhunt.detect.rules import bundled_rules_dir
from exhunt.document import ScanDocument
from exhunt.exceptions import RuleError
from exhunt.options import ScanOptions
from exhunt.report.formats import render
from exhunt.scan import scan
from exhunt.testing.builder import EvidenceBuilder, Row

SHA256 = "B75F163CA9B9240BF4B37AD92BC7556B40A17E27C2B8ED5C8991385FE07D17D0"
MD5 = "4b3a7b1e4b1f0f1c9c2d1f8e0a6b5c4d"
PRODUCER = "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
REPORTS = Path(__file__).parents[1] / "report" / "documents"


def _indicator(number: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{number:012d}",
        "created": "2022-10-03T10:00:00.000Z",
        "modified": "2022-10-03T10:00:00.000Z",
        "created_by_ref": PRODUCER,
        "name": f"indicator {number}",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2022-10-03T10:00:00Z",
        **extra,
    }


def _bundle(*objects: dict[str, Any], spec: str | None = None) -> dict[str, Any]:
    producer = {
        "type": "identity",
        "spec_version": "2.1",
        "id": PRODUCER,
        "created": "2022-10-03T10:00:00.000Z",
        "modified": "2022-10-03T10:00:00.000Z",
        "name": "Acme CERT",
        "identity_class": "organization",
    }
    bundle: dict[str, Any] = {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [producer, *objects],
    }
    if spec:
        bundle["spec_version"] = spec
    return bundle


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), "utf-8")
    return path


def _values(indicators: list[Indicator]) -> list[tuple[str, str, str]]:
    return [(i.type, i.value, i.confidence) for i in indicators]


AGENT = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
PATTERNS = [
    "[ipv4-addr:value = '103.9.76.208']",
    "[ipv4-addr:value = '203.0.113.5/32']",
    "[ipv4-addr:value = '198.51.100.0/24']",
    f"[file:hashes.'SHA-256' = '{SHA256}']",
    f"[file:hashes.MD5 = '{MD5}' AND file:name = 'errorEE.aspx']",
    "[file:name = 'RedirSuiteServerProxy.aspx' AND file:parent_directory_ref.path = "
    "'C:\\\\Program Files\\\\Microsoft\\\\Exchange Server\\\\V15\\\\FrontEnd\\\\HttpProxy"
    "\\\\owa\\\\auth']",
    "[url:value = 'https://mail.example.com/owa/auth/errorEE.aspx?x=1']",
    "[url:value = 'http://evil.example/']",
    f"[{AGENT} = 'antSword/v2.1']",
    "[ipv6-addr:value = '2001:db8::1'] OR [domain-name:value = 'evil.example']",
    "[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']",
    "[file:name = 'shell.aspx' AND file:size > 1000]",
    "[file:name != 'a.aspx']",
    f"[{AGENT} = 'Mozilla/5.0 (it\\'s \\\\ odd)']",
    "[file:name IN ('a.aspx', 'C:\\\\x\\\\b.aspx')]",
    "([network-traffic:src_ref.value = '45.77.12.34'] FOLLOWEDBY "
    "[network-traffic:extensions.'http-request-ext'.request_value = '/ecp/y.js'])"
    " WITHIN 60 SECONDS",
]


def test_stix_patterns_become_literal_indicators(tmp_path: Path) -> None:
    objects = [_indicator(n, p) for n, p in enumerate(PATTERNS, 1)]
    path = _write(tmp_path, "feed.json", _bundle(*objects))
    found = load_indicators([path])
    assert _values(found) == [
        ("ipv4", "103.9.76.208", "high"),
        ("ipv4", "203.0.113.5", "high"),  # a one-host range is the host; /24 is left out
        ("sha256", SHA256.lower(), "high"),
        ("md5", MD5, "high"),  # the hash alone: exact, the name would say less
        (
            "path",
            "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth"
            "\\RedirSuiteServerProxy.aspx",
            "high",
        ),
        ("url-fragment", "/owa/auth/errorEE.aspx?x=1", "high"),  # not the bare host URL
        ("user-agent", "antSword/v2.1", "high"),
        ("ipv6", "2001:db8::1", "high"),
        ("ipv4", "192.0.2.1", "low"),  # parts of an AND
        ("ipv4", "192.0.2.2", "low"),
        ("filename", "shell.aspx", "low"),  # the size test is left out, so it says less
        ("user-agent", "Mozilla/5.0 (it's \\ odd)", "high"),
        ("filename", "a.aspx", "high"),
        ("path", "C:\\x\\b.aspx", "high"),
        ("ipv4", "45.77.12.34", "low"),
        ("url-fragment", "/ecp/y.js", "low"),
    ]
    first = found[0]
    assert (first.source, first.reference, first.note) == (
        "Acme CERT",
        "indicator--00000000-0000-4000-8000-000000000001",
        "indicator 1",
    )
    assert first.origin == "feed.json:indicator--00000000-0000-4000-8000-000000000001"


def test_stix_indicators_skipped_on_purpose(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    yara = _indicator(1, "rule x { condition: true }", pattern_type="yara")
    revoked = _indicator(2, "[ipv4-addr:value = '192.0.2.9']", revoked=True)
    doubtful = _indicator(3, "[ipv4-addr:value = '192.0.2.10']", confidence=20)
    referenced = _indicator(
        4,
        "[ipv4-addr:value = '192.0.2.11']",
        external_references=[{"source_name": "blog", "url": "https://example.com/post"}],
    )
    path = _write(tmp_path, "feed.json", _bundle(yara, revoked, doubtful, referenced))
    with caplog.at_level(logging.INFO, logger="exhunt.detect.feeds"):
        found = load_indicators([path])
    assert _values(found) == [("ipv4", "192.0.2.10", "low"), ("ipv4", "192.0.2.11", "high")]
    assert found[1].reference == "https://example.com/post"
    assert (
        "feed.json: skipped indicators exhunt cannot match in evidence: 1 revoked, 1 yara patterns"
        in caplog.text
    )


def test_stix_2_0_bundle(tmp_path: Path) -> None:
    indicator = {
        "type": "indicator",
        "id": "indicator--11111111-1111-4111-8111-111111111111",
        "created": "2021-03-05T10:00:00.000Z",
        "modified": "2021-03-05T10:00:00.000Z",
        "labels": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '104.140.114.110']",
        "valid_from": "2021-03-05T10:00:00Z",
    }
    path = _write(tmp_path, "old.json", _bundle(indicator, spec="2.0"))
    assert _values(load_indicators([path])) == [("ipv4", "104.140.114.110", "high")]


@pytest.mark.parametrize(
    ("indicator", "message"),
    [
        (
            _indicator(7, "[ipv4-addr:value = '1.2.3.4'"),
            "indicator--00000000-0000-4000-8000-000000000007: not a valid STIX 2.1 indicator: "
            "Invalid value for Indicator 'pattern'",
        ),
        (
            {k: v for k, v in _indicator(8, "[ipv4-addr:value = '1.2.3.4']").items()
             if k != "pattern"},
            "indicator--00000000-0000-4000-8000-000000000008: not a valid STIX 2.1 indicator: "
            "No values for required properties for Indicator: (pattern)",
        ),
        (
            _indicator(9, "[ipv4-addr:value = '999.1.1.1']"),
            "indicator--00000000-0000-4000-8000-000000000009: not an IP address: '999.1.1.1'",
        ),
        (
            _indicator(10, "[file:hashes.'SHA-256' = 'abc']"),
            "indicator--00000000-0000-4000-8000-000000000010: not a valid STIX 2.1 indicator: "
            "Invalid value for Indicator 'pattern': FAIL: 'abc' is not a valid SHA-256 hash",
        ),
    ],
)  # fmt: skip
def test_malformed_stix_names_file_and_object(
    tmp_path: Path, indicator: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, "bad.json", _bundle(indicator))
    with pytest.raises(RuleError) as caught:
        load_indicators([path])
    assert str(caught.value).startswith(f"{path}: {message}")
    assert caught.value.path == str(path)


def test_broken_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.json", '{\n  "type": "bundle",\n  "objects": [\n}\n')
    with pytest.raises(RuleError) as caught:
        load_indicators([path])
    assert (caught.value.path, caught.value.line) == (str(path), 4)
    assert str(caught.value).startswith(f"{path}:4: not valid JSON")


def test_json_that_is_neither_format(tmp_path: Path) -> None:
    path = _write(tmp_path, "other.json", {"hello": "world"})
    with pytest.raises(RuleError, match="neither a STIX bundle nor a MISP event export"):
        load_indicators([path])


MISP_EVENT = {
    "Event": {
        "id": "1234",
        "uuid": "5f1d3a2b-0000-4000-8000-00000000e001",
        "info": "ProxyNotShell exploitation, October 2022",
        "Orgc": {"name": "CIRCL"},
        "Attribute": [
            {"type": "ip-dst", "value": "103.9.76.208", "to_ids": True,
             "uuid": "a0000000-0000-4000-8000-000000000001", "category": "Network activity",
             "comment": "C2"},
            {"type": "ip-src|port", "value": "103.9.76[.]211|443", "to_ids": True,
             "uuid": "a0000000-0000-4000-8000-000000000002"},
            {"type": "domain", "value": "evil.example", "to_ids": True,
             "uuid": "a0000000-0000-4000-8000-000000000003"},
            {"type": "user-agent", "value": "python-requests/2.28.1", "to_ids": False,
             "uuid": "a0000000-0000-4000-8000-000000000004"},
            {"type": "url", "value": "hxxps://mail.example.com/autodiscover/autodiscover.json?@evil.example/owa/",
             "to_ids": True, "uuid": "a0000000-0000-4000-8000-000000000005"},
            {"type": "filename|sha256", "value": f"pxh4HG1v.ashx|{SHA256}", "to_ids": True,
             "uuid": "a0000000-0000-4000-8000-000000000006"},
            {"type": "ip-dst", "value": "192.0.2.66", "to_ids": True, "deleted": True,
             "uuid": "a0000000-0000-4000-8000-000000000007"},
            {"type": "filename", "value": "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\x.aspx",
             "to_ids": "1", "uuid": "a0000000-0000-4000-8000-000000000008"},
        ],
        "Object": [
            {"name": "file", "Attribute": [
                {"type": "filename", "object_relation": "filename", "value": "errorEE.aspx",
                 "to_ids": True, "uuid": "b0000000-0000-4000-8000-000000000001"},
                {"type": "md5", "object_relation": "md5", "value": MD5, "to_ids": True,
                 "uuid": "b0000000-0000-4000-8000-000000000002"},
            ]},
        ],
    }
}  # fmt: skip
MISP_EXPECTED = [
    ("ipv4", "103.9.76.208", "high"),
    ("ipv4", "103.9.76.211", "high"),
    ("user-agent", "python-requests/2.28.1", "low"),  # no IDS flag: context
    ("url-fragment", "/autodiscover/autodiscover.json?@evil.example/owa/", "high"),
    ("filename", "pxh4HG1v.ashx", "low"),  # the name beside a hash says less
    ("sha256", SHA256.lower(), "high"),
    ("path", "C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\x.aspx", "high"),
    ("filename", "errorEE.aspx", "low"),
    ("md5", MD5, "high"),
]


def test_misp_json_event(tmp_path: Path) -> None:
    found = load_indicators([_write(tmp_path, "event.json", MISP_EVENT)])
    assert _values(found) == MISP_EXPECTED
    first = found[0]
    assert (first.source, first.reference, first.note) == (
        "CIRCL",
        "MISP event 5f1d3a2b-0000-4000-8000-00000000e001",
        "C2",
    )
    assert first.origin == "event.json:attribute a0000000-0000-4000-8000-000000000001"
    assert found[2].note == "ProxyNotShell exploitation, October 2022"  # the event's info


@pytest.mark.parametrize(
    "shape",
    [
        lambda e: {"response": [e]},
        lambda e: [e, {"Event": {"info": "empty", "Attribute": []}}],
        lambda e: e["Event"] | {"info": e["Event"]["info"]},
        lambda e: {"response": {"Attribute": e["Event"]["Attribute"]}},
    ],
    ids=["rest-search", "list", "bare-event", "attribute-search"],
)
def test_misp_json_shapes(tmp_path: Path, shape: Any) -> None:
    found = load_indicators([_write(tmp_path, "export.json", shape(MISP_EVENT))])
    expected = MISP_EXPECTED if "Object" in json.dumps(shape(MISP_EVENT)) else MISP_EXPECTED[:7]
    assert _values(found) == expected


def test_misp_json_bad_attribute_names_it(tmp_path: Path) -> None:
    attribute = {"type": "sha1", "value": "123", "uuid": "c0000000-0000-4000-8000-000000000001"}
    event = {"Event": {"info": "x", "Attribute": [attribute]}}
    path = _write(tmp_path, "event.json", event)
    with pytest.raises(RuleError) as caught:
        load_indicators([path])
    assert str(caught.value) == (
        f"{path}: attribute c0000000-0000-4000-8000-000000000001: sha1 must be 40 hex digits: '123'"
    )


MISP_CSV = (
    "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,"
    "object_uuid,object_name,object_meta-category\n"
    "a1,1234,Network activity,ip-dst,103.9.76.208,GTSC,1,1664755200,,,,,\n"
    'a2,1234,Network activity,user-agent,"Mozilla/5.0 (Windows NT 10.0; Win64; x64)",,0,'
    "1664755200,,,,,\n"
    "a3,1234,Payload delivery,sha256," + SHA256 + ",,1,1664755200,,,,,\n"
    "a4,1234,Network activity,hostname,mail.evil.example,,1,1664755200,,,,,\n"
)


def test_misp_csv(tmp_path: Path) -> None:
    found = load_indicators([_write(tmp_path, "misp.csv", MISP_CSV)])
    assert _values(found) == [
        ("ipv4", "103.9.76.208", "high"),
        ("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "low"),
        ("sha256", SHA256.lower(), "high"),
    ]
    assert (found[0].source, found[0].reference, found[0].note, found[0].origin) == (
        "MISP",
        "MISP event 1234",
        "GTSC",
        "misp.csv:2",
    )


def test_misp_csv_bad_row_names_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "misp.csv", MISP_CSV + "a5,1234,Network activity,ip-src,10.0.0.300,,1,1,,,,,\n"
    )
    with pytest.raises(RuleError) as caught:
        load_indicators([path])
    assert str(caught.value) == f"{path}:6: not an IP address: '10.0.0.300'"


def test_folders_mix_the_formats(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    _write(folder, "a-pack.csv", "type,value,source,reference\nipv4,192.0.2.200,me,here\n")
    _write(folder, "b-stix.json", _bundle(_indicator(1, "[ipv4-addr:value = '192.0.2.201']")))
    _write(folder, "c-misp.csv", MISP_CSV)
    _write(folder, "notes.txt", "not a feed")
    found = load_indicators([folder])
    assert [i.value for i in found][:3] == ["192.0.2.200", "192.0.2.201", "103.9.76.208"]
    assert len(found) == 5


def test_bundled_packs_still_load() -> None:
    packs = load_indicators([bundled_rules_dir() / "iocs"])
    assert packs and {i.origin.split(":")[0] for i in packs} == {
        p.name for p in (bundled_rules_dir() / "iocs").glob("*.csv")
    }


def test_exported_bundle_reads_back_as_the_scans_indicators(tmp_path: Path) -> None:
    document = ScanDocument.from_json((REPORTS / "compromised.json").read_bytes())
    path = _write(tmp_path, "exported.json", render(document, "stix"))
    found = {(i.type, i.value) for i in load_indicators([path])}
    malicious = [f for f in document.findings if f.category.malicious]
    assert {v for t, v in found if t == "ipv4"} == {
        ip for f in malicious for ip in f.indicators.ips
    }
    assert {v for t, v in found if t == "sha256"} == {
        h for f in malicious for h in f.indicators.sha256
    }
    assert {v for t, v in found if t == "path"} == {
        p for f in malicious for p in f.indicators.paths if p.startswith("C:\\")
    }
    assert {v for t, v in found if t == "url-fragment"} == {"/owa/auth/RedirSuiteServerProxy.aspx"}
    agents = {i.value: i.confidence for i in load_indicators([path]) if i.type == "user-agent"}
    assert agents == {
        "antSword/v2.1": "low",  # exported at confidence 30: user agents are weak alone
        "python-requests/2.25.1": "low",
        "ExchangeServicesClient/0.0.0.0": "low",
    }


ATTACKER = "45.77.12.34"


def _request(minute: int, method: str, agent: str) -> Row:
    return {
        "time": datetime(2022, 10, 3, 9, minute, tzinfo=UTC), "s-ip": "10.0.0.5",
        "cs-method": method, "cs-uri-stem": "/owa/auth/logon.aspx", "cs-uri-query": "-",
        "s-port": 443, "cs-username": "-", "c-ip": ATTACKER, "cs(User-Agent)": agent,
        "sc-status": 200, "sc-substatus": 0, "sc-win32-status": 0, "time-taken": 15,
    }  # fmt: skip


@pytest.mark.integration
def test_a_stix_feed_finds_its_address_in_a_scan(tmp_path: Path) -> None:
    b = EvidenceBuilder(tmp_path / "evidence", build="15.2.986.5")
    b.iis(1, date(2022, 10, 3), [_request(m, "GET", "Mozilla/5.0") for m in range(3)])
    feed = _write(
        tmp_path, "feed.json", _bundle(_indicator(1, f"[ipv4-addr:value = '{ATTACKER}']"))
    )
    document = scan([b.root], ScanOptions(jobs=1, ioc_paths=(feed,)))
    hits = [f for f in document.findings if "exhunt.ioc.ip" in (f.rules or [f.rule])]
    assert len(hits) == 1
    assert hits[0].indicators.ips == [ATTACKER]
    assert hits[0].count == 3
    assert "[address listed by Acme CERT]" in document.timeline[0].summary


@pytest.mark.integration
def test_a_misp_user_agent_without_ids_flag_counts_on_posts_only(tmp_path: Path) -> None:
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
    b = EvidenceBuilder(tmp_path / "evidence", build="15.2.986.5")
    b.iis(1, date(2022, 10, 3), [_request(1, "GET", agent), _request(2, "POST", agent)])
    document = scan(
        [b.root], ScanOptions(jobs=1, ioc_paths=(_write(tmp_path, "misp.csv", MISP_CSV),))
    )
    hits = [f for f in document.findings if "exhunt.ioc.user-agent" in (f.rules or [f.rule])]
    assert [f.count for f in hits] == [1]
    assert hits[0].evidence[0].excerpt is not None and " POST " in hits[0].evidence[0].excerpt


# --- the period an indicator stands for ------------------------------------------------------

PERIOD_PACK = (
    "type,value,source,reference,confidence,note,valid_from,valid_until\n"
    f"ipv4,{ATTACKER},Acme CERT,https://cert.example/1,high,,,2022-10-02\n"
)


def test_pack_periods_are_read_and_a_date_ends_with_its_day(tmp_path: Path) -> None:
    pack = _write(
        tmp_path,
        "pack.csv",
        PERIOD_PACK + "ipv4,45.77.12.35,Acme CERT,r,high,,2022-09-01T12:00:00Z,\n",
    )
    first, second = load_indicators([pack])
    assert (first.valid_from, first.valid_until) == (None, datetime(2022, 10, 3, tzinfo=UTC))
    assert first.outside(datetime(2022, 10, 2, 23, 59, tzinfo=UTC)) is None
    assert first.outside(datetime(2022, 10, 3, tzinfo=UTC)) == "listed until 2022-10-03T00:00:00Z"
    assert first.outside(None) is None
    assert second.valid_from == datetime(2022, 9, 1, 12, tzinfo=UTC)
    assert second.outside(datetime(2022, 9, 1, tzinfo=UTC)) == "listed from 2022-09-01T12:00:00Z"


def test_a_bad_period_names_file_and_line(tmp_path: Path) -> None:
    pack = _write(tmp_path, "pack.csv", PERIOD_PACK.replace("2022-10-02", "soon"))
    with pytest.raises(RuleError) as caught:
        load_indicators([pack])
    assert str(caught.value) == f"{pack}:2: valid_until is not an ISO-8601 date: 'soon'"


def test_stix_valid_until_limits_the_indicator(tmp_path: Path) -> None:
    feed = _bundle(
        _indicator(1, f"[ipv4-addr:value = '{ATTACKER}']", valid_until="2022-10-04T00:00:00Z")
    )
    (indicator,) = load_indicators([_write(tmp_path, "feed.json", feed)])
    assert indicator.valid_until == datetime(2022, 10, 4, tzinfo=UTC)
    assert indicator.valid_from is None  # when the indicator was written, not a limit


@pytest.mark.integration
def test_an_address_seen_after_its_period_is_informational(tmp_path: Path) -> None:
    b = EvidenceBuilder(tmp_path / "evidence", build="15.2.1544.14")
    b.iis(1, date(2022, 10, 3), [_request(m, "GET", "Mozilla/5.0") for m in range(3)])
    pack = _write(tmp_path, "pack.csv", PERIOD_PACK)
    document = scan([b.root], ScanOptions(jobs=1, ioc_paths=(pack,)))
    hits = [f for f in document.findings if "exhunt.ioc.ip" in (f.rules or [f.rule])]
    assert [(f.category.value, f.severity.value, f.count) for f in hits] == [
        ("informational", "info", 3)
    ]
    assert document.verdict.status.value != "attempted"
    assert document.verdict.first_malicious is None
    assert document.timeline[0].summary.endswith(
        "[address listed by Acme CERT, listed until 2022-10-03T00:00:00Z: not counted]"
    )


def test_bundled_addresses_stand_for_their_campaign() -> None:
    indicators = load_indicators([bundled_rules_dir() / "iocs"])
    addresses = [i for i in indicators if i.type in ("ipv4", "ipv6")]
    assert addresses and all(i.valid_until is not None for i in addresses)
    assert all(i.valid_until is None for i in indicators if i.type not in ("ipv4", "ipv6"))
