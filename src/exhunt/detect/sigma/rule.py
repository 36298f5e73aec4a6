"""One compiled Sigma rule: its metadata, the artifacts it reads, a predicate and literals each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from exhunt.detect.sigma.ir import Node
from exhunt.detect.sigma.literals import Literals, node_literals
from exhunt.detect.sigma.logsources import artifacts_for
from exhunt.detect.sigma.predicates import build_predicate
from exhunt.model import Record, RuleInfo


class CompiledSigmaRule:
    """A Sigma rule compiled for matching; cheap to call, built once per process.

    Attributes:
        info: What findings say about the rule.
        path: The rule file.
        exhunt: The rule's ``exhunt:`` mapping (``category``, ``group``...), empty without one.
        logsource: The rule's ``product``, ``category`` and ``service`` (lower-case).
        artifacts: The artifact types whose records the rule reads; empty when its log source
            maps to none yet (the rule is then inactive).
    """

    __slots__ = (
        "_literals",
        "_predicates",
        "_tree",
        "artifacts",
        "exhunt",
        "info",
        "logsource",
        "path",
    )

    def __init__(
        self,
        info: RuleInfo,
        path: Path,
        exhunt: Mapping[str, Any],
        logsource: Mapping[str, str | None],
        tree: Node,
    ) -> None:
        self.info = info
        self.path = path
        self.exhunt = exhunt
        self.logsource = logsource
        self.artifacts = artifacts_for(logsource)
        self._tree = tree
        self._predicates: dict[str, Callable[[Record], bool]] = {
            artifact: build_predicate(tree, artifact) for artifact in self.artifacts
        }
        self._literals = {artifact: node_literals(tree, artifact) for artifact in self.artifacts}

    @property
    def active(self) -> bool:
        return bool(self.artifacts)

    @property
    def inactive_reason(self) -> str | None:
        """Why the rule reads no records (``None`` for an active rule)."""
        if self.artifacts:
            return None
        return f"no matching log source ({describe_logsource(self.logsource)})"

    def literals(self, artifact: str) -> Literals:
        """Lower-case literals one of which is in the raw line of every record this rule matches.

        ``None`` means no such set is known: the rule needs every line of ``artifact``. For an
        artifact the rule does not read the set is empty: no line can match.
        """
        if artifact not in self._literals:
            return frozenset()
        return self._literals[artifact]

    def matches(self, record: Record) -> bool:
        """Whether the rule's detection matches ``record``."""
        predicate = self._predicates.get(record.source.artifact)
        return predicate is not None and predicate(record)

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; the tree does, and rebuilds them in the receiving process.
        arguments = (self.info, self.path, dict(self.exhunt), dict(self.logsource), self._tree)
        return (CompiledSigmaRule, arguments)

    def __repr__(self) -> str:
        return f"<CompiledSigmaRule {self.info.id} {self.info.title!r} {sorted(self.artifacts)}>"


def describe_logsource(logsource: Mapping[str, str | None]) -> str:
    """``product=windows, category=process_creation`` (or ``none``)."""
    parts = [f"{key}={value}" for key, value in logsource.items() if value]
    return ", ".join(parts) or "none"
