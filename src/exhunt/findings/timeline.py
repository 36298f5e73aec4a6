"""One timeline of every evidence record with a time, each pointing at its findings.

Several rules often judge the same record (an SSRF row is also from a listed address); the
timeline shows the record once, with the summary of its most telling hit.
"""

from __future__ import annotations

from collections.abc import Sequence

from exhunt.document import Finding, TimelineEntry
from exhunt.model import Hit

MAX_ENTRIES = 10_000


def build_timeline(correlated: Sequence[tuple[Finding, Sequence[Hit]]]) -> list[TimelineEntry]:
    best: dict[tuple[object, ...], tuple[Hit, list[str]]] = {}
    for finding, hits in correlated:
        for hit in hits:
            if hit.time is None:
                continue
            record = hit.record
            key = (record.source.path, record.line, record.record, hit.time)
            current = best.get(key)
            if current is None:
                best[key] = (hit, [finding.id])
                continue
            chosen, ids = current
            if finding.id not in ids:
                ids.append(finding.id)
            if _telling(hit) > _telling(chosen):
                best[key] = (hit, ids)
    entries = [
        TimelineEntry(
            time=hit.time,
            source=hit.record.source.artifact,
            summary=hit.summary,
            finding_ids=ids,
            path=hit.record.source.path,
            line=hit.record.line,
        )
        for hit, ids in best.values()
        if hit.time is not None
    ]
    entries.sort(key=lambda e: (e.time, e.path or "", e.line or 0))
    return entries[:MAX_ENTRIES]


def _telling(hit: Hit) -> tuple[bool, int, int]:
    """Checks and Sigma rules say more about a record than an indicator list does."""
    return (
        not hit.rule.id.startswith("exhunt.ioc."),
        hit.effective_category.stage,
        hit.effective_severity.rank,
    )
