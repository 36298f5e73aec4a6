"""The rules a scan runs, whatever engine they come from, behind one interface.

A :class:`RecordRule` says which artifact types it reads, which literals a line must contain
for it to match (the prefilter, design.md section 6) and what hits a record gives. Sigma rules,
IOC packs and Python checks all become record rules. A :class:`RuleSpec` names the rule
sources; worker processes load the same rules from it once each.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from exhunt.cachedir import load_pickle, write_entry
from exhunt.detect.context import ScanContext
from exhunt.exceptions import RuleError
from exhunt.model import Category, Hit, Record, RuleInfo, Severity
from exhunt.registry import Registry

if TYPE_CHECKING:
    from exhunt.detect.sigma.rule import CompiledSigmaRule

log = logging.getLogger(__name__)

CACHE_FORMAT = 2
"""Bumped when the compiled rule form changes, so old caches are not read."""


class RecordRule(ABC):
    """A rule evaluated on single records."""

    info: RuleInfo
    artifacts: frozenset[str]

    @property
    def emits(self) -> tuple[RuleInfo, ...]:
        """Every rule identity this rule's hits can carry (a check may report under several)."""
        return (self.info,)

    @abstractmethod
    def literals(self, artifact: str) -> frozenset[str] | None:
        """Lower-case literals one of which every matching line contains; None = any line."""

    @abstractmethod
    def evaluate(self, record: Record, context: ScanContext) -> Iterable[Hit]:
        """The hits this record gives."""


CHECKS: Registry[type[RecordRule]] = Registry("check", "exhunt.detect.checks")


def register_check(cls: type[RecordRule]) -> type[RecordRule]:
    """Class decorator: a Python check, instantiated once per scan without arguments."""
    return CHECKS.register(cls.info.id)(cls)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a chain classifier decides about a group of correlated hits."""

    category: Category
    severity: Severity
    title: str
    reason: str = ""
    rule: str | None = None
    """The rule id the finding is reported under (default: its most serious hit's)."""
    cves: tuple[str, ...] = ()
    """CVEs the chain shows besides those of its rules."""


@dataclass(frozen=True, slots=True)
class ChainFacts:
    """Facts a chain classifier may use besides the hits."""

    context: ScanContext
    exposed: Callable[[str, Record], bool | None]
    """Whether the server was exposed to a CVE when a record was written (None: unknown)."""


ChainClassifier = Callable[[Sequence[Hit], ChainFacts], Classification | None]
CLASSIFIERS: Registry[ChainClassifier] = Registry("chain classifier", "exhunt.detect.checks")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """Where a scan's rules come from; picklable, so worker processes can load the same set."""

    sigma_paths: tuple[Path, ...] = ()
    ioc_paths: tuple[Path, ...] = ()
    bundled: bool = True
    skip_invalid: bool = False
    yara_paths: tuple[Path, ...] = ()
    """Third-party YARA rule files or folders (``--yara``); files that fail to compile are
    reported and skipped."""


@dataclass(slots=True)
class RuleSet:
    rules: list[RecordRule]
    errors: list[RuleError] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)
    version: str = ""

    def for_artifact(self, artifact: str) -> list[RecordRule]:
        return [rule for rule in self.rules if artifact in rule.artifacts]

    def artifacts(self) -> frozenset[str]:
        return frozenset(a for rule in self.rules for a in rule.artifacts)


def bundled_rules_dir() -> Path:
    return Path(str(resources.files("exhunt") / "rules"))


@cache
def load_ruleset(spec: RuleSpec) -> RuleSet:
    """Load and compile every rule of ``spec`` once per process.

    Raises:
        RuleError: a rule is invalid and ``spec.skip_invalid`` is false.
    """
    from exhunt.detect.ioc import load_ioc_rules
    from exhunt.detect.sigmarule import SigmaRecordRule

    sigma_paths = list(spec.sigma_paths)
    ioc_paths = list(spec.ioc_paths)
    rules: list[RecordRule] = []
    if spec.bundled:
        sigma_paths.insert(0, bundled_rules_dir() / "sigma")
        ioc_paths.insert(0, bundled_rules_dir() / "iocs")
        rules.extend(cls() for cls in CHECKS)
    sigma = load_sigma_cached(sigma_paths, spec.skip_invalid)
    rules.extend(SigmaRecordRule(rule) for rule in sigma.rules if rule.active)
    rules.extend(load_ioc_rules(ioc_paths))
    yara_errors = _add_yara(rules, spec)
    return RuleSet(
        rules=rules,
        errors=[RuleError(reason, path, line) for reason, path, line in sigma.errors] + yara_errors,
        inactive=[f"{r.info.id} ({r.path.name})" for r in sigma.rules if not r.active],
        version=_content_version(bundled_rules_dir()) if spec.bundled else "user",
    )


def _add_yara(rules: list[RecordRule], spec: RuleSpec) -> list[RuleError]:
    """Bundled and ``--yara`` rules as one compiled set; its compile failures."""
    from exhunt.detect.yara import load_yara, rule_files
    from exhunt.detect.yararule import YaraRecordRule

    bundled = rule_files([bundled_rules_dir() / "yara"], True) if spec.bundled else []
    files = bundled + rule_files(spec.yara_paths, False)
    if not files:
        return []
    compiled = load_yara(files)
    rules.append(YaraRecordRule(compiled))
    return [problem.as_error() for problem in compiled.problems]


@dataclass(frozen=True, slots=True)
class CompiledSigma:
    """What a cache keeps of a Sigma load: compiled rules and the failures that were skipped."""

    rules: list[CompiledSigmaRule]
    errors: list[tuple[str, str | None, int | None]]


def load_sigma_cached(paths: Sequence[Path], skip_invalid: bool) -> CompiledSigma:
    """Sigma rules compiled once, then loaded from a cache keyed by their content.

    Compiling needs pySigma and takes seconds for large rule sets; the cache (in
    ``$EXHUNT_CACHE_DIR`` or the user's cache folder) holds only exhunt's own compiled form.
    A missing, stale or unreadable cache is rebuilt; one that cannot be written is skipped.
    """
    files = [f for path in paths for f in _rule_files(path)]
    key = _cache_key(files, skip_invalid)
    name = f"sigma-{key}.pickle"
    cached = load_pickle(name)
    if isinstance(cached, CompiledSigma):
        return cached
    from exhunt.detect.sigma import load_sigma_rules

    loaded = load_sigma_rules(paths, skip_invalid=skip_invalid)
    compiled = CompiledSigma(
        rules=list(loaded.rules),
        errors=[(e.reason, e.path, e.line) for e in loaded.errors],
    )
    write_entry(name, pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL))
    return compiled


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
    return [path]


def _cache_key(files: Sequence[Path], skip_invalid: bool) -> str:
    from exhunt import __version__

    digest = hashlib.sha256(f"{__version__}|{skip_invalid}|{CACHE_FORMAT}".encode())
    for file in files:
        digest.update(str(file.resolve()).encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def _content_version(root: Path) -> str:
    """A short hash of the bundled rule files, so a result names the content it used."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".yml", ".yaml", ".csv", ".yar"}:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
