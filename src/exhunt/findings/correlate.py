"""From hits to findings: one finding per request, session or attack chain.

Hits are joined when they describe the same request or session (``req:``/``canary:``/``url:``
keys), or when they belong to the same attack family (``group``) from the same client or on the
same object (``link``). A hit without a link (an ECP command, an OAB log line) joins the chain
of its family whose time span it falls in, else the other unlinked hits of its family. Each
joined set becomes one finding that lists every supporting location; a chain classifier of the
family, where one is registered, decides what the chain amounts to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from exhunt.detect.rules import CLASSIFIERS, ChainFacts, Classification
from exhunt.document import EvidenceLocation, Finding, FindingIndicators
from exhunt.model import Category, Hit, Severity

ANNOTATION = "ioc"
"""Tag of hits that annotate a request (indicator matches) rather than judge it."""
ATTACH_WINDOW = timedelta(minutes=10)
"""How close to a chain an unlinked hit of the same family must be to join it."""
MAX_EVIDENCE = 1000
MAX_INDICATORS = 100


class _Union:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def correlate(hits: Sequence[Hit], facts: ChainFacts) -> list[tuple[Finding, list[Hit]]]:
    """Join related hits; each joined set becomes a finding (most severe first) with its hits."""
    ordered = sorted(hits, key=_time_key)
    union = _Union(len(ordered))
    primary = [i for i, hit in enumerate(ordered) if ANNOTATION not in hit.tags]
    _join_by(union, ordered, primary, lambda hit: hit.keys)
    _join_by(union, ordered, primary, _family_link)
    loose = _annotate(union, ordered, primary)
    _join_by(union, ordered, loose, lambda hit: hit.keys)
    _join_by(union, ordered, loose, _family_link)
    _attach_unlinked(union, ordered)
    components: dict[int, list[Hit]] = defaultdict(list)
    for index, hit in enumerate(ordered):
        components[union.find(index)].append(hit)
    findings = _merge_alike([(_finding(group, facts), group) for group in components.values()])
    findings.sort(
        key=lambda p: (-p[0].severity.rank, -p[0].category.stage, _first(p[0]), p[0].title)
    )
    return [
        (finding.model_copy(update={"id": f"F{n}"}), group)
        for n, (finding, group) in enumerate(findings, start=1)
    ]


MERGED = frozenset({Category.ATTEMPT, Category.INFORMATIONAL})


def _merge_alike(pairs: list[tuple[Finding, list[Hit]]]) -> list[tuple[Finding, list[Hit]]]:
    """One finding for many alike failed attempts (a scanning campaign from many addresses).

    Successful chains stay one finding each; attempts and informational findings with the same
    rule, title, category and severity become one, listing every address and line.
    """
    alike: dict[tuple[str, str, Category, Severity], list[tuple[Finding, list[Hit]]]] = {}
    kept: list[tuple[Finding, list[Hit]]] = []
    for finding, hits in pairs:
        if finding.category in MERGED:
            key = (finding.rule, finding.title, finding.category, finding.severity)
            alike.setdefault(key, []).append((finding, hits))
        else:
            kept.append((finding, hits))
    for group in alike.values():
        kept.append(group[0] if len(group) == 1 else _merged(group))
    return kept


def _merged(group: list[tuple[Finding, list[Hit]]]) -> tuple[Finding, list[Hit]]:
    findings = [finding for finding, _ in group]
    hits = [hit for _, part in group for hit in part]
    firsts = [f.first_seen for f in findings if f.first_seen]
    lasts = [f.last_seen for f in findings if f.last_seen]
    evidence = sorted(
        (e for f in findings for e in f.evidence), key=lambda e: (e.time is None, e.time or 0)
    )
    head = findings[0]
    merged = head.model_copy(
        update={
            "first_seen": min(firsts) if firsts else None,
            "last_seen": max(lasts) if lasts else None,
            "count": sum(f.count for f in findings),
            "evidence": evidence[:MAX_EVIDENCE],
            "indicators": _indicators(hits),
            "cves": _union(f.cves for f in findings),
            "attack": _union(f.attack for f in findings),
            "rules": _union(f.rules for f in findings),
            "description": f"{head.description} Seen {len(findings)} times.".strip(),
        }
    )
    return merged, hits


def _family_link(hit: Hit) -> list[str]:
    return [f"{hit.group}\0{hit.link}"] if hit.link else []


def _join_by(
    union: _Union,
    hits: Sequence[Hit],
    indexes: Iterable[int],
    keys_of: Callable[[Hit], Iterable[str]],
) -> None:
    first: dict[str, int] = {}
    for index in indexes:
        for key in keys_of(hits[index]):
            if key in first:
                union.join(first[key], index)
            else:
                first[key] = index


def _annotate(union: _Union, hits: Sequence[Hit], primary: Sequence[int]) -> list[int]:
    """Attach indicator hits to the finding of the request they describe; return the rest.

    An indicator match (a listed address, user agent) says something about a request; it must
    not bridge two findings that merely share the attacker's address.
    """
    owner: dict[str, int] = {}
    for index in primary:
        for key in hits[index].keys:
            owner.setdefault(key, index)
    loose = []
    for index, hit in enumerate(hits):
        if ANNOTATION not in hit.tags:
            continue
        owners = [owner[key] for key in sorted(hit.keys) if key in owner]
        if owners:
            union.join(owners[0], index)
        else:
            loose.append(index)
    return loose


def _attach_unlinked(union: _Union, hits: Sequence[Hit]) -> None:
    spans: dict[int, tuple[datetime, datetime, frozenset[str]]] = {}
    for index, hit in enumerate(hits):
        if hit.link and hit.time is not None:
            root = union.find(index)
            low, high, groups = spans.get(root, (hit.time, hit.time, frozenset()))
            spans[root] = (min(low, hit.time), max(high, hit.time), groups | {hit.group})
    bucket: dict[tuple[str, str], int] = {}
    for index, hit in enumerate(hits):
        if hit.link:
            continue
        target = _nearest_chain(hit, spans)
        if target is None:
            target = bucket.setdefault((hit.group, hit.rule.id), index)
        union.join(target, index)


def _nearest_chain(
    hit: Hit, spans: dict[int, tuple[datetime, datetime, frozenset[str]]]
) -> int | None:
    if hit.time is None:
        return None
    best: tuple[timedelta, int] | None = None
    for root, (low, high, groups) in spans.items():
        if hit.group not in groups:
            continue
        if low - ATTACH_WINDOW <= hit.time <= high + ATTACH_WINDOW:
            distance = max(low - hit.time, hit.time - high, timedelta(0))
            if best is None or distance < best[0]:
                best = (distance, root)
    return best[1] if best else None


def _finding(hits: list[Hit], facts: ChainFacts) -> Finding:
    headline = max(hits, key=_weight)
    classified = _classify(hits, facts)
    category = headline.effective_category
    severity = max((hit.effective_severity for hit in hits), key=lambda s: s.rank)
    title = headline.rule.title
    description = headline.rule.description
    rule = headline.rule.id
    extra_cves: tuple[str, ...] = ()
    if classified is not None:
        category, severity, title = classified.category, classified.severity, classified.title
        rule = classified.rule or rule
        extra_cves = classified.cves
        if classified.reason:
            description = f"{description} {classified.reason}.".strip()
    times = [hit.time for hit in hits if hit.time is not None]
    evidence = _locations(hits)
    return Finding(
        id="",
        rule=rule,
        title=title,
        severity=severity,
        category=category,
        cves=_union([*(hit.rule.cves for hit in hits), extra_cves]),
        attack=_union(hit.rule.attack for hit in hits),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        count=len(evidence),
        evidence=evidence[:MAX_EVIDENCE],
        indicators=_indicators(hits),
        description=description,
        rules=_union([hit.rule.id] for hit in hits),
    )


def _classify(hits: list[Hit], facts: ChainFacts) -> Classification | None:
    """The most serious verdict of the chain classifiers of the families present."""
    results: list[Classification] = []
    classified_groups = set()
    for group in sorted({hit.group for hit in hits}):
        try:
            classifier = CLASSIFIERS.get(group)
        except KeyError:
            continue
        family = [hit for hit in hits if hit.group == group]
        result = classifier(family, facts)
        if result is not None:
            results.append(result)
            classified_groups.add(group)
    others = [hit for hit in hits if hit.group not in classified_groups]
    if others:
        results.append(_default_classification(others, facts))
    if not results:
        return None
    return max(results, key=lambda c: (c.category.stage, c.severity.rank))


def _default_classification(hits: list[Hit], facts: ChainFacts) -> Classification:
    """Headline of unclassified hits; an attempt on CVEs the build had fixed is informational."""
    headline = max(hits, key=_weight)
    severity = max((hit.effective_severity for hit in hits), key=lambda s: s.rank)
    category = headline.effective_category
    if category in (Category.ATTEMPT, Category.EXPLOITATION) and _all_fixed(hits, facts):
        return Classification(
            Category.INFORMATIONAL,
            Severity.LOW,
            f"{headline.rule.title} (against a build that already had the fix)",
            "the build running at the time was not vulnerable, so the attempt could not work",
        )
    return Classification(category, severity, headline.rule.title)


def _all_fixed(hits: list[Hit], facts: ChainFacts) -> bool:
    states = [facts.exposed(cve, hit.record) for hit in hits for cve in hit.rule.cves]
    return bool(states) and all(state is False for state in states)


def _weight(hit: Hit) -> tuple[int, int]:
    return hit.effective_category.stage, hit.effective_severity.rank


def _time_key(hit: Hit) -> tuple[int, datetime | str, str, int]:
    time = hit.time
    return (0, time, hit.record.source.path, hit.record.line or 0) if time else (
        1, "", hit.record.source.path, hit.record.line or 0)  # fmt: skip


def _first(finding: Finding) -> str:
    return finding.first_seen.isoformat() if finding.first_seen else "~"


def _union(groups: Iterable[Iterable[str]]) -> list[str]:
    return sorted({item for group in groups for item in group if item})


def _locations(hits: list[Hit]) -> list[EvidenceLocation]:
    seen: dict[tuple[str, int | None, int | None], EvidenceLocation] = {}
    for hit in hits:
        record = hit.record
        key = (record.source.path, record.line, record.record)
        if key in seen:
            continue
        seen[key] = EvidenceLocation(
            path=record.source.path,
            windows_path=record.source.windows_path,
            line=record.line,
            record=record.record,
            time=record.time,
            excerpt=(record.raw or hit.summary)[:500],
            artifact=record.source.artifact,
            rule=hit.rule.id,
        )
    return list(seen.values())


def _indicators(hits: list[Hit]) -> FindingIndicators:
    def pick(values: Iterable[str]) -> list[str]:
        return sorted(set(values))[:MAX_INDICATORS]

    return FindingIndicators(
        ips=pick(ip for hit in hits for ip in hit.indicators.ips),
        user_agents=pick(ua for hit in hits for ua in hit.indicators.user_agents),
        urls=pick(url for hit in hits for url in hit.indicators.urls),
        paths=pick(path for hit in hits for path in hit.indicators.paths if path),
        sha256=pick(sha for hit in hits for sha in hit.indicators.sha256 if sha),
        accounts=pick(acc for hit in hits for acc in hit.indicators.accounts),
    )
