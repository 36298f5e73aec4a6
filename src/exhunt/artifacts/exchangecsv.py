"""Exchange's own CSV logs: the common reader for HttpProxy, ECP, OAB generator and Rps logs.

Exchange writes these with a plain row of column names as the first line, then a ``#``
preamble (``#Software``, ``#Version``, ``#Log-type``, ``#Date``, ``#Fields``), then
comma-separated rows. Values holding commas or quotes are quoted with doubled inner quotes.
The column list grows across cumulative updates (the HttpProxy log has 70 columns in older
builds and 74 in newer ones), so rows are read by the file's own header, never by position.

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1 (reads them with Import-Csv)
    Qazeer/artefacts.help pages/others/microsoft_exchange.md
"""

from __future__ import annotations

import csv
import functools
import re
from typing import TYPE_CHECKING, ClassVar

from exhunt.artifacts.base import HeaderState, LineLog, ParsedLine
from exhunt.timeutil import parse_time

if TYPE_CHECKING:
    from exhunt.evidence import EvidenceFile


class ExchangeCsvLog(LineLog):
    """Base of Exchange CSV logs; subclasses say how to recognise theirs."""

    log_types: ClassVar[tuple[bytes, ...]] = ()
    """Values of ``#Log-type:`` that identify the log."""
    path_hints: ClassVar[tuple[str, ...]] = ()
    """Lower-case path fragments of the log's default folder."""
    time_field: ClassVar[str] = "DateTime"
    header_prefixes: ClassVar[tuple[bytes, ...]] = (b"DateTime,",)

    @classmethod
    def claims(cls, file: EvidenceFile, head: bytes) -> int:
        for log_type in cls.log_types:
            if b"#Log-type: " + log_type in head:
                return 100
        path = "/" + file.rel.lower()
        if any(hint in path for hint in cls.path_hints):
            # In its own folder a damaged file is still this log: read it and count its damage.
            return 60 if _looks_like_csv_log(head) else 20
        return 0

    def split_field_names(self, value: str) -> tuple[str, ...]:
        return _field_names(value)

    def set_fields(self, state: HeaderState, names: tuple[str, ...]) -> None:
        state.fields = names
        state.header_prefix = (names[0] + ",").encode() if names and names[0] else None

    def header_row(self, state: HeaderState, line: str) -> bool:
        names = self.split_field_names(line)
        if state.fields is not None and names == state.fields:
            return True
        if names and names[0] == self.time_field and len(names) > 2:
            self.set_fields(state, names)
            return True
        return False

    def parse(self, state: HeaderState, line: str) -> ParsedLine:
        values = _split_csv(line)
        names = state.fields
        if names is None:
            return ParsedLine({"line": line}, None, "no header line before this record")
        error = None
        if len(values) != len(names):
            error = f"{len(values)} values for {len(names)} fields"
            values = _fit(values, len(names))
        fields = dict(zip(names, values, strict=True))
        self.expand(fields)
        time_text = fields.get(self.time_field, "")
        try:
            time = parse_time(time_text) if time_text else None
        except ValueError:
            return ParsedLine(fields, None, error or f"bad time {time_text[:40]!r}")
        if time is None:
            error = error or "no time"
        return ParsedLine(fields, time, error)

    def expand(self, fields: dict[str, str]) -> None:
        """Add fields derived from packed columns (the ECP log's EventData, for example)."""


_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')


@functools.lru_cache(maxsize=64)
def _field_names(value: str) -> tuple[str, ...]:
    """Column names of a header; cached, since every hourly file repeats the same one."""
    return tuple(name.strip() for name in value.split(","))


def _split_csv(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    try:
        return next(csv.reader([line], strict=False))
    except csv.Error:
        # A field over the csv module's size limit (128 KiB) or a bare CR outside quotes.
        return _split_quoted(line)


def _split_quoted(line: str) -> list[str]:
    """Split like the csv module, without its limits; text after a closing quote is kept."""
    values: list[str] = []
    pos = 0
    while True:
        match = _QUOTED.match(line, pos)
        end = line.find(",", match.end() if match else pos)
        stop = len(line) if end == -1 else end
        if match:
            values.append(match.group(1).replace('""', '"') + line[match.end() : stop])
        else:
            values.append(line[pos:stop])
        if end == -1:
            return values
        pos = end + 1


def _fit(values: list[str], count: int) -> list[str]:
    if len(values) < count:
        return values + [""] * (count - len(values))
    return [*values[: count - 1], ",".join(values[count - 1 :])]


def _looks_like_csv_log(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf")
    return text.startswith((b"#", b"DateTime,", b"TimeStamp,", b"date-time,")) or (
        text[:4].isdigit() and b"," in text[:64]
    )
