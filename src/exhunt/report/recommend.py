"""What to do now: the actions a result calls for, each tied to the findings behind it.

Derived from the document alone, in the order an incident is handled: keep the evidence,
contain (block addresses, remove web shells), examine, reset credentials, patch, rebuild, and
close the gaps in what was seen. Sources: CISA alert AA21-062A and Microsoft's guidance on
the March 2021 Exchange attacks (patch to the Security Update that fixes each CVE; a server
where attackers ran code is rebuilt, not cleaned; a dump of LSASS means every credential used
on the server is stolen).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from exhunt.document import Exposure, Finding, ScanDocument
from exhunt.model import Category, VerdictStatus
from exhunt.timeutil import format_time

ITEMS_SHOWN = 25
_BUILD = re.compile(r"\d+(?:\.\d+){1,3}")
_CREDENTIAL_THEFT = ("T1003",)
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\)")
_ROOTED = (Category.WEBSHELL, Category.POST_EXPLOITATION, Category.PERSISTENCE)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One action: what to do, why, on what, and the findings that call for it."""

    key: str
    title: str
    detail: str
    items: tuple[str, ...] = ()
    finding_ids: tuple[str, ...] = ()


def recommendations(document: ScanDocument) -> list[Recommendation]:
    """The actions ``document`` calls for, most urgent first."""
    builders: tuple[Callable[[ScanDocument], Recommendation | None], ...] = (
        _preserve,
        _block,
        _internal_hosts,
        _webshells,
        _examine,
        _credentials,
        _hunt,
        _patch,
        _rebuild,
        _gaps,
        _older_logs,
    )
    return [rec for build in builders if (rec := build(document)) is not None]


def malicious(document: ScanDocument) -> list[Finding]:
    return [f for f in document.findings if f.category.malicious]


def _ids(findings: Iterable[Finding]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.id for f in findings))


def _preserve(doc: ScanDocument) -> Recommendation | None:
    findings = malicious(doc)
    if not findings:
        return None
    logs = _unique(
        e.windows_path or e.path
        for f in findings
        for e in f.evidence
        if e.artifact != "fs.file" and e.line is not None
    )
    return Recommendation(
        key="preserve",
        title="Preserve the evidence before changing the server",
        detail="Copy the IIS and Exchange log folders, the Windows event logs and a disk and "
        "memory image before cleaning or patching: Exchange deletes its own logs after their "
        "retention period (30 days for HttpProxy by default) and cleaning destroys file times. "
        "The logs that hold evidence are listed.",
        items=logs,
        finding_ids=_ids(findings),
    )


def _attacker_addresses(doc: ScanDocument) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in malicious(doc):
        for ip in finding.indicators.ips:
            if _address(ip) is not None:
                found.setdefault(ip, []).append(finding)
    return found


def _block(doc: ScanDocument) -> Recommendation | None:
    external = {ip: f for ip, f in _attacker_addresses(doc).items() if not _internal(ip)}
    if not external:
        return None
    since = doc.verdict.first_malicious
    when = f" since {format_time(since)}" if since else ""
    return Recommendation(
        key="block",
        title="Block the attacker addresses and look for them elsewhere",
        detail="Block these addresses at the perimeter and search firewall, VPN, proxy and "
        f"mail logs for them{when}. Attack addresses are often short-lived VPS and VPN exits: "
        "treat them as leads, not as the whole attack.",
        items=tuple(sorted(external, key=_ip_order)),
        finding_ids=_ids(f for found in external.values() for f in found),
    )


def _internal_hosts(doc: ScanDocument) -> Recommendation | None:
    internal = {ip: f for ip, f in _attacker_addresses(doc).items() if _internal(ip)}
    if not internal:
        return None
    return Recommendation(
        key="internal-hosts",
        title="Examine the internal hosts the attack came through",
        detail="Attack requests came from addresses inside your own networks: a load balancer "
        "or proxy that hides the real client (read its logs), or a host the attacker already "
        "controls.",
        items=tuple(sorted(internal, key=_ip_order)),
        finding_ids=_ids(f for found in internal.values() for f in found),
    )


