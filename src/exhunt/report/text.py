"""The report for people: verdict first, what to do now, findings by severity, timeline,
coverage.

Readable in 80 columns; every string that came from the evidence is made visible (no terminal
escapes). ``--verbose`` lists every evidence line and timeline entry instead of the first few.
"""

from __future__ import annotations

import re
import textwrap
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from exhunt.document import Finding, ScanDocument, TimelineEntry
from exhunt.report.escape import one_line
from exhunt.report.formats import FORMATS, RenderOptions
from exhunt.report.recommend import recommendations
from exhunt.timeutil import format_time

EVIDENCE_SHOWN = 3
ACTION_ITEMS_SHOWN = 5
_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\|/)")
TIMELINE_SHOWN = 25
SKIPPED_SHOWN = 5
_STATUS_LINE = {
    "compromised": "COMPROMISED: the server was successfully attacked",
    "attempted": "ATTEMPTED: attacks were tried; no sign that they worked",
    "vulnerable": "VULNERABLE: no attack seen, but the server is exposed",
    "clean": "CLEAN: patched, no sign of attack, logs complete",
    "inconclusive": "INCONCLUSIVE: the evidence cannot support a verdict",
}


@FORMATS.register("text")
def render(document: ScanDocument, options: RenderOptions) -> str:
    out = _Writer(options.width)
    _header(out, document)
    _verdict(out, document)
    _actions(out, document, options.verbose)
    _findings(out, document, options.verbose)
    _timeline(out, document, options.verbose)
    _coverage(out, document)
    _errors(out, document, options.verbose)
    return out.text()


class _Writer:
    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def wrap(self, text: str, indent: str = "", first: str | None = None) -> None:
        wrapped = textwrap.wrap(
            one_line(text),
            width=self.width,
            initial_indent=indent if first is None else first,
            subsequent_indent=indent,
            break_long_words=True,
            break_on_hyphens=False,
        )
        self.lines.extend(wrapped or [indent.rstrip()])

    def path(self, text: str, indent: str, first: str) -> None:
        """Wrap a path by width only: its spaces are part of the name, not break points."""
        start = len(self.lines)
        self.wrap(text.replace(" ", "\u00a0"), indent, first)
        self.lines[start:] = [line.replace("\u00a0", " ") for line in self.lines[start:]]

    def heading(self, text: str) -> None:
        self.line()
        self.line(text)
        self.line("-" * min(len(text), self.width))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def _header(out: _Writer, doc: ScanDocument) -> None:
    out.wrap(f"exhunt {doc.tool.version} (rules {doc.tool.rules_version})")
    out.wrap(f"Evidence: {doc.evidence.path} ({doc.evidence.kind})")
    if doc.evidence.host:
        out.wrap(f"Server:   {doc.evidence.host}")
    ex = doc.exchange
    if ex.build:
        out.wrap(
            f"Exchange: {ex.product or 'unknown product'} {ex.cu or ''} ({ex.build})".replace(
                "  ", " "
            )
        )
    else:
        out.line("Exchange: build unknown")
    if ex.install_path:
        out.wrap(f"Install:  {ex.install_path}")


def _verdict(out: _Writer, doc: ScanDocument) -> None:
    verdict = doc.verdict
    out.heading(f"VERDICT: {_STATUS_LINE[verdict.status.value]}")
    if verdict.first_malicious:
        last = f", last {_time(verdict.last_malicious)}" if verdict.last_malicious else ""
        out.wrap(f"First malicious activity {_time(verdict.first_malicious)}{last}")
    for reason in verdict.reasons:
        out.wrap(reason, indent="    ", first="  - ")
    if doc.exchange.vulnerable_to:
        out.wrap("Exposed to: " + ", ".join(doc.exchange.vulnerable_to), indent="    ", first="  ")


def _actions(out: _Writer, doc: ScanDocument, verbose: bool) -> None:
    recs = recommendations(doc)
    out.heading("WHAT TO DO NOW")
    if not recs:
        out.line("  Nothing: no attack and no exposure were found.")
    for number, rec in enumerate(recs, 1):
        first = f"  {number}. "
        out.wrap(rec.title, indent=" " * len(first), first=first)
        indent = " " * len(first)
        out.wrap(rec.detail, indent=indent)
        shown = rec.items if verbose else rec.items[:ACTION_ITEMS_SHOWN]
        for item in shown:
            if _PATH.match(item):
                out.path(item, indent + "    ", indent + "  * ")
            else:
                out.wrap(item, indent + "    ", indent + "  * ")
        if len(rec.items) > len(shown):
            out.line(f"{indent}  ... {len(rec.items) - len(shown)} more (--verbose)")
        if rec.finding_ids:
            out.wrap("because of " + ", ".join(rec.finding_ids), indent=indent)


def _findings(out: _Writer, doc: ScanDocument, verbose: bool) -> None:
    findings = [f for f in doc.findings if verbose or f.category.value != "informational"]
    hidden = len(doc.findings) - len(findings)
    out.heading(f"FINDINGS ({len(doc.findings)})")
    if not doc.findings:
        out.line("  none")
    for finding in findings:
        _finding(out, finding, verbose)
    if hidden:
        noun = "finding" if hidden == 1 else "findings"
        out.line(f"  ({hidden} informational {noun} not shown; use --verbose)")


