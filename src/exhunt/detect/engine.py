"""Run the rules over one log file or over the file tree, isolating every failure.

A :class:`LogPlan` holds, for one artifact type, the rules that read it and one automaton of
all their literals; a line reaches a rule only if it holds one of that rule's literals. A rule
that cannot name literals makes its artifact type fully parsed. One rule failing on one record
is recorded once per file and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from exhunt.artifacts.base import ARTIFACTS, LineLog
from exhunt.artifacts.filetree import FileTreeReader, TreeStats
from exhunt.artifacts.textlog import LogReader, LogStats, markers_for
from exhunt.detect.content import ContentLimits, ContentStats
from exhunt.detect.content import Progress as ContentProgress
from exhunt.detect.context import ScanContext
from exhunt.detect.prefilter import LiteralMatcher, Pattern, build_matcher
from exhunt.detect.rules import RecordRule, RuleSet
from exhunt.detect.treecontent import TreeContent, yara_of
from exhunt.model import Hit, Record, Source

if TYPE_CHECKING:
    from exhunt.evidence import Evidence, EvidenceFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    since: datetime | None = None
    until: datetime | None = None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return True
        if self.since is not None and moment < self.since:
            return False
        return not (self.until is not None and moment > self.until)


@dataclass(frozen=True, slots=True)
class Problem:
    """An error met while scanning, for the document's ``errors``."""

    component: str
    message: str
    path: str | None = None
    line: int | None = None


