"""STIX 2.1: a scan's indicators and where they were sighted, as one bundle.

Built and validated with the ``stix2`` library (every object and pattern is checked as it is
made). The bundle holds:

- ``identity`` objects: exhunt (the producer) and each scanned server (``identity_class``
  ``system``: sightings must name an identity as the place seen);
- an ``indicator`` per attacker address (``ipv4-addr``/``ipv6-addr``), user agent
  (``network-traffic`` HTTP request header), web shell or tool hash (``file:hashes.'SHA-256'``),
  file path (``file:name`` and ``file:parent_directory_ref.path``) and web shell URL path
  (HTTP ``request_value``), from findings in the attack categories only;
- a ``sighting`` of each indicator per server: first and last seen, and ``count``, the evidence
  lines of the findings that list it;
- a ``note`` per finding (title, severity, category, CVEs, ATT&CK, evidence) pointing at the
  server and the finding's indicators, and a ``report`` per server with the verdict.

Identifiers are derived from the content (the same address is the same indicator id in every
bundle) and times from the scan, so rendering a saved document again gives the same bundle.
Patterns keep values exactly; names and descriptions are made visible (no control characters).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from exhunt.document import Finding, ScanDocument
from exhunt.report.escape import json_text, one_line
from exhunt.report.formats import COMBINERS, FORMATS, RenderOptions

NAMESPACE = uuid.UUID("33a2cef3-973e-4dff-be58-344204bfa8b3")
PRODUCER_TIME = datetime(2021, 3, 2, tzinfo=UTC)
MAX_COUNT = 999_999_999
_WINDOWS_PATH = re.compile(
    r"^(?P<dir>(?:[A-Za-z]:|\\\\[^\\]+\\[^\\]+)(?:\\[^\\]*)*)\\(?P<name>[^\\]+)$"
)
_SHA256 = re.compile(r"^[0-9A-Fa-f]{64}$")
_TECHNIQUE = re.compile(r"^T\d{4}(?:\.\d{3})?$")


@dataclass(frozen=True, slots=True)
class Observable:
    """An indicator's pattern and a readable name for it."""

    pattern: str
    name: str
    confidence: int
    """STIX confidence (0-100): hashes are exact, user agents are easily shared or faked."""


@dataclass(slots=True)
class Seen:
    """An observable on one server: the findings that list it."""

    observable: Observable
    findings: list[Finding] = field(default_factory=list)


@FORMATS.register("stix")
def render(document: ScanDocument, options: RenderOptions) -> str:
    return bundle_json([document])


@COMBINERS.register("stix")
def render_many(documents: Sequence[ScanDocument], options: RenderOptions) -> str:
    """One bundle for several servers: an indicator once, a sighting per server."""
    return bundle_json(documents)


def bundle_json(documents: Sequence[ScanDocument]) -> str:
    """The STIX 2.1 bundle of ``documents`` as pretty JSON (every non-ASCII escaped)."""
    bundle = build_bundle(documents)
    return json_text(bundle.serialize(pretty=True, ensure_ascii=True)) + "\n"


def build_bundle(documents: Sequence[ScanDocument]) -> Any:
    """A validated ``stix2.Bundle`` of the documents' indicators, sightings and findings."""
    import stix2  # type: ignore[import-untyped]  # 0.3 s to import: only when asked for

    producer = stix2.Identity(
        id=_id("identity", "exhunt"),
        name="exhunt",
        identity_class="system",
        description="Compromise assessment of Microsoft Exchange servers from evidence.",
        created=PRODUCER_TIME,
        modified=PRODUCER_TIME,
    )
    objects: list[Any] = [producer]
    indicators: dict[str, Any] = {}
    for document in documents:
        objects.extend(_server_objects(stix2, document, producer.id, indicators))
    bundle_id = _id("bundle", *(str(obj.id) for obj in objects))
    return stix2.Bundle(objects=_ordered(objects, indicators), id=bundle_id, allow_custom=False)


