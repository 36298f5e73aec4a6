"""One compiled Sigma rule: its metadata, the artifacts it reads, a predicate and literals each.

The predicate of an artifact type is the rule's detection under each log source variant that
selects that type (:func:`~.logsources.variants_for`), joined with the variant's record
condition: for ``process_creation`` on ``evtx``, *(Sysmon channel and event 1 and the detection
with Sysmon names) or (Security channel and event 4688 and the detection with 4688 names)*. The
literals are the detection's alone, under each variant's field table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from exhunt.detect.sigma.ir import AllOf, Match, Node, Text
from exhunt.detect.sigma.literals import Literals, any_of, node_literals
from exhunt.detect.sigma.logsources import LogsourceRule, variants_for
from exhunt.detect.sigma.predicates import Predicate, build_predicate
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
        variants = variants_for(logsource)
        self.artifacts = frozenset(variant.artifact for variant in variants)
        self._tree = tree
        self._predicates: dict[str, Callable[[Record], bool]] = {}
        self._literals: dict[str, Literals] = {}
        for artifact in self.artifacts:
            mine = [variant for variant in variants if variant.artifact == artifact]
            self._predicates[artifact] = _any_variant([_variant(v, tree) for v in mine])
            self._literals[artifact] = any_of(node_literals(tree, v.field_table) for v in mine)

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


def condition_node(variant: LogsourceRule) -> Node | None:
    """A log source variant's record condition as a detection tree (``None``: no condition)."""
    matches = tuple(
        Match(name, tuple(Text((value,)) for value in values)) for name, values in variant.where
    )
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else AllOf(matches)


def _variant(variant: LogsourceRule, tree: Node) -> Predicate:
    detection = build_predicate(tree, variant.field_table)
    condition = condition_node(variant)
    if condition is None:
        return detection
    # The condition's exact channel and event id tests are cheap and usually fail: run them first.
    check = build_predicate(condition, variant.field_table)
    return lambda record: check(record) and detection(record)


def _any_variant(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    alternatives = tuple(predicates)
    return lambda record: any(predicate(record) for predicate in alternatives)


def describe_logsource(logsource: Mapping[str, str | None]) -> str:
    """``product=windows, category=process_creation`` (or ``none``)."""
    parts = [f"{key}={value}" for key, value in logsource.items() if value]
    return ", ".join(parts) or "none"
