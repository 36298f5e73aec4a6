"""Correlation: one finding per request, session or chain, classified by its family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exhunt.detect.checks.proxylogon import ProxyLogonSsrfCheck
from exhunt.detect.context import ScanContext
from exhunt.detect.rules import ChainFacts
from exhunt.findings.correlate import correlate
from exhunt.model import Category, Hit, Indicators, Record, RuleInfo, Severity, Source

T = datetime(2021, 3, 3, 6, 49, 42, tzinfo=UTC)
SSRF = ProxyLogonSsrfCheck.info
OTHER = RuleInfo("other", "Other rule", Severity.MEDIUM, Category.ATTEMPT, cves=("CVE-2021-26855",))
ECP = RuleInfo(
    "ecp", "ECP markup", Severity.CRITICAL, Category.EXPLOITATION, cves=("CVE-2021-27065",)
)


def hit(
    rule: RuleInfo = SSRF,
    *,
    seconds: int = 0,
    line: int = 1,
    path: str = "HttpProxy.LOG",
    link: str | None = "203.0.113.7",
    group: str = "proxylogon",
    keys: frozenset[str] = frozenset(),
    tags: frozenset[str] = frozenset(),
) -> Hit:
    record = Record(Source("exchange.httpproxy", path), line, T + timedelta(seconds=seconds), {})
    return Hit(
        rule=rule,
        record=record,
        summary="s",
        indicators=Indicators(ips=(link,) if link else ()),
        keys=keys,
        group=group,
        link=link,
        tags=tags,
    )


def facts(exposed: bool | None = True) -> ChainFacts:
    return ChainFacts(ScanContext(), lambda cve, record: exposed)


def test_successful_chain_is_one_exploitation_finding_with_every_line() -> None:
    chain = [
        hit(seconds=0, line=1, tags=frozenset({"ssrf:autodiscover", "status:200"})),
        hit(seconds=2, line=2, tags=frozenset({"ssrf:emsmdb", "status:200"})),
        hit(seconds=4, line=3, tags=frozenset({"ssrf:proxylogon", "status:241"})),
    ]
    [(finding, hits)] = correlate(chain, facts())
    assert finding.category is Category.EXPLOITATION
    assert finding.severity is Severity.CRITICAL
    assert finding.rule == "exhunt.proxylogon.ssrf"
    assert [e.line for e in finding.evidence] == [1, 2, 3]
    assert finding.count == 3 and len(hits) == 3


def test_autodiscover_only_is_an_attempt() -> None:
    [(finding, _)] = correlate([hit(tags=frozenset({"ssrf:autodiscover", "status:200"}))], facts())
    assert finding.category is Category.ATTEMPT
    assert "autodiscover only" in finding.title


def test_attempt_against_fixed_build_is_informational() -> None:
    [(finding, _)] = correlate([hit(tags=frozenset({"ssrf:emsmdb", "status:500"}))], facts(False))
    assert finding.category is Category.INFORMATIONAL


def test_success_evidence_wins_over_build_data() -> None:
    chain = [hit(tags=frozenset({"ssrf:reset-vdir", "ssrf:ddi-set", "status:200"}))]
    [(finding, _)] = correlate(chain, facts(False))
    assert finding.category is Category.EXPLOITATION
    assert finding.cves == ["CVE-2021-26855", "CVE-2021-27065"]


def test_hits_sharing_a_request_id_join_across_logs_and_rules() -> None:
    iis = hit(OTHER, path="u_ex210303.log", group="other", keys=frozenset({"req:abc"}))
    proxy = hit(keys=frozenset({"req:abc"}), tags=frozenset({"ssrf:proxylogon", "status:241"}))
    [(finding, _)] = correlate([iis, proxy], facts())
    assert {e.path for e in finding.evidence} == {"u_ex210303.log", "HttpProxy.LOG"}
    assert finding.rules == ["exhunt.proxylogon.ssrf", "other"]
    assert finding.category is Category.EXPLOITATION


def test_alike_attempts_from_several_clients_are_one_finding() -> None:
    a = hit(link="203.0.113.7", tags=frozenset({"ssrf:emsmdb"}))
    b = hit(link="198.51.100.9", line=2, tags=frozenset({"ssrf:emsmdb"}))
    [(finding, hits)] = correlate([a, b], facts())
    assert finding.category is Category.ATTEMPT
    assert finding.indicators.ips == ["198.51.100.9", "203.0.113.7"]
    assert finding.count == 2 and len(hits) == 2


def test_successful_chains_of_different_clients_stay_apart() -> None:
    a = hit(link="203.0.113.7", tags=frozenset({"ssrf:proxylogon", "status:241"}))
    b = hit(link="198.51.100.9", line=2, tags=frozenset({"ssrf:proxylogon", "status:241"}))
    findings = correlate([a, b], facts())
    assert sorted(f.indicators.ips[0] for f, _ in findings) == ["198.51.100.9", "203.0.113.7"]


def test_unlinked_hit_joins_the_chain_it_falls_in() -> None:
    chain = [
        hit(seconds=0, tags=frozenset({"ssrf:proxylogon", "status:241"})),
        hit(seconds=600, line=2, tags=frozenset({"ssrf:ddi-get", "status:200"})),
    ]
    ecp = hit(ECP, seconds=300, path="ECPServer.LOG", link=None)
    [(finding, _)] = correlate([*chain, ecp], facts())
    assert "ECPServer.LOG" in {e.path for e in finding.evidence}
    assert "CVE-2021-27065" in finding.cves


def test_unlinked_hit_far_from_any_chain_stands_alone() -> None:
    chain = [hit(tags=frozenset({"ssrf:emsmdb"}))]
    ecp = hit(ECP, seconds=7200, path="ECPServer.LOG", link=None)
    findings = correlate([*chain, ecp], facts())
    assert len(findings) == 2
    assert findings[0][0].rule == "ecp"  # the critical exploitation comes first


def test_nmap_probe_from_inside_is_informational_from_outside_an_attempt() -> None:
    inside = hit(link="10.1.2.3", group="exposure-scan", tags=frozenset({"scanner:nmap"}))
    outside = hit(link="203.0.113.7", group="exposure-scan", tags=frozenset({"scanner:nmap"}))
    by_ip = {f.indicators.ips[0]: f for f, _ in correlate([inside, outside], facts())}
    assert by_ip["10.1.2.3"].category is Category.INFORMATIONAL
    assert by_ip["203.0.113.7"].category is Category.ATTEMPT
    assert by_ip["203.0.113.7"].severity is Severity.MEDIUM


def test_finding_ids_follow_severity_order() -> None:
    low = hit(OTHER, group="x", link="198.51.100.1")
    high = hit(ECP, group="y", link="198.51.100.2", line=2)
    findings = [f for f, _ in correlate([low, high], facts())]
    assert [(f.id, f.rule) for f in findings] == [("F1", "ecp"), ("F2", "other")]
