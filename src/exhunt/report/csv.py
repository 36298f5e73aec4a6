"""The evidence events as a CSV timeline: one row per log line, record or file.

The columns include Timesketch's ``message``, ``datetime`` and ``timestamp_desc``, so the file
imports there as it is. Every text cell is made safe for spreadsheets: control characters
and direction overrides are written as visible escapes, and a cell that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``) starts with a quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from exhunt.document import ScanDocument
from exhunt.report.escape import cell
from exhunt.report.events import Event, build_events
from exhunt.report.formats import COMBINERS, FORMATS, RenderOptions
from exhunt.report.timesketch import iso_time, microseconds

COLUMNS = (
    "datetime",
    "timestamp",
    "timestamp_desc",
    "message",
    "host",
    "data_type",
    "source",
    "severity",
    "category",
    "finding_id",
    "rule",
    "path",
    "windows_path",
    "line",
    "record",
    "indicators",
    "excerpt",
)
LIST_SEPARATOR = " | "


@FORMATS.register("csv")
def render(document: ScanDocument, options: RenderOptions) -> str:
    return render_many([document], options)


@COMBINERS.register("csv")
def render_many(documents: Sequence[ScanDocument], options: RenderOptions) -> str:
    """One header, then the rows of every document (the ``host`` column tells them apart)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for document in documents:
        writer.writerows(row(event) for event in build_events(document))
    return out.getvalue()


def row(event: Event) -> list[str]:
    """The event's cells in ``COLUMNS`` order; numbers as numbers, text made safe."""
    stamp = microseconds(event.time)
    return [
        iso_time(event.time),
        "" if stamp is None else str(stamp),
        event.timestamp_desc,
        cell(event.message),
        cell(event.host),
        cell(event.data_type),
        cell(event.source),
        event.severity.value,
        event.category.value,
        cell(LIST_SEPARATOR.join(event.finding_ids)),
        cell(LIST_SEPARATOR.join(event.rules)),
        cell(event.path or ""),
        cell(event.windows_path or ""),
        "" if event.line is None else str(event.line),
        "" if event.record is None else str(event.record),
        cell(LIST_SEPARATOR.join(event.indicators)),
        cell(event.excerpt or ""),
    ]
