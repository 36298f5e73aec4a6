"""MISP exports (JSON events and CSV attributes) as indicator feeds, read without pymisp.

MISP's JSON export is an event (``{"Event": {...}}``), a list of them, or the REST search
answer (``{"response": [...]}`` of events or ``{"response": {"Attribute": [...]}}``). Each event
holds ``Attribute`` entries and ``Object`` entries with their own attributes. The CSV export
has one attribute per row (``uuid,event_id,category,type,value,comment,to_ids,date,...``).

| MISP type | exhunt type |
|---|---|
| ``ip-src``, ``ip-dst`` (and ``|port``) | ``ipv4`` / ``ipv6`` |
| ``md5``, ``sha1``, ``sha256`` | the hash |
| ``filename`` | ``filename``, or ``path`` when it holds a folder |
| ``filename|md5`` / ``|sha1`` / ``|sha256`` | the hash, and the name at ``low`` confidence |
| ``user-agent`` | ``user-agent`` |
| ``url``, ``uri`` | ``url-fragment`` (path and query) |

Attributes without the IDS flag (``to_ids`` false: context, not for detection) and file names
inside an object that also has a hash become ``low`` confidence. Deleted attributes are
skipped, and so are types exhunt has no matcher for (domains, e-mail addresses, ...).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from exhunt.detect.feeds import Origin, Provenance, make_indicator, report_skipped
from exhunt.detect.ioc import Indicator
from exhunt.exceptions import RuleError

TYPES = {
    "ip-src": ("ip",),
    "ip-dst": ("ip",),
    "ip-src|port": ("ip", None),
    "ip-dst|port": ("ip", None),
    "md5": ("md5",),
    "sha1": ("sha1",),
    "sha256": ("sha256",),
    "filename": ("file",),
    "filename|md5": ("file", "md5"),
    "filename|sha1": ("file", "sha1"),
    "filename|sha256": ("file", "sha256"),
    "user-agent": ("user-agent",),
    "url": ("url",),
    "uri": ("url",),
}
_HASH_TYPES = frozenset(
    {"md5", "sha1", "sha256", "filename|md5", "filename|sha1", "filename|sha256"}
)


def is_misp_json(data: Any) -> bool:
    if isinstance(data, list):
        return bool(data) and all(isinstance(item, dict) and "Event" in item for item in data)
    if not isinstance(data, dict):
        return False
    return "Event" in data or "response" in data or ("Attribute" in data and "info" in data)


def read_misp_json(data: Any, path: Path) -> list[Indicator]:
    """The indicators of every event (and attribute list) in a MISP JSON export.

    Raises:
        RuleError: a malformed attribute, named by file and attribute uuid.
    """
    skipped: Counter[str] = Counter()
    found = [
        indicator
        for event in _events(data, path)
        for indicator in _event_indicators(event, path, skipped)
    ]
    report_skipped(path, skipped)
    return found


def read_misp_csv(path: Path) -> list[Indicator]:
    """The indicators of a MISP CSV attribute export.

    Raises:
        RuleError: a malformed row, named by file and line.
    """
    skipped: Counter[str] = Counter()
    found: list[Indicator] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            origin = Origin(path, line=reader.line_num)
            event = row.get("event_id") or row.get("event_uuid") or ""
            provenance = Provenance(
                source="MISP",
                reference=f"MISP event {event}".strip(),
                confidence="high" if _flag(row.get("to_ids")) else "low",
                note=(row.get("comment") or "").strip(),
            )
            found.extend(_attribute(row, origin, provenance, skipped, in_hashed_object=False))
    report_skipped(path, skipped)
    return found


def _events(data: Any, path: Path) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _events(item, path)
        return
    if not isinstance(data, dict):
        raise RuleError("a MISP export holds events (objects), not plain values", str(path))
    if "response" in data:
        yield from _events(data["response"], path)
    elif "Event" in data:
        event = data["Event"]
        if not isinstance(event, dict):
            raise RuleError("a MISP Event is not an object", str(path))
        yield event
    elif "Attribute" in data:
        yield data


def _event_indicators(
    event: dict[str, Any], path: Path, skipped: Counter[str]
) -> Iterator[Indicator]:
    provenance = _provenance(event)
    for attribute in _list(event.get("Attribute")):
        yield from _json_attribute(attribute, path, provenance, skipped, hashed=False)
    for obj in _list(event.get("Object")):
        attributes = _list(obj.get("Attribute"))
        hashed = any(a.get("type") in _HASH_TYPES for a in attributes)
        for attribute in attributes:
            yield from _json_attribute(attribute, path, provenance, skipped, hashed=hashed)


def _json_attribute(
    attribute: dict[str, Any],
    path: Path,
    provenance: Provenance,
    skipped: Counter[str],
    hashed: bool,
) -> Iterator[Indicator]:
    if _flag(attribute.get("deleted")):
        return
    name = attribute.get("uuid") or attribute.get("id") or "attribute without uuid"
    origin = Origin(path, object_id=f"attribute {name}")
    note = str(attribute.get("comment") or "").strip() or provenance.note
    confidence = "high" if _flag(attribute.get("to_ids")) else "low"
    own = replace(provenance, confidence=confidence, note=note)
    yield from _attribute(attribute, origin, own, skipped, in_hashed_object=hashed)


def _attribute(
    attribute: dict[str, Any],
    origin: Origin,
    provenance: Provenance,
    skipped: Counter[str],
    in_hashed_object: bool,
) -> Iterator[Indicator]:
    misp_type = str(attribute.get("type") or "").strip().lower()
    kinds = TYPES.get(misp_type)
    if kinds is None:
        skipped[misp_type or "untyped"] += 1
        return
    value = str(attribute.get("value") or "")
    values = value.split("|", 1) if len(kinds) == 2 else [value]
    if len(values) != len(kinds):
        raise origin.error(f"{misp_type} value must be two parts joined by '|': {value!r}")
    for kind, part in zip(kinds, values, strict=True):
        if kind is None:
            continue
        loose = kind == "file" and (len(kinds) == 2 or in_hashed_object)
        own = replace(provenance, confidence="low") if loose else provenance
        indicator = make_indicator(kind, part, origin, own)
        if indicator is None:
            skipped[misp_type] += 1
        else:
            yield indicator


def _provenance(event: dict[str, Any]) -> Provenance:
    org = event.get("Orgc") or event.get("Org") or {}
    source = str(org.get("name") or "MISP") if isinstance(org, dict) else "MISP"
    event_id = event.get("uuid") or event.get("id") or ""
    return Provenance(
        source=source,
        reference=f"MISP event {event_id}".strip(),
        note=str(event.get("info") or "").strip(),
    )


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _flag(value: Any) -> bool:
    """MISP writes booleans as true/false, 1/0 or "1"/"0" depending on version and format."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