@dataclass(slots=True)
class FileResult:
    """Everything one log file gave: hits, coverage figures, builds seen, problems."""

    source: Source
    size: int
    stats: LogStats
    hits: list[Hit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    builds: list[tuple[str, datetime | None]] = field(default_factory=list)
    host: str | None = None
    """The server name the log itself gives, if any."""
    seconds: float = 0.0


@dataclass(slots=True)
class TreeResult:
    stats: TreeStats
    hits: list[Hit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    """File records kept for the build and coverage steps (version folders)."""
    skipped: list[str] = field(default_factory=list)
    """``<path>: <reason>`` of files whose content was not (fully) analysed."""
    content: ContentStats = field(default_factory=ContentStats)


class LogPlan:
    """The rules reading one artifact type, and the prefilter of their literals."""

    def __init__(self, artifact: str, rules: Sequence[RecordRule]) -> None:
        self.artifact = artifact
        self.rules = list(rules)
        literal_ids: dict[str, int] = {}
        self._by_literal: list[list[int]] = []
        self._full: list[int] = []
        for index, rule in enumerate(self.rules):
            literals = rule.literals(artifact)
            if literals is None:
                self._full.append(index)
                continue
            for literal in literals:
                key = literal if isinstance(literal, Pattern) else literal.lower()
                lid = literal_ids.setdefault(key, len(literal_ids))
                if lid == len(self._by_literal):
                    self._by_literal.append([])
                self._by_literal[lid].append(index)
        self.literals = list(literal_ids)
        parser = ARTIFACTS.get(artifact)()
        markers = markers_for(parser) if self.literals and isinstance(parser, LineLog) else ()
        self.matcher: LiteralMatcher | None = (
            None if self._full else build_matcher(self.literals, markers)
        )

    def rules_for(self, ids: frozenset[int] | None) -> Iterable[RecordRule]:
        if ids is None:
            return self.rules
        indexes = sorted({i for lid in ids for i in self._by_literal[lid]})
        return (self.rules[i] for i in indexes)


def plans_for(ruleset: RuleSet) -> dict[str, LogPlan]:
    return {
        artifact: LogPlan(artifact, ruleset.for_artifact(artifact))
        for artifact in ARTIFACTS.names()
    }


def scan_log_file(
    file: EvidenceFile,
    artifact: str,
    plan: LogPlan,
    context: ScanContext,
    window: TimeWindow = TimeWindow(),
) -> FileResult:
    """Read one log file once and evaluate the rules on the lines its prefilter selects."""
    started = time.perf_counter()
    parser = ARTIFACTS.get(artifact)()
    assert isinstance(parser, LineLog)
    source = Source(artifact, file.rel, file.windows_path)
    reader = LogReader(open(file.real, "rb"), parser, source, matcher=plan.matcher)  # noqa: SIM115
    result = FileResult(source, file.size, reader.stats)
    failed: set[str] = set()
    try:
        with reader.fh:
            for record, ids in reader:
                if window.contains(record.time):
                    result.hits.extend(
                        evaluate_rules(plan.rules_for(ids), record, context, failed, result)
                    )
    except OSError as exc:
        result.problems.append(Problem(artifact, f"read failed: {exc}", file.rel))
    _note_builds(parser, reader.stats, result)
    _note_bad_records(reader.stats, result)
    _slim(result)
    result.seconds = time.perf_counter() - started
    return result


HOST_FIELDS = ("ServerHostName", "ServerName", "s-computername")


def _slim(result: FileResult) -> None:
    """Keep what the scan needs of the edge records and directives; results cross processes."""
    stats = result.stats
    record = stats.first_record
    if record is not None:
        for name in HOST_FIELDS:
            value = record.fields.get(name)
            if value and value != "-":
                result.host = value
                break
    stats.first_record = stats.last_record = None
    stats.directives = [d for d in stats.directives if d[1].lower() != "fields"]


def scan_tree(
    evidence: Evidence,
    ruleset: RuleSet,
    context: ScanContext,
    window: TimeWindow = TimeWindow(),
    *,
    limits: ContentLimits | None = None,
    jobs: int | None = None,
    progress: ContentProgress | None = None,
) -> TreeResult:
    """Evaluate the file rules on every file of the evidence: metadata, and for the files worth
    reading, hashes and YARA matches from one read (:mod:`exhunt.detect.treecontent`)."""
    reader = FileTreeReader(evidence, hash_inline=False)
    rules = ruleset.for_artifact("fs.file")
    result = TreeResult(reader.stats)
    failed: set[str] = set()
    # Worth starting workers at once when the evidence holds enough bytes to be read at all.
    expected = sum(file.size for file in evidence.files)
    with TreeContent(yara_of(rules), reader.stats, limits, jobs, progress, expected) as content:
        for record in content.enrich(reader):
            if record.fields.get("web") == "true" or "sha256" in record.fields:
                result.records.append(record)
            if window.contains(record.time):
                result.hits.extend(evaluate_rules(rules, record, context, failed, result))
    result.content = content.stats
    result.skipped = list(content.stats.skipped)
    for rel, message in reader.stats.unreadable:
        result.problems.append(Problem("fs.file", f"could not read: {message}", rel))
    return result


def evaluate_rules(
    rules: Iterable[RecordRule],
    record: Record,
    context: ScanContext,
    failed: set[str],
    result: FileResult | TreeResult,
) -> list[Hit]:
    """The hits of ``rules`` on one record. A rule that raises is reported once in
    ``result.problems`` (by rule id, in ``failed``) and the other rules go on."""
    hits: list[Hit] = []
    for rule in rules:
        try:
            hits.extend(rule.evaluate(record, context))
        except Exception as exc:  # one rule's bug must not lose the other rules' findings
            if rule.info.id not in failed:
                failed.add(rule.info.id)
                log.debug("rule %s failed on %s", rule.info.id, record.source.path, exc_info=True)
                result.problems.append(
                    Problem(
                        f"rule {rule.info.id}",
                        f"{type(exc).__name__}: {exc}",
                        record.source.path,
                        record.line,
                    )
                )
    return hits


def _note_builds(parser: LineLog, stats: LogStats, result: FileResult) -> None:
    for record in (stats.first_record, stats.last_record):
        if record is not None:
            build = parser.build_of(record)
            if build:
                result.builds.append((build, record.time))


def _note_bad_records(stats: LogStats, result: FileResult) -> None:
    if not stats.bad_records:
        return
    first = stats.bad_examples[0]
    more = stats.bad_records - 1
    suffix = f" (and {more} more bad record{'s' if more != 1 else ''})" if more else ""
    result.problems.append(
        Problem(
            result.source.artifact,
            f"bad record: {first.reason}{suffix}",
            result.source.path,
            first.line,
        )
    )
