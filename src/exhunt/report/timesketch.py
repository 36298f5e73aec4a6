"""The evidence events as a Timesketch timeline: JSON Lines, one event per line.

Timesketch needs ``message``, ``datetime`` (ISO-8601) and ``timestamp_desc`` in every event and
takes ``timestamp`` (microseconds since 1970) when present; every other field becomes a
searchable attribute (``finding_id:F1``, ``severity:critical``). Events without a time (a file
whose time could not be read) cannot be placed on a timeline and are left out; the CSV keeps
them. JSON escapes every non-ASCII and control character, so the values stay exact and inert.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from exhunt.document import ScanDocument
from exhunt.report.events import Event, build_events
from exhunt.report.formats import COMBINERS, FORMATS, RenderOptions

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@FORMATS.register("timesketch")
def render(document: ScanDocument, options: RenderOptions) -> str:
    return "".join(line + "\n" for line in iter_lines(document))


@COMBINERS.register("timesketch")
def render_many(documents: Sequence[ScanDocument], options: RenderOptions) -> str:
    return "".join(render(document, options) for document in documents)


def iter_lines(document: ScanDocument) -> list[str]:
    """One JSON object per timed evidence event."""
    events = build_events(document)
    timed = [event for event in events if event.time is not None]
    if len(timed) < len(events):
        log.info("%d evidence events without a time left out", len(events) - len(timed))
    return [json.dumps(event_fields(event)) for event in timed]


def event_fields(event: Event) -> dict[str, object]:
    """The event as Timesketch fields; lists stay lists (each value searchable on its own)."""
    return {
        "message": event.message,
        "datetime": iso_time(event.time),
        "timestamp": microseconds(event.time),
        "timestamp_desc": event.timestamp_desc,
        "data_type": event.data_type,
        "host": event.host,
        "source": event.source,
        "severity": event.severity.value,
        "category": event.category.value,
        "finding_id": list(event.finding_ids),
        "rule": list(event.rules),
        "path": event.path or "",
        "windows_path": event.windows_path or "",
        "line": event.line,
        "record": event.record,
        "indicators": list(event.indicators),
        "excerpt": event.excerpt or "",
    }


def iso_time(value: datetime | None) -> str:
    """ISO-8601 with an explicit ``+00:00``, the form Timesketch's examples use."""
    return value.astimezone(UTC).isoformat() if value else ""


def microseconds(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