def _webshells(doc: ScanDocument) -> Recommendation | None:
    shells = [f for f in doc.findings if f.category is Category.WEBSHELL]
    if not shells:
        return None
    files = _unique(p for f in shells for p in _file_paths(f))
    hashes = _unique(f"SHA-256 {h}" for f in shells for h in f.indicators.sha256)
    return Recommendation(
        key="webshells",
        title="Remove the web shells",
        detail="Keep a copy of each file (with its times) for analysis, then delete it. Web "
        "shells in Exchange's web folders run as SYSTEM; look for the same names and hashes on "
        "every other Exchange server.",
        items=files + hashes,
        finding_ids=_ids(shells),
    )


def _examine(doc: ScanDocument) -> Recommendation | None:
    shells = {p for f in doc.findings if f.category is Category.WEBSHELL for p in _file_paths(f)}
    findings = [f for f in malicious(doc) if f.category is not Category.WEBSHELL and _file_paths(f)]
    files = _unique(p for f in findings for p in _file_paths(f) if p not in shells)
    if not files:
        return None
    return Recommendation(
        key="examine-files",
        title="Examine these files",
        detail="Copy each file with its times and find out what it is and who wrote it: dumps "
        "and archives in unusual places are what attackers leave after stealing credentials or "
        "staging mail for theft.",
        items=files,
        finding_ids=_ids(findings),
    )


def _credentials(doc: ScanDocument) -> Recommendation | None:
    theft = [f for f in malicious(doc) if _steals_credentials(f)]
    if not theft:
        return None
    accounts = _unique(
        a for f in malicious(doc) for a in f.indicators.accounts if not a.endswith("$")
    )
    return Recommendation(
        key="credentials",
        title="Reset every credential used on this server",
        detail="Credentials were taken from the server's memory: assume the password or hash "
        "of every account that logged on to it since it last started is stolen. Reset those "
        "accounts (administrators and service accounts first), and if a domain administrator "
        "logged on, reset the krbtgt account twice."
        + (" Accounts seen in the attack are listed." if accounts else ""),
        items=accounts,
        finding_ids=_ids(theft),
    )


def _hunt(doc: ScanDocument) -> Recommendation | None:
    findings = [f for f in malicious(doc) if f.category is not Category.ATTEMPT]
    since = doc.verdict.first_malicious
    if not findings or since is None or doc.verdict.status is not VerdictStatus.COMPROMISED:
        return None
    return Recommendation(
        key="hunt",
        title=f"Look for what the attacker did after {format_time(since)}",
        detail="Review mailbox export requests (New-MailboxExportRequest), new or changed "
        "accounts and group memberships, scheduled tasks and services, and logons from this "
        "server to other hosts, from the first malicious moment on.",
        finding_ids=_ids(findings),
    )


def _patch(doc: ScanDocument) -> Recommendation | None:
    exposed = [e for e in doc.exchange.exposure if e.exposed_at_collection]
    cves = {e.cve for e in exposed} | set(doc.exchange.vulnerable_to)
    if not cves:
        return _unknown_build(doc)
    findings = [f for f in doc.findings if set(f.cves) & cves or f.category is Category.EXPOSURE]
    target = _target(exposed)
    title = f"Install {target} or later" if target else "Install the current Security Update"
    build = doc.exchange.build or "unknown"
    return Recommendation(
        key="patch",
        title=title,
        detail=f"Build {build} was exposed at collection time to {', '.join(sorted(cves))}. "
        "Install the Security Update that fixes them (on a supported Cumulative Update), then "
        "run Microsoft's Exchange Health Checker to confirm the build.",
        items=tuple(_fix_line(e) for e in exposed),
        finding_ids=_ids(findings),
    )


def _unknown_build(doc: ScanDocument) -> Recommendation | None:
    if doc.exchange.build or not doc.coverage.artifacts:
        return None
    return Recommendation(
        key="build",
        title="Find out which Exchange build the server runs",
        detail="The evidence does not show the build, so exposure to each CVE is unknown. Run "
        "Get-ExchangeServer | Format-List Name,AdminDisplayVersion, or the Health Checker, "
        "and compare with Microsoft's build numbers.",
    )


