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
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from exhunt import __version__
from exhunt.detect.builds import format_build
from exhunt.detect.content import ContentLimits
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
from exhunt.findings.baseline import (
    Deviation,
    Manifest,
    compare,
    compare_peers,
    deviation_hits,
    has_build,
    load_baseline,
    manifest_of,
)
from exhunt.findings.buildsources import disk_observations, registry_install_path
from exhunt.findings.correlate import correlate
from exhunt.findings.coverage import FileSpan, build_coverage
from exhunt.findings.exposure import BuildHistory, Observation, exchange_info, observe
from exhunt.findings.timeline import build_timeline
from exhunt.findings.traces import mitigation_state
from exhunt.findings.verdict import EvidenceHealth, decide
from exhunt.model import Hit
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
    spec = _spec(options)
    ruleset = load_ruleset(spec)
    if isinstance(paths, Evidence):
        analysis = _scan(paths, ruleset, spec, options, progress, started, clock)
    else:
        with open_evidence(list(paths), workdir=options.workdir) as evidence:
            analysis = _scan(evidence, ruleset, spec, options, progress, started, clock)
    return _conclude(analysis, ruleset, options, _baseline_hits(analysis, options))


def scan_servers(
    groups: Sequence[Sequence[str | os.PathLike[str]]],
    options: ScanOptions | None = None,
    progress: Callable[[int], Progress | None] | None = None,
) -> list[ScanDocument]:
    """Scan several servers; those of the same Exchange build are each other's baseline.

    Without ``options.baseline_path``, a web file present on one server and on none of its
    peers of the same build, or changed from what its peers agree on, is reported
    (:func:`exhunt.findings.baseline.compare_peers`). With a baseline file, each server is
    compared with the baseline of its build instead.

    Args:
        groups: the evidence paths of each server.
        options: what to run and how.
        progress: gives the progress callback for the n-th server.
    """
    options = options or ScanOptions()
    spec = _spec(options)
    ruleset = load_ruleset(spec)
    analyses = []
    for index, group in enumerate(groups):
        started, clock = datetime.now(UTC), time.perf_counter()
        reporter = progress(index) if progress else None
        with open_evidence(list(group), workdir=options.workdir) as evidence:
            analyses.append(_scan(evidence, ruleset, spec, options, reporter, started, clock))
    peers: dict[str, list[Deviation]] = {}
    if options.baseline_path is None:
        peers = compare_peers([a.manifest for a in analyses])
    documents = []
    for analysis in analyses:
        extra = _baseline_hits(analysis, options)
        extra += deviation_hits(peers.get(analysis.manifest.server, []), analysis.tree.records)
        documents.append(_conclude(analysis, ruleset, options, extra))
    return documents


def scan_manifest(
    paths: Sequence[str | os.PathLike[str]], options: ScanOptions, build: str | None = None
) -> tuple[Manifest, str]:
    """One server's web file manifest (for a baseline) and its verdict status.

    Args:
        paths: the server's evidence.
        options: what to run.
        build: the Exchange build, when the evidence cannot tell.
    """
    document_options = replace(options, baseline_path=None)
    spec = _spec(document_options)
    ruleset = load_ruleset(spec)
    started, clock = datetime.now(UTC), time.perf_counter()
    with open_evidence(list(paths), workdir=options.workdir) as evidence:
        analysis = _scan(evidence, ruleset, spec, document_options, None, started, clock)
    document = _conclude(analysis, ruleset, document_options)
    manifest = analysis.manifest
    if build is not None or manifest.build is None:
        manifest = replace(manifest, build=build or document.exchange.build)
    return manifest, document.verdict.status.value


def _spec(options: ScanOptions) -> RuleSpec:
    return RuleSpec(
        sigma_paths=tuple(options.sigma_paths),
        ioc_paths=tuple(options.ioc_paths),
        bundled=options.bundled_rules,
        skip_invalid=options.skip_invalid_rules,
        yara_paths=tuple(options.yara_paths),
    )


@dataclass(slots=True)
class _Analysis:
    """One server's evidence read and matched; what concluding its document needs."""

    results: list[FileResult]
    tree: TreeResult
    context: ScanContext
    history: BuildHistory
    spans: list[FileSpan]
    skipped: list[str]
    mitigations: list[str]
    evidence_info: EvidenceInfo
    manifest: Manifest
    started: datetime
    clock: float


def _baseline_hits(analysis: _Analysis, options: ScanOptions) -> list[Hit]:
    if options.baseline_path is None:
        return []
    baseline = load_baseline(options.baseline_path)
    if not has_build(baseline, analysis.manifest.build):
        log.warning(
            "the baseline has no servers of build %s; files not compared",
            analysis.manifest.build or "(unknown)",
        )
        return []
    deviations = compare(analysis.manifest, baseline, f"baseline {options.baseline_path.name}")
    return deviation_hits(deviations, analysis.tree.records)


def _scan(
    evidence: Evidence,
    ruleset: RuleSet,
    spec: RuleSpec,
    options: ScanOptions,
    progress: Progress | None,
    started: datetime,
    clock: float,
) -> _Analysis:
    context = ScanContext(
        install_path=evidence.exchange.windows_path if evidence.exchange else None,
        internal_networks=DEFAULT_INTERNAL + options.networks(),
        host=evidence.host,
    )
    window = TimeWindow(options.since, options.until)
    tasks = find_logs(evidence)
    results = run_logs(tasks, spec, context, window, options.jobs, progress)
    limits = ContentLimits(options.max_file_bytes, options.file_timeout)
    tree = scan_tree(evidence, ruleset, context, window, limits=limits, jobs=options.jobs)
    mitigations = mitigation_state(evidence)
    history = BuildHistory(
        list(_observations(results, evidence)), mitigations, registry_install_path(evidence)
    )
    current = history.current()
    build = format_build(current.build) if current is not None else None
    return _Analysis(
        results=results,
        tree=tree,
        context=context,
        history=history,
        spans=[_span(r) for r in results],
        skipped=[*getattr(evidence, "skipped", []), *tree.skipped],
        mitigations=[m.sentence for m in mitigations.mitigations],
        evidence_info=_evidence_info(evidence, results, tree, context),
        manifest=manifest_of(tree.records, evidence.host or evidence.path, build),
        started=started,
        clock=clock,
    )


def _conclude(
    analysis: _Analysis, ruleset: RuleSet, options: ScanOptions, extra: Sequence[Hit] = ()
) -> ScanDocument:
    results, tree, context, history = (
        analysis.results, analysis.tree, analysis.context, analysis.history)  # fmt: skip
    window = TimeWindow(options.since, options.until)
    spans = analysis.spans
    collected, logs_start = _collection_span(spans)
    hits = [hit for r in results for hit in r.hits] + tree.hits + list(extra)
    hits += history.mitigations.hits
    correlated = correlate(hits, ChainFacts(context, history.exposed))
    findings = [finding for finding, _ in correlated]
    coverage = build_coverage(_in_window(spans, window), options.gap, skipped=analysis.skipped)
    exchange = exchange_info(history, collected, logs_start, context.install_path)
    exchange.mitigations = analysis.mitigations
    problems = [p for r in results for p in r.problems] + tree.problems
    health = EvidenceHealth(failed_files=sum(1 for r in results if _failed(r)))
    verdict = decide(findings, coverage, exchange, health)
    finished = datetime.now(UTC)
    started, clock = analysis.started, analysis.clock
    return ScanDocument(
        tool=Tool(version=__version__, rules_version=ruleset.version),
        evidence=analysis.evidence_info,
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
    yield from disk_observations(evidence)


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