def _ordered(objects: list[Any], indicators: dict[str, Any]) -> list[Any]:
    """Identities first, then indicators, then what refers to them."""
    head = [obj for obj in objects if obj.type == "identity"]
    tail = [obj for obj in objects if obj.type != "identity"]
    return head + list(indicators.values()) + tail


def _server_objects(
    stix2: Any, document: ScanDocument, producer: str, indicators: dict[str, Any]
) -> list[Any]:
    stamp = _stamp(document)
    server = _server(stix2, document, producer, stamp)
    seen = sightings_of(document)
    for entry in seen.values():
        _add_indicator(stix2, indicators, entry, producer, stamp)
    sightings = [_sighting(stix2, server.id, indicators, e, producer, stamp) for e in seen.values()]
    notes = [_note(stix2, document, f, server.id, seen, indicators, producer, stamp)
             for f in document.findings]  # fmt: skip
    refs = [server.id, *(s.id for s in sightings), *(n.id for n in notes)]
    refs += [indicators[e.observable.pattern].id for e in seen.values()]
    report = stix2.Report(
        id=_id("report", str(server.id), str(stamp)),
        created_by_ref=producer,
        created=stamp,
        modified=stamp,
        name=one_line(f"exhunt: {_host(document)} {document.verdict.status.value}"),
        description=one_line(" ".join(document.verdict.reasons) or "No reasons given."),
        report_types=["observed-data", "indicator"],
        published=stamp,
        object_refs=refs,
    )
    return [server, *sightings, *notes, report]


def _server(stix2: Any, document: ScanDocument, producer: str, stamp: datetime) -> Any:
    ex = document.exchange
    build = " ".join(filter(None, (ex.product, ex.cu, f"({ex.build})" if ex.build else None)))
    evidence = document.evidence
    return stix2.Identity(
        id=_id("identity", "server", _host(document), evidence.path, evidence.sha256 or ""),
        created_by_ref=producer,
        created=stamp,
        modified=stamp,
        name=one_line(_host(document)),
        identity_class="system",
        description=one_line(f"Microsoft Exchange server: {build or 'build unknown'}"),
    )


def sightings_of(document: ScanDocument) -> dict[str, Seen]:
    """Every observable of the attack findings of ``document``, keyed by pattern."""
    seen: dict[str, Seen] = {}
    for finding in document.findings:
        if not finding.category.malicious:
            continue
        for observable in observables(finding):
            entry = seen.setdefault(observable.pattern, Seen(observable))
            if finding not in entry.findings:
                entry.findings.append(finding)
    return seen


def observables(finding: Finding) -> Iterator[Observable]:
    """The finding's indicators that a STIX pattern can express; others are left out."""
    found = finding.indicators
    for value in found.ips:
        yield from _address(value)
    for value in found.user_agents:
        yield Observable(
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
            f"{_quote(value)}]",
            f"User agent {value}",
            30,
        )
    for value in found.sha256:
        if _SHA256.match(value):
            pattern = f"[file:hashes.'SHA-256' = {_quote(value.lower())}]"
            yield Observable(pattern, f"SHA-256 {value}", 85)
    for value in found.paths:
        yield from _path(value)


def _address(value: str) -> Iterator[Observable]:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return
    kind = f"ipv{address.version}-addr"
    yield Observable(f"[{kind}:value = {_quote(str(address))}]", f"Address {address}", 60)


def _path(value: str) -> Iterator[Observable]:
    match = _WINDOWS_PATH.match(value)
    if match:
        folder = match["dir"] + ("\\" if match["dir"].endswith(":") else "")
        yield Observable(
            f"[file:name = {_quote(match['name'])} AND "
            f"file:parent_directory_ref.path = {_quote(folder)}]",
            f"File {value}",
            70,
        )
    elif value.startswith("/") and len(value) > 1:
        yield Observable(
            f"[network-traffic:extensions.'http-request-ext'.request_value = {_quote(value)}]",
            f"URL path {value}",
            60,
        )