def _rebuild(doc: ScanDocument) -> Recommendation | None:
    rooted = [f for f in doc.findings if f.category in _ROOTED]
    if doc.verdict.status is not VerdictStatus.COMPROMISED or not rooted:
        return None
    return Recommendation(
        key="rebuild",
        title="Rebuild the server",
        detail="An attacker ran code on this server. Cleaning in place cannot prove that every "
        "backdoor is gone: build a new server with the latest Cumulative and Security Update, "
        "move the mailboxes (or recover with Setup /m:RecoverServer), and retire this one.",
        finding_ids=_ids(rooted),
    )


def _gaps(doc: ScanDocument) -> Recommendation | None:
    gaps = [g for g in doc.coverage.gaps if not g.expected]
    if not gaps and doc.verdict.status is not VerdictStatus.INCONCLUSIVE:
        return None
    coverage = [f for f in doc.findings if f.category is Category.COVERAGE]
    return Recommendation(
        key="gaps",
        title="Find the logs that are missing",
        detail="An attack in these periods, or in logs that were not collected, would not be "
        "visible. Look for the logs in backups, the SIEM or a log forwarder, then scan again "
        "with them.",
        items=tuple(_gap_line(g.type, g.from_, g.to, g.reason) for g in gaps),
        finding_ids=_ids(coverage),
    )


def _older_logs(doc: ScanDocument) -> Recommendation | None:
    """The server was exposed before its logs begin: an attack then would not be visible."""
    early = [
        e
        for e in doc.exchange.exposure
        if e.before_logs and (e.exposed_at_collection or e.exposed_until is not None)
    ]
    if not early:
        return None
    start = min((a.first for a in doc.coverage.artifacts if a.first), default=None)
    before = f" from before {format_time(start)}" if start else ""
    cves = sorted({e.cve for e in early})
    return Recommendation(
        key="older-logs",
        title=f"Look for older logs{before}",
        detail=f"The server was already exposed to {', '.join(cves)} when its logs begin; an "
        "attack before then would not be visible here. Scan older IIS and HttpProxy logs from "
        "backups, or look for web shells and dumps on the server regardless.",
        items=tuple(_fix_line(e) for e in early),
        finding_ids=_ids(f for f in doc.findings if set(f.cves) & set(cves)),
    )


def _gap_line(kind: str, start: datetime | None, end: datetime | None, reason: str) -> str:
    span = " to ".join(format_time(t) for t in (start, end) if t is not None)
    return f"{kind}: {reason}" + (f" ({span})" if span else "")


def _steals_credentials(finding: Finding) -> bool:
    text = f"{finding.rule} {finding.title}".lower()
    techniques = finding.attack
    return "lsass" in text or any(t.startswith(_CREDENTIAL_THEFT) for t in techniques)


def _file_paths(finding: Finding) -> list[str]:
    """Windows paths of files a finding names (URLs of web shells are not files to open)."""
    paths = [p for p in finding.indicators.paths if _WINDOWS_PATH.match(p)]
    paths += [
        e.windows_path for e in finding.evidence if e.artifact == "fs.file" and e.windows_path
    ]
    return list(dict.fromkeys(paths))


def _target(exposed: Sequence[Exposure]) -> str | None:
    """The highest ``fixed_by`` build: installing it fixes every exposed CVE."""
    best: tuple[tuple[int, ...], str] | None = None
    for entry in exposed:
        match = _BUILD.match(entry.fixed_by or "")
        if match:
            key = tuple(int(part) for part in match.group().split("."))
            if best is None or key > best[0]:
                best = (key, entry.fixed_by or "")
    return best[1] if best else None


def _fix_line(entry: Exposure) -> str:
    fix = entry.fixed_by or "no fix listed"
    released = f", released {format_time(entry.fix_released)[:10]}" if entry.fix_released else ""
    return f"{entry.cve} ({entry.campaign}): fixed by {fix}{released}"


def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def _internal(ip: str) -> bool:
    address = _address(ip)
    return address is not None and (
        address.is_private or address.is_loopback or address.is_link_local
    )


def _ip_order(ip: str) -> tuple[int, str]:
    address = _address(ip)
    return (address.version, address.exploded) if address else (9, ip)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
