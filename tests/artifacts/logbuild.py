"""A generator of small hostile Exchange and IIS logs, with what a correct reader must report.

The same generator is driven by hypothesis (when installed) and by a seeded random source, so
the block-boundary tests run everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from logread import HTTPPROXY_70, IIS_0305, sample

from exhunt.artifacts.base import LineLog
from exhunt.artifacts.httpproxy import HttpProxyLog
from exhunt.artifacts.iis import IisW3cLog

LITERAL = "python-requests"
"""The prefilter literal of the generated files; some rows hold it, some do not."""

KINDS = ("row", "row", "row", "nul", "utf8", "quoted", "empty", "header", "preamble", "short")
ENDINGS = ("newline", "no-newline", "truncated", "nul-padding")

UTF8_REASON = "not valid UTF-8; decoded with replacement characters"


def found_by_parse(reason: str) -> bool:
    """Whether only a parse finds this (the other reasons come from the cheap byte checks)."""
    return " values for " in reason or reason.startswith(("no header", "no #Fields", "truncated"))


_START = datetime(2021, 3, 3, 6, 0, tzinfo=UTC)


@dataclass
class Expected:
    """What reading the generated file must give with every line parsed."""

    data_lines: list[int] = field(default_factory=list)
    """Lines that count as records."""
    content_lines: list[int] = field(default_factory=list)
    """Data lines with content (not NUL padding): the first and last are always parsed."""
    bad: list[tuple[int, str]] = field(default_factory=list)
    times: dict[int, datetime] = field(default_factory=dict)
    """Line -> time of the well-formed data rows."""
    literal_lines: list[int] = field(default_factory=list)
    truncated: bool = False
    headerless: bool = False
    """No header anywhere: every record is bad, parsed or not."""


@dataclass
class Built:
    data: bytes
    parser: LineLog
    expected: Expected


class _Format:
    """How one log format writes its lines."""

    parser: LineLog
    width: int

    def header(self) -> list[bytes]:
        raise NotImplementedError

    def row(self, index: int, when: datetime) -> bytes:
        raise NotImplementedError

    def quoted(self, index: int, when: datetime) -> bytes:
        return self.row(index, when)

    def preamble(self) -> list[bytes]:
        raise NotImplementedError

    def header_row(self) -> bytes | None:
        return None


class _HttpProxy(_Format):
    parser = HttpProxyLog()
    width = 70

    def __init__(self) -> None:
        lines = sample(HTTPPROXY_70).split(b"\n")
        self._header = lines[0]
        self._preamble = lines[1:6]
        self._rows = [line.split(b",", 1)[1] for line in lines[6:] if line]

    def header(self) -> list[bytes]:
        return [self._header, *self._preamble]

    def preamble(self) -> list[bytes]:
        return list(self._preamble)

    def header_row(self) -> bytes | None:
        return self._header

    def row(self, index: int, when: datetime) -> bytes:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z").encode()
        return stamp + b"," + self._rows[index % len(self._rows)]

    def quoted(self, index: int, when: datetime) -> bytes:
        row = self.row(index, when)
        agent = row.split(b",")[16]
        return row.replace(b"," + agent + b",", b',"' + agent + b' ""x"", y",', 1)


class _Iis(_Format):
    parser = IisW3cLog()
    width = 15

    def __init__(self) -> None:
        lines = sample(IIS_0305).split(b"\r\n")
        self._preamble = lines[0:4]
        template = lines[4].split(b" ", 2)[2]
        self._rows = [template, template.replace(b"Mozilla/5.0", b"python-requests/2.25.1")]

    def header(self) -> list[bytes]:
        return list(self._preamble)

    def preamble(self) -> list[bytes]:
        return list(self._preamble)

    def row(self, index: int, when: datetime) -> bytes:
        stamp = when.strftime("%Y-%m-%d %H:%M:%S").encode()
        return stamp + b" " + self._rows[index % len(self._rows)]


FORMATS: dict[str, type[_Format]] = {"httpproxy": _HttpProxy, "iis": _Iis}


def build(
    fmt: str,
    kinds: Sequence[str],
    eols: Sequence[bool],
    ending: str,
    bom: bool,
    with_header: bool = True,
) -> Built:
    """A log of ``kinds`` lines; ``eols[i]`` says whether line ``i`` ends CRLF (else LF)."""
    writer = FORMATS[fmt]()
    out = bytearray(b"\xef\xbb\xbf" if bom else b"")
    expected = Expected()
    lines: list[bytes] = list(writer.header()) if with_header else []
    line_kinds: list[str] = ["control"] * len(lines)
    for index, kind in enumerate(kinds):
        new, tags = _lines_of(writer, kind, index)
        lines.extend(new)
        line_kinds.extend(tags)
    has_header = with_header
    for number, (line, kind) in enumerate(zip(lines, line_kinds, strict=True), start=1):
        # A header row or a #Fields: line gives the rows after it their columns.
        has_header = has_header or line.startswith((b"#Fields:", b"DateTime,"))
        _expect(expected, writer, number, line, kind, has_header)
        out += line + (b"\r\n" if eols[(number - 1) % len(eols)] else b"\n")
    _ending(out, expected, writer, ending, len(lines) + 1, has_header)
    expected.headerless = not has_header
    return Built(bytes(out), writer.parser, expected)


def _lines_of(writer: _Format, kind: str, index: int) -> tuple[list[bytes], list[str]]:
    when = _START + timedelta(seconds=index)
    if kind == "empty":
        return [b""], ["empty"]
    if kind == "preamble":
        lines = writer.preamble()
        return lines, ["control"] * len(lines)
    if kind == "header":
        row = writer.header_row()
        return ([row], ["control"]) if row else ([], [])
    if kind == "quoted":
        return [writer.quoted(index, when)], ["row"]
    row = writer.row(index, when)
    if kind == "nul":
        return [row[:30] + b"\x00" + row[30:]], ["nul"]
    if kind == "utf8":
        return [row.replace(b"/owa/", b"/owa/\xff\xfe").replace(b"/ecp/", b"/ecp/\xc3")], ["utf8"]
    if kind == "short":
        sep = _separator(writer)
        return [sep.join(row.split(sep)[:9])], ["short"]
    return [row], ["row"]


def _expect(
    expected: Expected, writer: _Format, number: int, line: bytes, kind: str, with_header: bool
) -> None:
    if kind in ("control", "empty"):
        return
    expected.data_lines.append(number)
    expected.content_lines.append(number)
    if LITERAL.encode() in line:
        expected.literal_lines.append(number)
    if kind == "nul":
        expected.bad.append((number, "NUL bytes"))
    elif kind == "utf8":
        expected.bad.append((number, UTF8_REASON))
    elif not with_header:
        expected.bad.append((number, _no_header(writer)))
    elif kind == "short":
        expected.bad.append((number, f"9 values for {writer.width} fields"))
    if kind != "short" and with_header:
        expected.times[number] = _time_of(writer, line)


def _ending(
    out: bytearray, expected: Expected, writer: _Format, ending: str, number: int, with_header: bool
) -> None:
    when = _START + timedelta(hours=1)
    if ending == "newline":
        return
    if ending == "nul-padding":
        out += b"\x00" * 300
        expected.data_lines.append(number)
        expected.bad.append((number, "NUL padding"))
        return
    row = writer.row(1, when)
    if ending == "truncated":
        row = row[: len(row) // 2]
    out += row
    expected.data_lines.append(number)
    expected.content_lines.append(number)
    if LITERAL.encode() in row:
        expected.literal_lines.append(number)
    if not with_header:
        # Any parse error of a last line without newline is reported as a truncation.
        expected.bad.append((number, f"truncated last line ({_no_header(writer)})"))
        expected.truncated = True
    elif ending == "truncated":
        count = len(row.split(_separator(writer)))
        expected.bad.append(
            (number, f"truncated last line ({count} values for {writer.width} fields)")
        )
        expected.truncated = True
    else:
        expected.times[number] = when


def _separator(writer: _Format) -> bytes:
    return b" " if isinstance(writer, _Iis) else b","


def _no_header(writer: _Format) -> str:
    if isinstance(writer, _Iis):
        return "no #Fields: directive before this line"
    return "no header line before this record"


def _time_of(writer: _Format, line: bytes) -> datetime:
    if isinstance(writer, _Iis):
        text = b" ".join(line.split(b" ")[:2]).decode()
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(line.split(b",")[0].decode().replace("Z", "+00:00"))
