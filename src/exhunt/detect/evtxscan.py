"""Run the rules over one Windows event log, decoding only the records a rule can match.

The parser hands out each record as JSON text; records go in batches to the plan
(:mod:`exhunt.detect.evtxplan`), which picks the records worth decoding and the rules worth
evaluating on each without decoding any. Coverage needs no decoding either: records are counted
as the parser hands them out, and the first and last event times are read from each text's
``SystemTime`` (the record header's write time where an event has none).

The literals are matched in the JSON text, where backslashes are doubled and quotes escaped;
the Sigma field mapping for ``evtx`` keeps literals from spanning those characters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exhunt.artifacts.evtx import EvtxLog, EvtxReader, RawEvent, to_record
from exhunt.artifacts.evtxfile import BadPart
from exhunt.artifacts.textlog import LogStats
from exhunt.detect.context import ScanContext
from exhunt.detect.engine import FileResult, LogPlan, Problem, TimeWindow, evaluate_rules
from exhunt.detect.evtxplan import EvtxPlan, evtx_plan
from exhunt.exceptions import ArtifactError
from exhunt.model import Source

if TYPE_CHECKING:
    from exhunt.evidence import EvidenceFile

log = logging.getLogger(__name__)

BATCH_RECORDS = 2048
BATCH_BYTES = 4 << 20
"""A batch ends at whichever comes first; big enough that the automaton's call cost vanishes."""
_NOT_HOST_CHANNELS = frozenset({"forwardedevents"})
"""Channels whose events come from other machines: their Computer is not this server."""


def scan_evtx_file(
    file: EvidenceFile,
    plan: LogPlan,
    context: ScanContext,
    window: TimeWindow | None = None,
) -> FileResult:
    """Read one EVTX file once and evaluate the rules on the records its prefilter selects."""
    started = time.perf_counter()
    source = Source(EvtxLog.type, file.rel, file.windows_path)
    result = FileResult(source, file.size, LogStats())
    scan = _FileScan(evtx_plan(plan), context, window or TimeWindow(), result)
    reader = EvtxReader(file.real)
    try:
        for batch in iter_batches(reader.events()):
            scan.run(batch, first=reader.records == len(batch))
    except ArtifactError as exc:
        scan.result.problems.append(Problem(EvtxLog.type, str(exc), file.rel))
    _fill_stats(scan.result.stats, reader, scan)
    _note_damage([*reader.bad, *scan.undecoded], scan.result)
    scan.result.seconds = time.perf_counter() - started
    return scan.result


@dataclass(slots=True)
class _FileScan:
    """The rules' work on one file, batch after batch."""

    plan: EvtxPlan
    context: ScanContext
    window: TimeWindow
    result: FileResult
    decoded: int = 0
    undecoded: list[BadPart] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    def run(self, batch: Sequence[RawEvent], first: bool) -> None:
        source = self.result.source
        if first and batch:
            self.result.host = _host(batch[0], source)
        for event, rules in self.plan.candidates(batch):
            self.decoded += 1
            record = to_record(event, source)
            if record is None:
                where = f"record number {event.number}"
                self.undecoded.append(BadPart(where, "its JSON cannot be decoded"))
            elif self.window.contains(record.time):
                hits = evaluate_rules(rules, record, self.context, self.failed, self.result)
                self.result.hits.extend(hits)


def iter_batches(events: Iterable[RawEvent]) -> Iterator[list[RawEvent]]:
    """Consecutive events in batches of at most ``BATCH_RECORDS`` records or about
    ``BATCH_BYTES`` of text."""
    batch: list[RawEvent] = []
    size = 0
    for event in events:
        batch.append(event)
        size += len(event.text)
        if len(batch) >= BATCH_RECORDS or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _host(event: RawEvent, source: Source) -> str | None:
    """The server's name as the log's first event gives it (not from forwarded events)."""
    record = to_record(event, source)
    if record is None or record.fields["Channel"].lower() in _NOT_HOST_CHANNELS:
        return None
    return record.fields["Computer"] or None


def _fill_stats(stats: LogStats, reader: EvtxReader, scan: _FileScan) -> None:
    """Coverage figures: every record found counts, readable or not, as lines do in logs."""
    stats.records = reader.records + reader.bad_records
    stats.bad_records = reader.bad_records + len(scan.undecoded)
    stats.parsed = scan.decoded
    stats.first = reader.first
    stats.last = reader.last
    layout = reader.layout
    if layout is not None:
        stats.bytes_read = layout.size
        stats.sha256 = layout.sha256
        stats.truncated = layout.truncated


def _note_damage(parts: Sequence[BadPart], result: FileResult) -> None:
    """One problem per damaged file, naming the first bad part, like bad lines in logs."""
    if not parts:
        return
    more = len(parts) - 1
    total = sum(part.records for part in parts)
    message = f"bad record: {parts[0].describe()}"
    if more:
        message += f" (and {more} more bad part{'s' if more != 1 else ''})"
    message += f"; {total} bad record{'s' if total != 1 else ''} in all"
    result.problems.append(Problem(EvtxLog.type, message, result.source.path))
