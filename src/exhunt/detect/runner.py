"""Running every log file of the evidence through the rules, in worker processes when it pays.

Windows event logs (``.evtx``) are scheduled the same way and read by
:mod:`exhunt.detect.evtxscan`.

The workers read each candidate file's preamble to know its parser, so opening thousands of
hourly logs is shared out too. Small scans stay in one process. Each worker loads the rules once
(forked workers inherit them); files go in batches, so messages cost less than the work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from exhunt.artifacts.base import HEAD_SIZE, classify
from exhunt.artifacts.evtx import EvtxLog
from exhunt.artifacts.textlog import LogStats
from exhunt.detect.context import ScanContext
from exhunt.detect.engine import FileResult, LogPlan, Problem, TimeWindow, plans_for, scan_log_file
from exhunt.detect.evtxplan import evtx_plan
from exhunt.detect.evtxscan import scan_evtx_file
from exhunt.detect.rules import RuleSpec, load_ruleset
from exhunt.evidence import Evidence, EvidenceFile
from exhunt.model import Source

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with (what, done, total) as work completes; totals are in bytes for logs."""

LOG_SUFFIXES = (".log", ".txt")
PARALLEL_MIN_BYTES = 32 << 20
"""Below this much log data a scan stays in one process: workers cost more than they save."""
BATCH_MIN_BYTES = 4 << 20
EVTX_SUFFIX = ".evtx"
EVTX_COST = 8
"""An EVTX byte costs about this many log bytes of work (binary XML, JSON): for sharing out."""


@dataclass(frozen=True, slots=True)
class LogTask:
    file: EvidenceFile
    artifact: str | None = None
    """The parser's type; None lets the worker sniff the file (most files are logs)."""


def find_logs(evidence: Evidence) -> list[LogTask]:
    """Every file that may be a log; the workers read each one's preamble to know its kind."""
    logs = [
        LogTask(file)
        for file in evidence.files
        if file.size > 0 and file.rel.lower().endswith(LOG_SUFFIXES)
    ]
    # Every .evtx, even empty: a Windows event log is never empty, so one is worth a message.
    evtx = [LogTask(f, EvtxLog.type) for f in evidence.files if f.rel.lower().endswith(EVTX_SUFFIX)]
    return logs + evtx


def _cost(task: LogTask) -> int:
    return task.file.size * (EVTX_COST if task.artifact == EvtxLog.type else 1)


def run_logs(
    tasks: Sequence[LogTask],
    spec: RuleSpec,
    context: ScanContext,
    window: TimeWindow,
    jobs: int | None,
    progress: Progress | None,
) -> list[FileResult]:
    """Scan every log file, in worker processes when there is enough data to share out."""
    total = sum(task.file.size for task in tasks)
    workers = jobs or os.cpu_count() or 1
    ordered = sorted(tasks, key=lambda t: -_cost(t))
    if workers <= 1 or sum(map(_cost, tasks)) < PARALLEL_MIN_BYTES or len(tasks) < 2:
        return list(_serial(ordered, spec, context, window, total, progress))
    return _parallel(ordered, spec, context, window, total, workers, progress)


def _serial(
    tasks: Sequence[LogTask],
    spec: RuleSpec,
    context: ScanContext,
    window: TimeWindow,
    total: int,
    progress: Progress | None,
) -> Iterable[FileResult]:
    done = 0
    for task in tasks:
        result = _run_task(task, spec, context, window)
        if result is not None:
            yield result
        done += task.file.size
        if progress:
            progress("logs", done, total)


def _parallel(
    tasks: Sequence[LogTask],
    spec: RuleSpec,
    context: ScanContext,
    window: TimeWindow,
    total: int,
    workers: int,
    progress: Progress | None,
) -> list[FileResult]:
    results: list[FileResult] = []
    done = 0
    plans = _plans(spec)  # built before the workers start, so forked workers inherit them
    if any(task.artifact == EvtxLog.type for task in tasks):
        evtx_plan(plans[EvtxLog.type])
    batches = _batches(tasks, max(sum(map(_cost, tasks)) // (workers * 8), BATCH_MIN_BYTES))
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_init, initargs=(spec,)
    ) as pool:
        futures: dict[Future[list[FileResult]], list[LogTask]] = {
            pool.submit(_run_batch, batch, spec, context, window): batch for batch in batches
        }
        for future in as_completed(futures):
            batch = futures[future]
            try:
                results.extend(future.result())
            except Exception as exc:  # a worker died: record it, keep the other files
                results.extend(_failed_result(task, exc) for task in batch)
            done += sum(task.file.size for task in batch)
            if progress:
                progress("logs", done, total)
    return results


def _batches(tasks: Sequence[LogTask], target: int) -> list[list[LogTask]]:
    """Group files (largest first) so each job carries about ``target`` bytes: hourly logs
    are small and many, and one job per file would spend more on messages than on work."""
    batches: list[list[LogTask]] = []
    current: list[LogTask] = []
    size = 0
    for task in tasks:
        current.append(task)
        size += _cost(task)
        if size >= target:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


def _run_batch(
    batch: Sequence[LogTask], spec: RuleSpec, context: ScanContext, window: TimeWindow
) -> list[FileResult]:
    results = (_run_task(task, spec, context, window) for task in batch)
    return [result for result in results if result is not None]


_PLANS: dict[RuleSpec, dict[str, LogPlan]] = {}


def _worker_init(spec: RuleSpec) -> None:
    _plans(spec)


def _plans(spec: RuleSpec) -> dict[str, LogPlan]:
    if spec not in _PLANS:
        _PLANS[spec] = plans_for(load_ruleset(spec))
    return _PLANS[spec]


def _run_task(
    task: LogTask, spec: RuleSpec, context: ScanContext, window: TimeWindow
) -> FileResult | None:
    """Scan one file as its parser's kind; None when no parser claims it."""
    try:
        artifact = task.artifact or _sniff(task.file)
        if artifact is None:
            return None
        if artifact == EvtxLog.type:
            return scan_evtx_file(task.file, _plans(spec)[artifact], context, window)
        return scan_log_file(task.file, artifact, _plans(spec)[artifact], context, window)
    except OSError as exc:
        return _failed_result(task, exc, "could not read")
    except Exception as exc:  # a parser bug on one file must not lose the others' findings
        log.debug("scanning %s failed", task.file.rel, exc_info=True)
        return _failed_result(task, exc)


def _sniff(file: EvidenceFile) -> str | None:
    with open(file.real, "rb") as fh:
        head = fh.read(HEAD_SIZE)
    # An event log renamed to .log or .txt is still read as one.
    return classify(file, head) or (EvtxLog.type if EvtxLog.claims(file, head) else None)


def _failed_result(task: LogTask, exc: BaseException, what: str = "parser failed") -> FileResult:
    artifact = task.artifact or "log"
    source = Source(artifact, task.file.rel, task.file.windows_path)
    result = FileResult(source, task.file.size, LogStats())
    message = f"{what}: {type(exc).__name__}: {exc}"
    result.problems.append(Problem(artifact, message, task.file.rel))
    return result
