"""Load Sigma rule files and folders into a :class:`SigmaRuleSet`, compiling each rule once."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaRuleLocation
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from exhunt.detect.sigma.compile import compile_rule, sigma_message
from exhunt.detect.sigma.locate import error_line, find_line
from exhunt.detect.sigma.modifiers import install as install_modifiers
from exhunt.detect.sigma.rule import CompiledSigmaRule, describe_logsource
from exhunt.exceptions import RuleError

logger = logging.getLogger(__name__)

RULE_SUFFIXES = (".yml", ".yaml")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PLACEHOLDER = re.compile(r"%[^%\s]+%")

install_modifiers()


@dataclass(frozen=True, slots=True)
class RuleSetSummary:
    """Counts for a loaded rule set, with failures and inactive rules grouped by reason."""

    loaded: int
    active: int
    inactive: int
    failed: int
    failures: dict[str, int]
    inactive_logsources: dict[str, int]


@dataclass(frozen=True, slots=True)
class SigmaRuleSet:
    """Compiled Sigma rules (active and inactive) and the rule files that failed to load."""

    rules: list[CompiledSigmaRule]
    errors: list[RuleError] = field(default_factory=list)
    _by_artifact: dict[str, list[CompiledSigmaRule]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, list[CompiledSigmaRule]] = {}
        for rule in self.rules:
            for artifact in sorted(rule.artifacts):
                index.setdefault(artifact, []).append(rule)
        object.__setattr__(self, "_by_artifact", index)

    @property
    def inactive(self) -> list[CompiledSigmaRule]:
        """Rules whose log source maps to no artifact type (yet): loaded, never matched."""
        return [rule for rule in self.rules if not rule.artifacts]

    @property
    def artifacts(self) -> frozenset[str]:
        """Artifact types that at least one rule reads."""
        return frozenset(self._by_artifact)

    def for_artifact(self, artifact: str) -> list[CompiledSigmaRule]:
        """The rules that read records of ``artifact``, in load order."""
        return list(self._by_artifact.get(artifact, ()))

    def summary(self) -> RuleSetSummary:
        inactive = self.inactive
        return RuleSetSummary(
            loaded=len(self.rules),
            active=len(self.rules) - len(inactive),
            inactive=len(inactive),
            failed=len(self.errors),
            failures=dict(Counter(reason_group(error.reason) for error in self.errors)),
            inactive_logsources=dict(Counter(describe_logsource(r.logsource) for r in inactive)),
        )


def load_sigma_rules(paths: Iterable[Path], *, skip_invalid: bool = False) -> SigmaRuleSet:
    """Load and compile Sigma rules from files and folders (``*.yml``/``*.yaml``, recursive).

    Args:
        paths: Rule files or folders.
        skip_invalid: Collect invalid rules in ``errors`` instead of raising.

    Raises:
        RuleError: for the first invalid rule file (with its path and, where found, line),
            unless ``skip_invalid``.
    """
    rules: list[CompiledSigmaRule] = []
    errors: list[RuleError] = []
    ids: dict[str, Path] = {}
    for path in _rule_files(paths):
        try:
            loaded = _checked_ids(load_rule_file(path), ids)
        except RuleError as error:
            if not skip_invalid:
                raise
            logger.debug("skipped invalid Sigma rule: %s", error)
            errors.append(error)
            continue
        rules.extend(loaded)
    ruleset = SigmaRuleSet(rules, errors)
    summary = ruleset.summary()
    logger.info(
        "Sigma rules: %d loaded (%d active, %d inactive), %d failed",
        summary.loaded,
        summary.active,
        summary.inactive,
        summary.failed,
    )
    return ruleset


def load_rule_file(path: Path) -> list[CompiledSigmaRule]:
    """Compile every rule of one Sigma YAML file (several with ``action: global``/``repeat``).

    Raises:
        RuleError: when the file cannot be read, parsed or compiled.
    """
    text = _read(path)
    collection = _collection(_documents(text, path), path, text)
    return [compile_rule(rule, path, index, text) for index, rule in enumerate(collection)]


def reason_group(reason: str) -> str:
    """A failure reason with its quoted specifics (and placeholder names) elided, so that alike
    failures group."""
    return _PLACEHOLDER.sub("%…%", _QUOTED.sub("'…'", reason))


def _rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = (item for item in path.rglob("*") if item.suffix.lower() in RULE_SUFFIXES)
            yield from sorted(item for item in found if item.is_file())
        elif path.is_file():
            yield path
        else:
            raise RuleError("no such rule file or folder", str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"cannot read rule file: {error}", str(path)) from error


def _documents(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.load_all(text, Loader=SigmaYAMLLoader))
    except yaml.YAMLError as error:
        message = str(getattr(error, "problem", None) or error)
        raise RuleError(f"invalid YAML: {message}", str(path), error_line(text, error)) from error
    except RecursionError as error:
        raise RuleError("invalid YAML: nested too deeply", str(path)) from error
    if not any(document is not None for document in documents):
        raise RuleError("no Sigma rule in file", str(path))
    for document in documents:
        if document is not None and not isinstance(document, dict):
            raise RuleError("a Sigma rule must be a YAML mapping", str(path), 1)
    return documents


def _collection(documents: list[dict[str, Any]], path: Path, text: str) -> list[SigmaRule]:
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(path), resolve_references=False
        )
    except Exception as error:  # pySigma raises assorted types on malformed rule documents
        raise RuleError(sigma_message(error), str(path), error_line(text, error)) from error
    if collection.errors:
        first = collection.errors[0]
        raise RuleError(sigma_message(first), str(path), error_line(text, first))
    if collection.filters:
        raise RuleError("Sigma filters are not supported", str(path), find_line(text, "filter"))
    for rule in collection.rules:
        if isinstance(rule, SigmaCorrelationRule):
            line = find_line(text, "correlation")
            raise RuleError("correlation rules are not supported", str(path), line)
    return [rule for rule in collection.rules if isinstance(rule, SigmaRule)]


def _checked_ids(rules: list[CompiledSigmaRule], ids: dict[str, Path]) -> list[CompiledSigmaRule]:
    """Refuse a rule id already in use: a finding must name exactly one rule."""
    local: dict[str, Path] = {}
    for rule in rules:
        earlier = ids.get(rule.info.id) or local.get(rule.info.id)
        if earlier is not None:
            raise RuleError(f"duplicate rule id {rule.info.id} (also in {earlier})", str(rule.path))
        local[rule.info.id] = rule.path
    ids.update(local)
    return rules
