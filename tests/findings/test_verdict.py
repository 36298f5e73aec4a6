"""The verdict rules of design.md section 3, one case each."""

from __future__ import annotations

from datetime import UTC, datetime

from exhunt.document import ArtifactCoverage, Coverage, ExchangeInfo, Finding, Gap
from exhunt.findings.verdict import EvidenceHealth, decide
from exhunt.model import Category, Severity, VerdictStatus

T0 = datetime(2021, 3, 1, tzinfo=UTC)
T1 = datetime(2021, 3, 3, 6, 49, 42, tzinfo=UTC)
T2 = datetime(2021, 3, 10, tzinfo=UTC)

FULL = Coverage(
    artifacts=[
        ArtifactCoverage(type="iis.w3c", files=10, records=1000, first=T0, last=T2),
        ArtifactCoverage(type="exchange.httpproxy", files=200, records=9000, first=T0, last=T2),
    ]
)
PATCHED = ExchangeInfo(build="15.1.2176.9", product="Exchange Server 2016", cu="CU19")
EXPOSED = ExchangeInfo(
    build="15.1.2106.2", product="Exchange Server 2016", cu="CU18", vulnerable_to=["CVE-2021-26855"]
)


def finding(category: Category, severity: Severity, first: datetime = T1, **kw: object) -> Finding:
    return Finding(
        id=str(kw.get("id", "F1")),
        rule="r",
        title=str(kw.get("title", "t")),
        severity=severity,
        category=category,
        first_seen=first,
        last_seen=first,
        count=1,
    )


def test_clean_needs_patched_build_complete_logs_and_no_attack() -> None:
    verdict = decide([], FULL, PATCHED)
    assert verdict.status is VerdictStatus.CLEAN
    assert verdict.first_malicious is None


def test_web_shell_is_compromised_with_first_and_last_malicious() -> None:
    early = finding(Category.ATTEMPT, Severity.HIGH, first=T0, id="F2")
    shell = finding(Category.WEBSHELL, Severity.CRITICAL, first=T1)
    verdict = decide([shell, early], FULL, EXPOSED)
    assert verdict.status is VerdictStatus.COMPROMISED
    assert verdict.first_malicious == T0
    assert verdict.last_malicious == T1


def test_attempt_alone_is_attempted_never_compromised() -> None:
    verdict = decide([finding(Category.ATTEMPT, Severity.HIGH)], FULL, EXPOSED)
    assert verdict.status is VerdictStatus.ATTEMPTED


def test_exploitation_at_medium_is_not_hidden_as_attempt() -> None:
    # A medium confirming-category finding without attempts makes the verdict inconclusive,
    # with the finding named for examination, never clean.
    verdict = decide([finding(Category.POST_EXPLOITATION, Severity.MEDIUM)], FULL, PATCHED)
    assert verdict.status is VerdictStatus.INCONCLUSIVE
    assert verdict.reasons[0].startswith("Suspicious, to examine: t")


def test_exposed_build_without_attack_is_vulnerable() -> None:
    verdict = decide([], FULL, EXPOSED)
    assert verdict.status is VerdictStatus.VULNERABLE
    assert "CVE-2021-26855" in verdict.reasons[0]


def test_no_web_logs_is_inconclusive_never_clean() -> None:
    coverage = Coverage(
        artifacts=[ArtifactCoverage(type="exchange.ecp_server", files=1, records=3)]
    )
    verdict = decide([], coverage, PATCHED)
    assert verdict.status is VerdictStatus.INCONCLUSIVE
    assert any("No IIS or HttpProxy logs" in r for r in verdict.reasons)


def test_gap_makes_patched_server_inconclusive() -> None:
    gap = Gap(type="iis.w3c W3SVC1", from_=T1, to=T2, reason="no log for 161.2 hours")
    coverage = FULL.model_copy(update={"gaps": [gap]})
    verdict = decide([], coverage, PATCHED)
    assert verdict.status is VerdictStatus.INCONCLUSIVE
    assert verdict.reasons == [
        "Gap in iis.w3c W3SVC1: no log for 161.2 hours, "
        "2021-03-03T06:49:42Z to 2021-03-10T00:00:00Z."
    ]


def test_unknown_build_is_inconclusive() -> None:
    verdict = decide([], FULL, ExchangeInfo())
    assert verdict.status is VerdictStatus.INCONCLUSIVE


def test_failed_parsers_make_it_inconclusive() -> None:
    verdict = decide([], FULL, PATCHED, EvidenceHealth(failed_files=2))
    assert verdict.status is VerdictStatus.INCONCLUSIVE
    assert "2 log files could not be parsed." in verdict.reasons


def test_informational_findings_do_not_change_a_clean_verdict() -> None:
    verdict = decide([finding(Category.INFORMATIONAL, Severity.INFO)], FULL, PATCHED)
    assert verdict.status is VerdictStatus.CLEAN
    assert verdict.first_malicious is None
