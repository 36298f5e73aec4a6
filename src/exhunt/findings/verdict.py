"""The verdict and its reasons, by the rules of design.md section 3.

In order: ``compromised`` when a finding shows successful exploitation or attacker presence
(high or critical in exploitation, web shell, post-exploitation or persistence); ``attempted``
when exploitation was tried with no sign it worked; ``inconclusive`` when suspicious files need
examination, or the evidence cannot support a clean bill (no web logs, gaps inside the logged
span, logs that could not be parsed, an unknown build); ``vulnerable`` when no attack was seen
but the build was exposed at collection time; ``clean`` only when none of that holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exhunt.document import Coverage, ExchangeInfo, Finding, Gap, Verdict
from exhunt.model import Category, Severity, VerdictStatus
from exhunt.timeutil import format_time

WEB_LOGS = ("iis.w3c", "exchange.httpproxy")
CONFIRMING = frozenset(
    {Category.EXPLOITATION, Category.WEBSHELL, Category.POST_EXPLOITATION, Category.PERSISTENCE}
)
MAX_REASONS = 6


@dataclass(frozen=True, slots=True)
class EvidenceHealth:
    """What went wrong reading the evidence, besides the coverage figures."""

    failed_files: int = 0
    failed_components: tuple[str, ...] = ()


def decide(
    findings: Sequence[Finding],
    coverage: Coverage,
    exchange: ExchangeInfo,
    health: EvidenceHealth = EvidenceHealth(),
) -> Verdict:
    malicious = [f for f in findings if f.category.malicious]
    confirmed = [f for f in malicious if f.category in CONFIRMING and _at_least(f, Severity.HIGH)]
    attempts = [f for f in malicious if f.category is Category.ATTEMPT]
    suspicious = [f for f in malicious if f.category in CONFIRMING and f not in confirmed]
    gaps = _coverage_problems(coverage, exchange, health)
    exposure = _exposure_reasons(exchange)
    if confirmed:
        status, reasons = VerdictStatus.COMPROMISED, _finding_reasons(confirmed + attempts)
    elif attempts:
        status, reasons = VerdictStatus.ATTEMPTED, _finding_reasons(attempts + suspicious)
        reasons += exposure
    elif suspicious:
        status = VerdictStatus.INCONCLUSIVE
        reasons = [f"Suspicious, to examine: {r}" for r in _finding_reasons(suspicious)]
        reasons += exposure
    elif exchange.vulnerable_to or exchange.mitigated:
        status, reasons = VerdictStatus.VULNERABLE, exposure
    elif gaps or exchange.build is None:
        status, reasons = VerdictStatus.INCONCLUSIVE, []
        if exchange.build is None:
            reasons.append(
                "The Exchange build could not be determined, so its patch level is unknown."
            )
    else:
        status, reasons = VerdictStatus.CLEAN, [_clean_reason(exchange, coverage)]
    reasons += gaps + _notes(exchange, coverage)
    first = min((f.first_seen for f in malicious if f.first_seen), default=None)
    last = max((f.last_seen for f in malicious if f.last_seen), default=None)
    return Verdict(status=status, reasons=reasons, first_malicious=first, last_malicious=last)


def _at_least(finding: Finding, level: Severity) -> bool:
    return finding.severity.rank >= level.rank


def _finding_reasons(findings: Sequence[Finding]) -> list[str]:
    reasons = []
    for finding in findings[:MAX_REASONS]:
        when = _span(finding)
        ips = finding.indicators.ips[:3]
        named = any(ip in finding.title for ip in ips)
        who = f" from {', '.join(ips)}" if ips and not named else ""
        lines = "evidence line" if finding.count == 1 else "evidence lines"
        reasons.append(f"{finding.title}{who}{when} [{finding.id}, {finding.count} {lines}]")
    if len(findings) > MAX_REASONS:
        reasons.append(f"... and {len(findings) - MAX_REASONS} more findings.")
    return reasons


def _span(finding: Finding) -> str:
    if finding.first_seen is None:
        return ""
    first = format_time(finding.first_seen)
    if finding.last_seen is None or finding.last_seen == finding.first_seen:
        return f" at {first}"
    return f", {first} to {format_time(finding.last_seen)}"


def _exposure_reasons(exchange: ExchangeInfo) -> list[str]:
    return _exposed_reason(exchange) + _mitigated_reasons(exchange)


def _mitigated_reasons(exchange: ExchangeInfo) -> list[str]:
    """Unpatched but mitigated: what the mitigation stops and what it leaves open."""
    reasons = []
    for exposure in exchange.exposure:
        if exposure.cve in exchange.mitigated and exposure.mitigated_by:
            leaves = f"; it does not stop {exposure.mitigation_leaves}" if (
                exposure.mitigation_leaves) else ""  # fmt: skip
            reasons.append(
                f"{exposure.cve} is not patched but stopped by {exposure.mitigated_by}"
                f"{leaves}. Mitigations are not patches."
            )
    return reasons


def _exposed_reason(exchange: ExchangeInfo) -> list[str]:
    if not exchange.vulnerable_to:
        return []
    name = " ".join(p for p in (exchange.product, exchange.cu, f"({exchange.build})") if p)
    fixes = sorted(
        {e.fixed_by for e in exchange.exposure if e.exposed_at_collection and e.fixed_by}
    )
    text = f"{name} was exposed at collection time to {', '.join(exchange.vulnerable_to)}"
    if fixes:
        text += f"; fixed by {', '.join(fixes)} or later"
    return [text + "."]


def _coverage_problems(
    coverage: Coverage, exchange: ExchangeInfo, health: EvidenceHealth
) -> list[str]:
    problems = []
    web = [a for a in coverage.artifacts if a.type in WEB_LOGS and a.records]
    if not web:
        problems.append(
            "No IIS or HttpProxy logs were found: attacks on the web front end cannot be seen."
        )
    for gap in coverage.gaps:
        if gap.expected:
            continue
        where = f" ({gap.path})" if gap.path else ""
        problems.append(f"Gap in {gap.type}{where}: {gap.reason}{_period(gap)}.")
    if health.failed_files:
        problems.append(f"{health.failed_files} log files could not be parsed.")
    for component in health.failed_components:
        problems.append(f"{component} failed; its findings are missing.")
    return problems


def _period(gap: Gap) -> str:
    """``, FROM to TO`` as far as known; nothing for a file with no readable time at all."""
    if gap.from_ is None and gap.to is None:
        return ""
    start = format_time(gap.from_) if gap.from_ else "?"
    end = f" to {format_time(gap.to)}" if gap.to else ""
    return f", {start}{end}"


def _notes(exchange: ExchangeInfo, coverage: Coverage) -> list[str]:
    """Facts worth saying that do not change the verdict."""
    notes = []
    cves = [e.cve for e in exchange.exposure if e.before_logs and e.exposed_until is not None]
    if cves:
        notes.append(
            f"The server was exposed to {', '.join(cves)} before its logs begin and patched "
            "later: an attack before the logs would not be visible."
        )
    notes += [f"Build sources disagree: {c.message}." for c in exchange.build_conflicts]
    live = [gap.path for gap in coverage.gaps if gap.expected and gap.path]
    if live:
        notes.append(
            f"{len(live)} newest log file(s) end mid-line, as logs do when collected live."
        )
    return notes


def _clean_reason(exchange: ExchangeInfo, coverage: Coverage) -> str:
    web = [a for a in coverage.artifacts if a.type in WEB_LOGS and a.first and a.last]
    span = ""
    if web:
        first = min(a.first for a in web if a.first)
        last = max(a.last for a in web if a.last)
        span = f" in web logs from {format_time(first)} to {format_time(last)}"
    return (
        f"No sign of attack{span}; {exchange.product or 'Exchange'} {exchange.cu or ''} "
        f"({exchange.build}) had the campaign fixes released by collection time."
    ).replace("  ", " ")
