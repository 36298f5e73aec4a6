"""Sigma rules as record rules: the compiled predicate decides, the hit says why."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import RecordRule
from exhunt.model import Hit, Record

if TYPE_CHECKING:
    from exhunt.detect.sigma import CompiledSigmaRule


class SigmaRecordRule(RecordRule):
    """Adapter: a compiled Sigma rule, with the ``exhunt:`` custom field read once.

    The custom field of our bundled rules may set ``group`` (attack family for correlation),
    ``tags`` (facts for chain classifiers), ``link`` (``client`` by default; ``url`` joins every
    client's requests for one URL; ``none`` joins the family's chain by time) and ``category``.
    """

    def __init__(self, compiled: CompiledSigmaRule) -> None:
        self.compiled = compiled
        self.info = compiled.info
        self.artifacts = compiled.artifacts
        extra = compiled.exhunt or {}
        self._group = str(extra["group"]) if extra.get("group") else None
        self._tags = tuple(str(tag) for tag in _as_list(extra.get("tags")))
        self._link = str(extra.get("link") or "client").lower()

    def literals(self, artifact: str) -> frozenset[str] | None:
        return self.compiled.literals(artifact)

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        if self.compiled.matches(record):
            hit = make_hit(self.info, record, group=self._group, tags=self._tags)
            if self._link == "none":
                hit = replace(hit, link=None)
            elif self._link == "url" and hit.indicators.urls:
                hit = replace(hit, link=hit.indicators.urls[0].split("?")[0].lower())
            yield hit


def _as_list(value: object) -> Iterable[object]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    return (value,)
