"""The fleet manifest: one row per server, as CSV or JSON Lines.

CSV has a header row naming the columns ``organisation``, ``host`` and ``evidence`` (also
``organization``/``org``, ``hostname``/``server``, ``path``/``uri``), an optional ``labels``
column (``key=value;key=value``) and any other columns, which become labels too. JSON Lines has
one object per line with the same keys; ``labels`` may be an object. Blank lines and lines
starting with ``#`` are skipped. ``evidence`` is a path (relative paths are taken from the
manifest's folder) or a ``file://`` URI.

A bad row (a missing field, a duplicate, a line that does not parse) is reported with its line
number and left out; it never stops the others.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from exhunt.exceptions import FleetError

REQUIRED = ("organisation", "host", "evidence")
_ALIASES = {
    "organisation": "organisation", "organization": "organisation", "org": "organisation",
    "host": "host", "hostname": "host", "server": "host",
    "evidence": "evidence", "path": "evidence", "uri": "evidence",
    "labels": "labels",
}  # fmt: skip
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


@dataclass(frozen=True, slots=True)
class ManifestRow:
    line: int
    organisation: str
    host: str
    evidence: str
    """An absolute path (or the location as given, for evidence shipped from elsewhere)."""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.organisation, self.host, self.evidence)


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Manifest:
    path: str
    rows: tuple[ManifestRow, ...]
    bad: tuple[BadRow, ...]


class _RowError(ValueError):
    """A row that cannot become a job, with the reason shown to the user."""


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a CSV or JSON Lines manifest; bad rows are collected, not raised.

    Raises:
        FleetError: the manifest cannot be read, or a CSV header lacks a required column.
    """
    source = Path(path)
    try:
        text = source.read_bytes().decode("utf-8-sig", "surrogateescape")
    except OSError as exc:
        raise FleetError(f"cannot read the manifest {source}: {exc.strerror or exc}") from exc
    base = source.resolve().parent
    raw = _jsonl(text) if _is_jsonl(source, text) else _csv(text, source)
    rows, bad = _collect(raw, base)
    return Manifest(str(source), tuple(rows), tuple(bad))


def _is_jsonl(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return False
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.startswith("{")


def _collect(
    raw: Iterator[tuple[int, dict[str, Any] | _RowError]], base: Path
) -> tuple[list[ManifestRow], list[BadRow]]:
    rows: list[ManifestRow] = []
    bad: list[BadRow] = []
    first_line: dict[tuple[str, str, str], int] = {}
    for line, fields in raw:
        try:
            if isinstance(fields, _RowError):
                raise fields
            row = _row(line, fields, base)
        except _RowError as exc:
            bad.append(BadRow(line, str(exc)))
            continue
        if row.key in first_line:
            bad.append(BadRow(line, f"duplicate of line {first_line[row.key]}"))
            continue
        first_line[row.key] = line
        rows.append(row)
    return rows, bad


def _row(line: int, fields: Mapping[str, Any], base: Path) -> ManifestRow:
    values: dict[str, str] = {}
    labels: dict[str, str] = {}
    for name, value in fields.items():
        key = _ALIASES.get(str(name).strip().lower())
        if key == "labels":
            labels.update(_labels(value))
        elif key is not None:
            values[key] = _text(value, key)
        elif value not in (None, ""):
            labels[str(name).strip()] = _text(value, str(name))
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        raise _RowError("missing " + ", ".join(missing))
    evidence = _evidence(values["evidence"], base)
    return ManifestRow(line, values["organisation"], values["host"], evidence, labels)


def _text(value: Any, name: str) -> str:
    if isinstance(value, (dict, list)):
        raise _RowError(f"{name}: expected text, not {type(value).__name__}")
    text = "" if value is None else str(value).strip()
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raise _RowError(f"{name}: not valid UTF-8")
    return text


def _labels(value: Any) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return {str(k).strip(): _text(v, f"label {k}") for k, v in value.items()}
    pairs = [part.partition("=") for part in _text(value, "labels").split(";") if part.strip()]
    if any(not sep or not key.strip() for key, sep, _ in pairs):
        raise _RowError(f"labels: expected key=value;key=value, got {value!r}")
    return {key.strip(): val.strip() for key, _, val in pairs}


def _evidence(value: str, base: Path) -> str:
    if _URI.match(value):
        parts = urlsplit(value)
        if parts.scheme.lower() != "file":
            raise _RowError(
                f"evidence: unsupported URI scheme {parts.scheme!r} (give a path or a file:// "
                "URI; see docs/fleet.md for evidence on other machines)"
            )
        value = unquote(parts.path)
    return os.path.normpath(os.path.join(base, os.path.expanduser(value)))


def _jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | _RowError]]:
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            yield number, _RowError(f"not JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield number, _RowError(f"expected a JSON object, got {type(value).__name__}")
            continue
        yield number, value


def _csv(text: str, source: Path) -> Iterator[tuple[int, dict[str, Any] | _RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = _header(cells, source, line)
            continue
        if len(cells) > len(header):
            yield line, _RowError(f"{len(cells)} cells for {len(header)} columns")
            continue
        yield line, dict(zip(header, cells, strict=False))


def _header(cells: list[str], source: Path, line: int) -> list[str]:
    names = [cell.strip() for cell in cells]
    known = {_ALIASES.get(name.lower()) for name in names}
    missing = [name for name in REQUIRED if name not in known]
    if missing:
        raise FleetError(
            f"{source}:{line}: the header lacks the column(s) {', '.join(missing)} "
            f"(found: {', '.join(names)})"
        )
    return names
