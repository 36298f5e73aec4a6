"""What the evidence covered: per log type, files, records, bad records and time span; the gaps.

A gap is a period inside a log stream's span with no log at all: longer than the threshold for
logs that a live Exchange server writes around the clock (IIS sites and HttpProxy, kept busy by
the health probes), or a file cut short. Sparse logs (ECP, OAB generator, Remote PowerShell) are
only checked for truncation, since silence there is normal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from exhunt.document import ArtifactCoverage, Coverage, Gap

CONTINUOUS = frozenset({"iis.w3c", "exchange.httpproxy"})
DEFAULT_GAP = timedelta(hours=6)
_SITE = re.compile(r"/(w3svc\d+)/", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FileSpan:
    """What coverage needs from one log file."""

    artifact: str
    path: str
    records: int
    bad_records: int
    first: datetime | None
    last: datetime | None
    truncated: bool


def build_coverage(
    spans: Sequence[FileSpan], threshold: timedelta = DEFAULT_GAP, skipped: Iterable[str] = ()
) -> Coverage:
    return Coverage(
        artifacts=_per_artifact(spans),
        gaps=_gaps(spans, threshold) + _truncations(spans),
        skipped=list(skipped),
    )


def stream_of(span: FileSpan) -> str:
    """The continuous stream a file belongs to: an IIS site, or a whole log type."""
    if span.artifact == "iis.w3c":
        match = _SITE.search("/" + span.path)
        if match:
            return f"iis.w3c {match.group(1).upper()}"
    return span.artifact


def _per_artifact(spans: Sequence[FileSpan]) -> list[ArtifactCoverage]:
    by_type: dict[str, ArtifactCoverage] = {}
    for span in spans:
        entry = by_type.setdefault(span.artifact, ArtifactCoverage(type=span.artifact))
        entry.files += 1
        entry.records += span.records
        entry.bad_records += span.bad_records
        if span.first and (entry.first is None or span.first < entry.first):
            entry.first = span.first
        if span.last and (entry.last is None or span.last > entry.last):
            entry.last = span.last
    return [by_type[name] for name in sorted(by_type)]


def _gaps(spans: Sequence[FileSpan], threshold: timedelta) -> list[Gap]:
    streams: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for span in spans:
        if span.artifact in CONTINUOUS and span.first and span.last:
            streams[stream_of(span)].append((span.first, span.last))
    gaps: list[Gap] = []
    for stream, intervals in sorted(streams.items()):
        intervals.sort()
        reach = intervals[0][1]
        for start, end in intervals[1:]:
            if start - reach > threshold:
                hours = (start - reach).total_seconds() / 3600
                gaps.append(
                    Gap(type=stream, from_=reach, to=start, reason=f"no log for {hours:.1f} hours")
                )
            reach = max(reach, end)
    return gaps


def _truncations(spans: Sequence[FileSpan]) -> list[Gap]:
    """Files cut short; the newest file of a log is expected to be, when collected live."""
    newest: dict[str, FileSpan] = {}
    for span in spans:
        current = newest.get(stream_of(span))
        if span.first and (current is None or current.first is None or span.first > current.first):
            newest[stream_of(span)] = span
    gaps = []
    for span in spans:
        if not span.truncated:
            continue
        live = newest.get(stream_of(span)) is span
        reason = (
            "truncated file (the newest of its log: still being written)"
            if live
            else ("truncated file")
        )
        gaps.append(
            Gap(type=span.artifact, from_=span.last, reason=reason, path=span.path, expected=live)
        )
    return gaps
