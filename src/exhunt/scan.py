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
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from exhunt import __version__
from exhunt.detect.context import DEFAULT_INTERNAL, ScanContext
from exhunt.detect.engine import (
    FileResult,
    Problem,
    TimeWindow,
    TreeResult,
    scan_tree,
)
from exhunt.detect.rules import ChainFacts, RuleSet, RuleSpec, load_ruleset
from exhunt.detect.runner import Progress, find_logs, run_logs
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
from exhunt.evidence import Evidence, open_evidence
from exhunt.findings.correlate import correlate
from exhunt.findings.coverage import FileSpan, build_coverage
from exhunt.findings.exposure import BuildHistory, Observation, exchange_info, observe
from exhunt.findings.mitigations import find_mitigations
from exhunt.findings.timeline import build_timeline
from exhunt.findings.verdict import EvidenceHealth, decide
from exhunt.options import ScanOptions

log = logging.getLogger(__name__)


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
