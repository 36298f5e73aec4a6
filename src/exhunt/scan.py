"""One server's evidence to one result document: the whole pipeline of design.md section 2.

``scan(paths)`` opens the evidence, finds its log files by their own preambles, runs every log
file through the rules (in worker processes when there is enough to do), walks the file tree,
then correlates the hits into findings and decides the verdict from findings, build exposure
and coverage. Library code: it reports progress through a callback and never prints.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from exhunt import __version__
from exhunt.artifacts.base import HEAD_SIZE, classify
from exhunt.artifacts.textlog import LogStats
from exhunt.detect.context import DEFAULT_INTERNAL, ScanContext
from exhunt.detect.engine import (
    FileResult,
    LogPlan,
    Problem,
    TimeWindow,
    TreeResult,
    plans_for,
    scan_log_file,
    scan_tree,
)
from exhunt.detect.rules import ChainFacts, RuleSet, RuleSpec, load_ruleset
from exhunt.document import (
    EvidenceFile as ManifestEntry,
)
from exhunt.document import (
    EvidenceInfo,
    ScanDocument,
    ScanError,
    ScanInfo,
    Tool,
)
from exhunt.evidence import Evidence, EvidenceFile, open_evidence
from exhunt.findings.correlate import correlate
from exhunt.findings.coverage import FileSpan, build_coverage
from exhunt.findings.exposure import BuildHistory, Observation, exchange_info, observe
from exhunt.findings.mitigations import find_mitigations
from exhunt.findings.timeline import build_timeline
from exhunt.findings.verdict import EvidenceHealth, decide
from exhunt.model import Source
from exhunt.options import ScanOptions

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with (what, done, total) as work completes; totals are in bytes for logs."""

LOG_SUFFIXES = (".log", ".txt")
PARALLEL_MIN_BYTES = 32 << 20
"""Below this much log data a scan stays in one process: workers cost more than they save."""
BATCH_MIN_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class LogTask:
    file: EvidenceFile
    artifact: str | None = None
    """The parser's type; None lets the worker sniff the file (most files are logs)."""


def scan(
    paths: Sequence[str | os.PathLike[str]] | Evidence,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
) -> ScanDocument:
    """Scan one server's evidence and return its result document.

    Args:
        paths: evidence paths (parts of one server's evidence), or an opened Evidence.
        options: what to run and how.
        progress: optional callback for progress reports.

    Raises:
        EvidenceError: the evidence cannot be opened.
        RuleError: a rule is invalid and invalid rules are not to be skipped.
    """
    options = options or ScanOptions()
    started = datetime.now(UTC)
    clock = time.perf_counter()
    spec = RuleSpec(
        sigma_paths=tuple(options.sigma_paths),
        ioc_paths=tuple(options.ioc_paths),
        bundled=options.bundled_rules,
        skip_invalid=options.skip_invalid_rules,
    )
    ruleset = load_ruleset(spec)
    if isinstance(paths, Evidence):
        return _scan(paths, ruleset, spec, options, progress, started, clock)
    with open_evidence(list(paths), workdir=options.workdir) as evidence:
        return _scan(evidence, ruleset, spec, options, progress, started, clock)


def _scan(
    evidence: Evidence,
    ruleset: RuleSet,
    spec: RuleSpec,
    options: ScanOptions,
    progress: Progress | None,
    started: datetime,
    clock: float,
) -> ScanDocument:
    context = ScanContext(
        install_path=evidence.exchange.windows_path if evidence.exchange else None,
        internal_networks=DEFAULT_INTERNAL + options.networks(),
        host=evidence.host,
    )
    window = TimeWindow(options.since, options.until)
    tasks = find_logs(evidence)
    results = run_logs(tasks, spec, context, window, options.jobs, progress)
    tree = scan_tree(evidence, ruleset, context, window)
    history = BuildHistory(list(_observations(results, evidence)))
    spans = [_span(r) for r in results]
    collected, logs_start = _collection_span(spans)
    hits = [hit for r in results for hit in r.hits] + tree.hits
    correlated = correlate(hits, ChainFacts(context, history.exposed))
    findings = [finding for finding, _ in correlated]
    coverage = build_coverage(
        _in_window(spans, window), options.gap, skipped=getattr(evidence, "skipped", [])
    )
    exchange = exchange_info(history, collected, logs_start, context.install_path)
    exchange.mitigations = find_mitigations(evidence)
    problems = [p for r in results for p in r.problems] + tree.problems
    health = EvidenceHealth(failed_files=sum(1 for r in results if _failed(r)))
    verdict = decide(findings, coverage, exchange, health)
    finished = datetime.now(UTC)
    return ScanDocument(
        tool=Tool(version=__version__, rules_version=ruleset.version),
        evidence=_evidence_info(evidence, results, tree, context),
        exchange=exchange,
        verdict=verdict,
        findings=findings,
        timeline=build_timeline(correlated),
        coverage=coverage,
        errors=_errors(problems, ruleset),
        scan=ScanInfo(
            started=started,
            finished=finished,
            seconds=round(time.perf_counter() - clock, 3),
            since=options.since,
            until=options.until,
        ),
    )