def _quote(value: str) -> str:
    """A STIX pattern string literal: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _add_indicator(
    stix2: Any, indicators: dict[str, Any], entry: Seen, producer: str, stamp: datetime
) -> None:
    pattern = entry.observable.pattern
    first = _first(entry.findings, stamp)
    current = indicators.get(pattern)
    if current is not None and current.valid_from <= first:
        return
    indicators[pattern] = stix2.Indicator(
        id=_id("indicator", pattern),
        created_by_ref=producer,
        created=stamp,
        modified=stamp,
        name=one_line(entry.observable.name),
        indicator_types=["malicious-activity"],
        confidence=entry.observable.confidence,
        pattern=pattern,
        pattern_type="stix",
        pattern_version="2.1",
        valid_from=first,
    )


def _sighting(
    stix2: Any,
    server: str,
    indicators: dict[str, Any],
    entry: Seen,
    producer: str,
    stamp: datetime,
) -> Any:
    indicator = indicators[entry.observable.pattern].id
    ids = ", ".join(f.id for f in entry.findings)
    return stix2.Sighting(
        id=_id("sighting", str(indicator), server),
        created_by_ref=producer,
        created=stamp,
        modified=stamp,
        sighting_of_ref=indicator,
        where_sighted_refs=[server],
        first_seen=_first(entry.findings, stamp),
        last_seen=_last(entry.findings, stamp),
        count=min(sum(f.count for f in entry.findings), MAX_COUNT),
        description=one_line(f"Listed by findings {ids}"),
    )


def _note(
    stix2: Any,
    document: ScanDocument,
    finding: Finding,
    server: str,
    seen: dict[str, Seen],
    indicators: dict[str, Any],
    producer: str,
    stamp: datetime,
) -> Any:
    refs = [server] + [
        indicators[pattern].id for pattern, entry in seen.items() if finding in entry.findings
    ]
    return stix2.Note(
        id=_id("note", server, finding.id),
        created_by_ref=producer,
        created=stamp,
        modified=stamp,
        abstract=one_line(f"{finding.id} [{finding.severity.value}] {finding.title}"),
        content=_note_content(finding),
        object_refs=refs,
        external_references=_references(finding) or None,
    )


def _note_content(finding: Finding) -> str:
    lines = [
        f"{finding.title} ({finding.severity.value}, {finding.category.value})",
        f"Rule {finding.rule}; {finding.count} evidence lines.",
    ]
    if finding.first_seen:
        lines.append(f"Seen {_iso(finding.first_seen)} to {_iso(finding.last_seen)}.")
    if finding.description:
        lines.append(finding.description)
    lines += [_where(e.path, e.line) for e in finding.evidence[:20]]
    return "\n".join(one_line(line) for line in lines)


def _references(finding: Finding) -> list[dict[str, str]]:
    refs = [{"source_name": "cve", "external_id": one_line(cve)} for cve in finding.cves]
    for technique in finding.attack:
        if _TECHNIQUE.match(technique):
            url = "https://attack.mitre.org/techniques/" + technique.replace(".", "/") + "/"
            refs.append({"source_name": "mitre-attack", "external_id": technique, "url": url})
    return refs


def _where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def _first(findings: Sequence[Finding], stamp: datetime) -> datetime:
    return min((f.first_seen for f in findings if f.first_seen), default=stamp)


def _last(findings: Sequence[Finding], stamp: datetime) -> datetime:
    first = _first(findings, stamp)
    return max([first, *(f.last_seen for f in findings if f.last_seen)])


def _stamp(document: ScanDocument) -> datetime:
    """When the document was made: the scan's end, else its latest time."""
    if document.scan is not None:
        return document.scan.finished
    times = [f.last_seen for f in document.findings if f.last_seen]
    times += [a.last for a in document.coverage.artifacts if a.last]
    return max(times, default=PRODUCER_TIME)


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else "?"


def _host(document: ScanDocument) -> str:
    return document.evidence.host or document.evidence.path


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, chr(0).join(parts))}"
