"""The fleet's questions over real scans: summary by verdict, exposure, build and
organisation; the campaign's indicators across organisations; the peer web-file manifests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from store_docs import T0, T1, document, dump_finding, webshell_finding

from exhunt.document import ScanDocument
from exhunt.model import VerdictStatus
from exhunt.store import Count, ExposureCount, Pivot, Scope, Store, open_store
from exhunt.testing import scenarios as sc

from fleetdata import CAMPAIGN_KEY, PATCHED, UNPATCHED, SmallServer  # isort: skip

PROXYLOGON = ("CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065")
SHELL_SHA256 = hashlib.sha256(
    f'<%@ Page Language="Jscript"%>\r\n{sc.webshell_script(CAMPAIGN_KEY)}\r\n'.encode()
).hexdigest()


@pytest.fixture
def fleet(
    target: str, documents: dict[str, ScanDocument], servers: dict[str, SmallServer]
) -> Iterator[Store]:
    """The five scanned servers, each in its own organisation."""
    with open_store(target) as store:
        for name, doc in documents.items():
            store.save(doc, servers[name].organisation, servers[name].host)
        yield store


def org(servers: dict[str, SmallServer], name: str) -> str:
    return servers[name].organisation


def test_summary_by_verdict_exposure_build_and_organisation(
    fleet: Store, servers: dict[str, SmallServer]
) -> None:
    summary = fleet.summary()
    assert (summary.servers, summary.organisations, summary.scans) == (5, 5, 5)
    assert summary.verdicts == {"clean": 2, "vulnerable": 1, "attempted": 0, "compromised": 2,
                                "inconclusive": 0}  # fmt: skip
    assert summary.exposures == tuple(ExposureCount(cve, "ProxyLogon", 3) for cve in PROXYLOGON)
    assert summary.builds == (
        Count(UNPATCHED, 3, {"clean": 0, "vulnerable": 1, "attempted": 0, "compromised": 2,
                             "inconclusive": 0}),
        Count(PATCHED, 2, {"clean": 2, "vulnerable": 0, "attempted": 0, "compromised": 0,
                           "inconclusive": 0}),
    )  # fmt: skip
    assert [(c.name, c.total) for c in summary.by_organisation] == sorted(
        (s.organisation, 1) for s in servers.values()
    )
    victim = next(c for c in summary.by_organisation if c.name == org(servers, "victim-a"))
    assert victim.verdicts["compromised"] == 1


def test_a_server_counts_with_its_latest_scan(
    fleet: Store, documents: dict[str, ScanDocument], servers: dict[str, SmallServer]
) -> None:
    later = ScanDocument.from_json(documents["vulnerable"].to_json())
    later.evidence.sha256 = "ff" * 32  # a new collection of the same server, now patched
    later.verdict.status = VerdictStatus.CLEAN
    fleet.save(later, org(servers, "vulnerable"), servers["vulnerable"].host)
    summary = fleet.summary()
    assert (summary.servers, summary.scans) == (5, 6)
    assert summary.verdicts["clean"] == 3
    assert summary.verdicts["vulnerable"] == 0


def test_the_campaign_pivots_across_the_victims(
    fleet: Store, servers: dict[str, SmallServer]
) -> None:
    victims = tuple(sorted((org(servers, "victim-a"), org(servers, "victim-b"))))
    pivots = {(p.kind, p.value): p for p in fleet.pivot()}
    for key in [("ip", sc.ATTACKER_IP), ("sha256", SHELL_SHA256),
                ("webshell_name", sc.WEBSHELL_NAME), ("user_agent", sc.SSRF_UA),
                ("tool", "python-requests")]:  # fmt: skip
        assert key in pivots, key
        pivot = pivots[key]
        assert (pivot.organisations, pivot.others, pivot.hosts) == (victims, 0, 2), key
    assert all(p.organisations == victims for p in pivots.values())


def test_an_organisation_sees_its_pivots_without_the_others_names(
    fleet: Store, servers: dict[str, SmallServer]
) -> None:
    mine = org(servers, "victim-a")
    pivots = {(p.kind, p.value): p for p in fleet.pivot(Scope(frozenset({mine})))}
    ip = pivots[("ip", sc.ATTACKER_IP)]
    assert (ip.organisations, ip.others, ip.hosts) == ((mine,), 1, 1)
    assert fleet.pivot(Scope(frozenset({org(servers, "clean-a")}))) == []
    assert fleet.summary(Scope(frozenset({mine}))).servers == 1


def test_pivots_need_the_indicator_at_enough_organisations(target: str) -> None:
    with open_store(target) as store:
        store.save(document(host="A"), "Contoso")
        store.save(document(host="B"), "Contoso")  # the same organisation twice: no pivot
        assert store.pivot() == []
        store.save(document(host="C", findings=[webshell_finding(agent="curl/7.68")]), "Fabrikam")
        pivots = store.pivot(kinds=("ip", "tool"))
        assert pivots == [
            Pivot("ip", "104.140.114.110", ("Contoso", "Fabrikam"), 0, 3, T0, T1),
        ]
        assert store.pivot(kinds=("ip",), min_organisations=3) == []


def test_only_malicious_findings_pivot(target: str) -> None:
    info = webshell_finding()
    info.category = info.category.INFORMATIONAL
    with open_store(target) as store:
        store.save(document(host="A", findings=[info, dump_finding()]), "Contoso")
        store.save(document(host="B", findings=[info, dump_finding()]), "Fabrikam")
        kinds = sorted(p.kind for p in store.pivot())
    assert kinds == ["account", "file_name"]


def test_web_file_manifests_of_a_build_for_a_peer_baseline(
    fleet: Store, servers: dict[str, SmallServer]
) -> None:
    manifests = fleet.web_file_manifests(UNPATCHED)
    assert sorted((m.organisation, m.host) for m in manifests) == sorted(
        (s.organisation, s.host) for n, s in servers.items() if n in ("vulnerable", "victim-a",
                                                                        "victim-b")
    )  # fmt: skip
    victim = next(m for m in manifests if m.host == servers["victim-a"].host)
    shell = [
        f
        for f in victim.files
        if f.install_rel == f"FrontEnd/HttpProxy/owa/auth/{sc.WEBSHELL_NAME}"
    ]
    assert [f.sha256 for f in shell] == [SHELL_SHA256]
    assert victim.install_path == "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"
    assert [f.path for f in victim.files] == sorted(f.path for f in victim.files)
    clean = next(m for m in manifests if m.host == servers["vulnerable"].host)
    assert {f.install_rel for f in clean.files} == {f.install_rel for f in victim.files} - {
        f"FrontEnd/HttpProxy/owa/auth/{sc.WEBSHELL_NAME}"}  # fmt: skip
    assert fleet.web_file_manifests("15.2.9999.1") == []
    assert len(fleet.web_file_manifests(PATCHED, Scope(frozenset({org(servers, "clean-a")})))) == 1


def test_install_relative_paths_whatever_the_collection_layout(target: str) -> None:
    doc = document()
    for entry in doc.evidence.files:
        entry.path = "uploads/auto/D%3A/" + entry.path[2:]
    with open_store(target) as store:
        store.save(doc, "Contoso")
        [manifest] = store.web_file_manifests("15.1.2106.2")
    assert [(f.path, f.install_rel) for f in manifest.files] == [
        ("uploads/auto/D%3A/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx",
         "FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        ("uploads/auto/D%3A/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/shell.aspx",
         "FrontEnd/HttpProxy/owa/auth/shell.aspx"),
    ]  # fmt: skip


def test_exposures_count_the_mitigated_servers(target: str) -> None:
    mitigated = document(host="EXCH02")
    mitigated.exchange.mitigated = ["CVE-2021-26855"]
    with open_store(target) as store:
        store.save(document(host="EXCH01"), "Contoso")
        store.save(mitigated, "Contoso")
        store.save(document(host="EXCH03"), "Fabrikam")
        assert store.summary().exposures == (ExposureCount("CVE-2021-26855", "ProxyLogon", 3, 1),)