def find_logs(evidence: Evidence) -> list[LogTask]:
    """Every file that may be a log; the workers read each one's preamble to know its kind."""
    return [
        LogTask(file)
        for file in evidence.files
        if file.size > 0 and file.rel.lower().endswith(LOG_SUFFIXES)
    ]


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
    ordered = sorted(tasks, key=lambda t: -t.file.size)
    if workers <= 1 or total < PARALLEL_MIN_BYTES or len(tasks) < 2:
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
    _plans(spec)  # built before the workers start, so forked workers inherit them
    batches = _batches(tasks, max(total // (workers * 8), BATCH_MIN_BYTES))
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
        size += task.file.size
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
        return scan_log_file(task.file, artifact, _plans(spec)[artifact], context, window)
    except OSError as exc:
        return _failed_result(task, exc, "could not read")
    except Exception as exc:  # a parser bug on one file must not lose the others' findings
        log.debug("scanning %s failed", task.file.rel, exc_info=True)
        return _failed_result(task, exc)


def _sniff(file: EvidenceFile) -> str | None:
    with open(file.real, "rb") as fh:
        return classify(file, fh.read(HEAD_SIZE))


def _failed_result(task: LogTask, exc: BaseException, what: str = "parser failed") -> FileResult:
    artifact = task.artifact or "log"
    source = Source(artifact, task.file.rel, task.file.windows_path)
    result = FileResult(source, task.file.size, LogStats())
    message = f"{what}: {type(exc).__name__}: {exc}"
    result.problems.append(Problem(artifact, message, task.file.rel))
    return result


def _failed(result: FileResult) -> bool:
    stats = result.stats
    failures = ("parser failed", "read failed", "could not read")
    crashed = any(p.message.startswith(failures) for p in result.problems)
    return crashed or (stats.records > 0 and stats.bad_records >= stats.records)


def _span(result: FileResult) -> FileSpan:
    stats = result.stats
    return FileSpan(
        artifact=result.source.artifact,
        path=result.source.path,
        records=stats.records,
        bad_records=stats.bad_records,
        first=stats.first,
        last=stats.last,
        truncated=stats.truncated,
    )


def _in_window(spans: Sequence[FileSpan], window: TimeWindow) -> list[FileSpan]:
    """Each file's span cut to ``--since``/``--until``: coverage tells what was examined.

    A file wholly outside the window was not examined and is left out, so a window without
    web logs cannot pass for a clean bill; a file without a readable time stays.
    """
    kept = []
    for span in spans:
        first, last = span.first, span.last
        if first and window.since:
            first = max(first, window.since)
        if last and window.until:
            last = min(last, window.until)
        if first and last and first > last:
            continue
        kept.append(replace(span, first=first, last=last))
    return kept


def _collection_span(spans: Sequence[FileSpan]) -> tuple[datetime | None, datetime | None]:
    lasts = [s.last for s in spans if s.last]
    firsts = [s.first for s in spans if s.first and s.artifact in ("iis.w3c", "exchange.httpproxy")]
    return (max(lasts) if lasts else None), (min(firsts) if firsts else None)


def _observations(results: Sequence[FileResult], evidence: Evidence) -> Iterable[Observation]:
    for result in results:
        source = f"log:{result.source.artifact}"
        for build, moment in result.builds:
            obs = observe(build, moment, source, result.source.path)
            if obs:
                yield obs
        if result.source.artifact.startswith("exchange."):
            for _line, name, value in result.stats.directives:
                if name.lower() == "version":
                    obs = observe(
                        value, result.stats.first, f"{source} #Version", result.source.path
                    )
                    if obs:
                        yield obs
    yield from _version_folders(evidence)


_VERSION_PARENTS = ("frontend/httpproxy/owa/auth/", "clientaccess/owa/prem/", "clientaccess/owa/")


def _version_folders(evidence: Evidence) -> Iterable[Observation]:
    install = evidence.exchange
    if install is None:
        return
    base = install.rel.lower().rstrip("/") + "/"
    seen: set[str] = set()
    for file in evidence.iter_under(install.rel):
        rel = file.rel.lower()[len(base) :]
        for parent in _VERSION_PARENTS:
            if rel.startswith(parent):
                folder = rel[len(parent) :].split("/", 1)[0]
                if folder not in seen:
                    seen.add(folder)
                    obs = observe(
                        folder, None, "OWA version folder", f"{install.rel}/{parent}{folder}"
                    )
                    if obs and folder.count(".") == 3:
                        yield obs


def _evidence_info(
    evidence: Evidence, results: Sequence[FileResult], tree: TreeResult, context: ScanContext
) -> EvidenceInfo:
    files = [
        ManifestEntry(
            path=r.source.path,
            artifact=r.source.artifact,
            size=r.stats.bytes_read,
            sha256=r.stats.sha256,
        )
        for r in results
        if r.stats.sha256
    ]
    files += [
        ManifestEntry(path=rel, artifact="fs.file", size=size, sha256=sha)
        for rel, size, sha in tree.stats.hashes
    ]
    read = sum(r.stats.bytes_read for r in results) + tree.stats.hashed_bytes
    return EvidenceInfo(
        path=evidence.path,
        kind=evidence.kind,
        host=evidence.host or _host_from_logs(results),
        sha256=evidence.sha256,
        read_bytes=read,
        files=sorted(files, key=lambda f: f.path),
    )


def _host_from_logs(results: Sequence[FileResult]) -> str | None:
    return next((result.host for result in results if result.host), None)


def _errors(problems: Sequence[Problem], ruleset: RuleSet) -> list[ScanError]:
    errors = [
        ScanError(component=p.component, path=p.path, line=p.line, message=p.message)
        for p in problems
    ]
    for error in ruleset.errors:
        errors.append(
            ScanError(component="rules", path=error.path, line=error.line, message=error.reason)
        )
    return errors