def _finding(out: _Writer, finding: Finding, verbose: bool) -> None:
    out.line()
    out.wrap(
        finding.title, indent="      ", first=f"  [{finding.severity.value.upper()}] {finding.id} "
    )
    facts = [finding.category.value]
    if finding.cves:
        facts.append(", ".join(finding.cves))
    if finding.first_seen:
        span = _time(finding.first_seen)
        if finding.last_seen and finding.last_seen != finding.first_seen:
            span += f" to {_time(finding.last_seen)}"
        facts.append(span)
    out.wrap(" | ".join(facts), indent="      ")
    indicators = finding.indicators
    if indicators.ips:
        out.wrap("from " + ", ".join(indicators.ips[:8]), indent="      ")
    for path in indicators.paths[:3]:
        out.path(path, indent="          ", first="      path ")
    shown = finding.evidence if verbose else finding.evidence[:EVIDENCE_SHOWN]
    lines = "evidence line" if finding.count == 1 else "evidence lines"
    out.wrap(f"{finding.count} {lines}; rule {finding.rule}", indent="      ")
    for location in shown:
        where = location.path + (
            f":{location.line}"
            if location.line
            else f" #{location.record}"
            if location.record
            else ""
        )
        out.path(where, indent="          ", first="      > ")
    if len(shown) < finding.count:
        out.line(f"        ... {finding.count - len(shown)} more (--verbose or --format json)")


def _timeline(out: _Writer, doc: ScanDocument, verbose: bool) -> None:
    merged = merge_repeats(doc.timeline)
    entries = merged if verbose else merged[:TIMELINE_SHOWN]
    out.heading(f"TIMELINE ({len(doc.timeline)} events)")
    if not entries:
        out.line("  none")
    for entry, logs in entries:
        ids = ",".join(entry.finding_ids)
        seen = f" (in {logs} logs)" if logs > 1 else ""
        out.wrap(f"{entry.summary} [{ids}]{seen}", indent="      ", first=f"  {_time(entry.time)} ")
    if len(entries) < len(merged):
        out.line(f"  ... {len(merged) - len(entries)} more lines (--verbose)")


def merge_repeats(
    timeline: Sequence[TimelineEntry], window: timedelta = timedelta(seconds=2)
) -> list[tuple[TimelineEntry, int]]:
    """The timeline with one line per request that several logs record.

    A request passes the front-end IIS log, HttpProxy and the back-end IIS log, each a timeline
    entry with the same summary a few milliseconds apart. An entry joins an earlier one with the
    same summary and findings, less than ``window`` before it, from another log file; repeats in
    one log stay apart, as they are separate requests.
    """
    merged: list[tuple[TimelineEntry, set[str | None]]] = []
    # Per summary, the lines still inside the window (the timeline is in time order): a request
    # repeated all day in one log stays a short list.
    recent: dict[tuple[str, tuple[str, ...]], deque[int]] = {}
    for entry in timeline:
        open_lines = recent.setdefault((entry.summary, tuple(entry.finding_ids)), deque())
        while open_lines and entry.time - merged[open_lines[0]][0].time >= window:
            open_lines.popleft()
        target = next((i for i in open_lines if entry.path not in merged[i][1]), None)
        if target is None:
            open_lines.append(len(merged))
            merged.append((entry, {entry.path}))
        else:
            merged[target][1].add(entry.path)
    return [(entry, len(paths)) for entry, paths in merged]


def _coverage(out: _Writer, doc: ScanDocument) -> None:
    out.heading("COVERAGE")
    if not doc.coverage.artifacts:
        out.line("  no logs found")
    else:
        out.line(f"  {'log':<22}{'files':>6}{'records':>11}{'bad':>6}  first / last")
    for item in doc.coverage.artifacts:
        span = f"{_day(item.first)} / {_day(item.last)}"
        out.line(
            f"  {item.type:<22}{item.files:>6}{item.records:>11,}{item.bad_records:>6}  {span}"
        )
    for gap in doc.coverage.gaps:
        start = _time(gap.from_) if gap.from_ else "?"
        end = f" to {_time(gap.to)}" if gap.to else ""
        when = f" ({start}{end})" if gap.from_ or gap.to else ""
        where = f" {gap.path}" if gap.path else ""
        out.wrap(f"gap {gap.type}{where}: {gap.reason}{when}", indent="    ", first="  ! ")
    for skipped in doc.coverage.skipped[:SKIPPED_SHOWN]:
        out.wrap(f"not read: {skipped}", indent="    ", first="  ! ")
    if (more := len(doc.coverage.skipped) - SKIPPED_SHOWN) > 0:
        out.line(f"  ! ... {more} more not read (--format json)")
    read = doc.evidence.read_bytes
    out.line(f"  read {len(doc.evidence.files)} files, {read / 1e6:,.1f} MB, in {_seconds(doc)}")


def _errors(out: _Writer, doc: ScanDocument, verbose: bool) -> None:
    if not doc.errors:
        return
    shown = doc.errors if verbose else doc.errors[:10]
    out.heading(f"ERRORS ({len(doc.errors)})")
    for error in shown:
        where = (error.path or "") + (f":{error.line}" if error.line else "")
        out.wrap(
            f"{error.component}: {where} {error.message}".replace("  ", " "),
            indent="    ",
            first="  ",
        )
    if len(shown) < len(doc.errors):
        out.line(f"  ... {len(doc.errors) - len(shown)} more (--verbose)")


def _time(value: datetime | None) -> str:
    return format_time(value).replace("T", " ") if value else "?"


def _day(value: datetime | None) -> str:
    return format_time(value)[:10] if value else "?"


def _seconds(doc: ScanDocument) -> str:
    return f"{doc.scan.seconds:.1f} s" if doc.scan else "?"
