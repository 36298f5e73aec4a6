"""Small independent readers for the generated logs, so the tests do not trust the writer."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Segment:
    """One preamble and the rows under it."""

    directives: dict[str, str]
    fields: list[str]
    rows: list[list[str]] = field(default_factory=list)


def lines_of(path: Path) -> list[str]:
    """Lines of a CRLF file; fails if any line ends with a bare LF."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), path
    assert b"\n" not in data.replace(b"\r\n", b""), f"bare LF in {path}"
    return data.decode("utf-8").split("\r\n")[:-1]


def read_exchange(path: Path) -> tuple[str, list[Segment]]:
    """An Exchange CSV log: its first line (the header row) and its segments."""
    lines = lines_of(path)
    segments: list[Segment] = []
    for line in lines[1:]:
        if line.startswith("#"):
            key, _, value = line[1:].partition(": ")
            if key == "Software" or not segments or segments[-1].rows:
                segments.append(Segment({}, []))
            segments[-1].directives[key] = value
            if key == "Fields":
                segments[-1].fields = value.split(",")
        else:
            segments[-1].rows.append(next(csv.reader(io.StringIO(line))))
    return lines[0], segments


def exchange_rows(path: Path) -> list[dict[str, str]]:
    """Every row of an Exchange CSV log as a mapping of its ``#Fields``."""
    _, segments = read_exchange(path)
    return [dict(zip(s.fields, row, strict=True)) for s in segments for row in s.rows]


def read_w3c(path: Path) -> list[Segment]:
    """An IIS W3C log, one segment per preamble."""
    segments: list[Segment] = []
    for line in lines_of(path):
        if line.startswith("#"):
            key, _, value = line[1:].partition(": ")
            if key == "Software":
                segments.append(Segment({}, []))
            segments[-1].directives[key] = value
            if key == "Fields":
                segments[-1].fields = value.split(" ")
        else:
            segments[-1].rows.append(line.split(" "))
    return segments


def w3c_rows(path: Path) -> list[dict[str, str]]:
    """Every row of an IIS log as a mapping of its segment's ``#Fields``."""
    return [dict(zip(s.fields, row, strict=True)) for s in read_w3c(path) for row in s.rows]
