"""Evidence events: one per log line, record or file that supports a finding.

The CSV and Timesketch timelines are built from these. A line that supports two findings is one
event naming both. Events come from the findings' evidence locations (every location, with or
without a time) and from timeline entries no finding lists (findings keep at most 1,000
locations; the timeline keeps more). The message is the timeline's summary of the line when
there is one, else the line itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from exhunt.document import EvidenceLocation, Finding, ScanDocument, TimelineEntry
from exhunt.model import Category, Severity

INDICATOR_KINDS = ("ips", "user_agents", "urls", "paths", "sha256", "accounts")
_TIME_MEANING = {
    "fs.file": "File modified",
    "iis.w3c": "Request logged",
    "exchange.httpproxy": "Request logged",
    "exchange.rps_http": "Request logged",
}

_Key = tuple[str | None, int | None, datetime | None]


@dataclass(frozen=True, slots=True)
class Event:
    """One evidence line, record or file, with the findings it supports."""

    host: str
    time: datetime | None
    source: str
    message: str
    finding_ids: tuple[str, ...]
    rules: tuple[str, ...]
    severity: Severity
    category: Category
    path: str | None = None
    windows_path: str | None = None
    line: int | None = None
    record: int | None = None
    excerpt: str | None = None
    indicators: tuple[str, ...] = ()

    @property
    def timestamp_desc(self) -> str:
        """What the time means, as Timesketch's ``timestamp_desc`` wants it said."""
        return _TIME_MEANING.get(self.source, "Event logged")

    @property
    def data_type(self) -> str:
        """A Plaso-style type name: ``exhunt:iis:w3c``, ``exhunt:fs:file``."""
        return "exhunt:" + self.source.replace(".", ":")


@dataclass(slots=True)
class _Draft:
    locations: list[EvidenceLocation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    entry: TimelineEntry | None = None

    def add(self, finding: Finding, location: EvidenceLocation) -> None:
        self.locations.append(location)
        if finding not in self.findings:
            self.findings.append(finding)
        rule = location.rule or finding.rule
        if rule not in self.rules:
            self.rules.append(rule)


def build_events(document: ScanDocument) -> list[Event]:
    """Every evidence event of ``document``, in time order (events without a time last)."""
    drafts: dict[_Key, _Draft] = {}
    for finding in document.findings:
        for location in finding.evidence:
            key = (location.path, location.line, location.time)
            drafts.setdefault(key, _Draft()).add(finding, location)
    by_id = {finding.id: finding for finding in document.findings}
    for entry in document.timeline:
        draft = drafts.setdefault((entry.path, entry.line, entry.time), _Draft())
        draft.entry = draft.entry or entry
        _link(draft, [by_id[i] for i in entry.finding_ids if i in by_id])
    host = document.evidence.host or document.evidence.path
    events = [_event(host, draft) for draft in drafts.values()]
    events.sort(key=lambda e: (e.time is None, e.time or datetime.min, e.path or "", e.line or 0))
    return events


def _link(draft: _Draft, findings: Iterable[Finding]) -> None:
    """Timeline entries no finding lists take their findings from the entry's ids."""
    if draft.locations:
        return
    for finding in findings:
        if finding not in draft.findings:
            draft.findings.append(finding)
            draft.rules.append(finding.rule)


def _event(host: str, draft: _Draft) -> Event:
    location = draft.locations[0] if draft.locations else None
    entry = draft.entry
    findings = sorted(draft.findings, key=lambda f: -f.severity.rank)
    head = findings[0] if findings else None
    excerpt = location.excerpt if location else None
    message = (entry.summary if entry else None) or excerpt or (head.title if head else "")
    path = location.path if location else (entry.path if entry else None)
    event = Event(
        host=host,
        time=location.time if location else (entry.time if entry else None),
        source=_source(location, entry),
        message=message,
        finding_ids=tuple(f.id for f in draft.findings),
        rules=tuple(draft.rules),
        severity=head.severity if head else Severity.INFO,
        category=head.category if head else Category.INFORMATIONAL,
        path=path,
        windows_path=location.windows_path if location else None,
        line=location.line if location else (entry.line if entry else None),
        record=location.record if location else None,
        excerpt=excerpt,
    )
    text = " ".join(filter(None, (message, excerpt, path, event.windows_path)))
    return _with_indicators(event, draft.findings, text)


def _source(location: EvidenceLocation | None, entry: TimelineEntry | None) -> str:
    if location is not None and location.artifact:
        return location.artifact
    return entry.source if entry is not None else "unknown"


def _with_indicators(event: Event, findings: Sequence[Finding], text: str) -> Event:
    """The indicators of the event's findings that this very line contains."""
    haystack = text.lower()
    spaced = haystack.replace("+", " ")
    found: dict[str, str] = {}
    for finding in findings:
        for kind in INDICATOR_KINDS:
            for value in getattr(finding.indicators, kind):
                needle = value.lower()
                if needle and (needle in haystack or needle in spaced):
                    found.setdefault(needle, value)
    return replace(event, indicators=tuple(found.values()))
