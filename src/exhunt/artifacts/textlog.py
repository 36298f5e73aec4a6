"""Streaming reader for line-oriented logs: bytes in large blocks, parse only what can match.

The reader never loads a whole file. It reads blocks ending on a line boundary, tracks the
header in effect (``#Fields:`` directives and CSV header rows can re-appear mid-file after a
service restart), checks every line cheaply for structural damage (NUL bytes, invalid UTF-8,
a truncated last line), and parses only the lines a prefilter selected, plus the first and last
data lines of the file for its time coverage. Bad lines are counted with their line numbers;
they never stop the file and are still evaluated, since attacker-written lines are what
matters here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from exhunt.artifacts.base import HeaderState, LineLog
from exhunt.model import Record, Source

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 << 20
MAX_LINE = 1 << 20
"""A line longer than this (1 MiB) is cut there and counted as a bad record."""
MAX_BAD_EXAMPLES = 20
BOM = b"\xef\xbb\xbf"


class LineMatcher(Protocol):
    """Finds the lines of a block that can match any rule."""

    def select(self, block: bytes) -> Sequence[tuple[int, frozenset[int]]]:
        """Return (line start offset, ids of the literals found in the line), by offset."""


@dataclass(slots=True)
class BadRecord:
    line: int
    reason: str


@dataclass(slots=True)
class LogStats:
    """What the reader saw of one file, for coverage and the evidence manifest."""

    records: int = 0
    bad_records: int = 0
    bad_examples: list[BadRecord] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    bytes_read: int = 0
    sha256: str = ""
    truncated: bool = False
    parsed: int = 0
    directives: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, name, value) of every directive such as ``#Version:``, in file order."""
    first_record: Record | None = None
    last_record: Record | None = None
    """The first and last well-formed data records, for build and time coverage."""

    def bad(self, line: int, reason: str) -> None:
        self.bad_records += 1
        if len(self.bad_examples) < MAX_BAD_EXAMPLES:
            self.bad_examples.append(BadRecord(line, reason))


@dataclass(slots=True)
class _Block:
    data: bytes
    lineno: int
    """Line number of the block's first line (1-based)."""
    eof: bool


class LogReader:
    """Iterate the selected records of one log file; ``stats`` is complete once exhausted.

    Args:
        fh: the file, opened for binary reading.
        parser: the artifact parser for its format.
        source: provenance put on every record.
        matcher: prefilter; ``None`` parses every line.
        block_size: bytes read at a time.
    """

    def __init__(
        self,
        fh: BinaryIO,
        parser: LineLog,
        source: Source,
        matcher: LineMatcher | None = None,
        block_size: int = BLOCK_SIZE,
    ) -> None:
        self.fh = fh
        self.parser = parser
        self.source = source
        self.matcher = matcher
        self.block_size = block_size
        self.stats = LogStats()
        self._state = parser.new_state()
        self._seen_data = False
        self._last_good: datetime | None = None

    def __iter__(self) -> Iterator[tuple[Record, frozenset[int] | None]]:
        digest = hashlib.sha256()
        for block in self._blocks(digest):
            yield from self._read_block(block)
        self.stats.sha256 = digest.hexdigest()
        if self.stats.last is None:
            self.stats.last = self._last_good

    # -- blocks ---------------------------------------------------------------------------

    def _blocks(self, digest: hashlib._Hash) -> Iterator[_Block]:
        carry = b""
        lineno = 1
        first = True
        while True:
            chunk = self.fh.read(self.block_size)
            digest.update(chunk)
            self.stats.bytes_read += len(chunk)
            data = carry + chunk if carry else chunk
            if first and data:
                first = False
                if data.startswith(BOM):
                    data = data[len(BOM) :]
            if not chunk:
                if data:
                    yield _Block(data, lineno, eof=True)
                return
            cut = data.rfind(b"\n")
            if cut == -1:
                carry = self._cut_overlong(data, lineno)
                continue
            block, carry = data[: cut + 1], data[cut + 1 :]
            yield _Block(block, lineno, eof=False)
            lineno += block.count(b"\n")

    def _cut_overlong(self, data: bytes, lineno: int) -> bytes:
        """Keep a partial line unless it is absurdly long; then count it bad and drop the excess."""
        if len(data) <= MAX_LINE:
            return data
        self.stats.bad(lineno, f"line longer than {MAX_LINE} bytes, cut")
        return data[:MAX_LINE]

    # -- one block ------------------------------------------------------------------------

    def _read_block(self, block: _Block) -> Iterator[tuple[Record, frozenset[int] | None]]:
        data = block.data
        controls = self._control_lines(data)
        damaged = self._damaged_lines(data)
        selected = self._selected(data)
        extra = self._edge_lines(data, controls, block)
        self._count_records(block, len(controls))
        counter = _LineCounter(data, block.lineno)
        for start, ids in _merge(controls, selected, extra):
            end = data.find(b"\n", start)
            raw = data[start:] if end == -1 else data[start:end]
            lineno = counter.at(start)
            if ids is _CONTROL:
                self._apply_control(raw, lineno)
                continue
            record = self._parse(raw, lineno, damaged.get(start), block.eof and end == -1)
            if record is not None and ids is not _EDGE:
                yield record, (None if ids is _ALL else ids)
        for start, reason in sorted(damaged.items()):
            if start not in selected and start not in extra:
                self.stats.bad(counter.at(start), reason)

    def _control_lines(self, data: bytes) -> list[int]:
        """Starts of directive lines (``#...``) and repeated header rows."""
        starts = _line_starts_with(data, b"#")
        prefixes = set(self.parser.header_prefixes)
        if self._state.header_prefix:
            prefixes.add(self._state.header_prefix)
        for prefix in prefixes:
            starts.extend(_line_starts_with(data, prefix))
        return sorted(set(starts))

    def _damaged_lines(self, data: bytes) -> dict[int, str]:
        damaged: dict[int, str] = {}
        pos = data.find(b"\x00")
        while pos != -1:
            start = data.rfind(b"\n", 0, pos) + 1
            damaged[start] = "NUL bytes"
            end = data.find(b"\n", pos)
            if end == -1:
                break
            pos = data.find(b"\x00", end)
        if not data.isascii():
            for start in _invalid_utf8_lines(data):
                damaged.setdefault(start, "not valid UTF-8; decoded with replacement characters")
        return damaged

    def _selected(self, data: bytes) -> dict[int, frozenset[int] | object]:
        if self.matcher is None:
            return {start: _ALL for start in _all_line_starts(data)}
        return dict(self.matcher.select(data))

    def _edge_lines(self, data: bytes, controls: list[int], block: _Block) -> set[int]:
        """The first data line of the file and the last one, parsed for time coverage."""
        edges: set[int] = set()
        control_set = set(controls)
        if not self._seen_data:
            for start in _all_line_starts(data):
                if start not in control_set and data[start : start + 1] not in (b"\n", b"\r"):
                    edges.add(start)
                    self._seen_data = True
                    break
        if block.eof:
            last = _last_data_line(data, control_set)
            if last is not None:
                edges.add(last)
        return edges

    def _count_records(self, block: _Block, control_count: int) -> None:
        data = block.data
        lines = data.count(b"\n")
        if block.eof and data and not data.endswith(b"\n"):
            lines += 1
        empty = data.count(b"\n\n") + data.count(b"\n\r\n")
        if data.startswith((b"\n", b"\r\n")):
            empty += 1
        self.stats.records += max(lines - empty - control_count, 0)

    def _apply_control(self, raw: bytes, lineno: int) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r").replace("\x00", "")
        if text.startswith("#"):
            self.parser.directive(self._state, text)
            name, _, value = text[1:].partition(":")
            self.stats.directives.append((lineno, name.strip(), value.strip()))
        elif not self.parser.header_row(self._state, text):
            # A line that only looked like a header row: count it as data that failed.
            self.stats.bad(lineno, "unexpected header-like line")

    def _parse(self, raw: bytes, lineno: int, damage: str | None, last: bool) -> Record | None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if "\x00" in text:
            text = text.replace("\x00", "")
            if not text.strip():
                self.stats.bad(lineno, "NUL padding")
                return None
        if not text:
            return None
        self.stats.parsed += 1
        parsed = self.parser.parse(self._state, text)
        error = damage or parsed.error
        if error:
            if last and parsed.error:
                error = f"truncated last line ({parsed.error})"
                self.stats.truncated = True
            self.stats.bad(lineno, error)
        record = Record(self.source, lineno, parsed.time, parsed.fields, text)
        if parsed.time is not None and not parsed.error:
            self._note(record, parsed.time)
        return record

    def _note(self, record: Record, time: datetime) -> None:
        if self.stats.first is None:
            self.stats.first = time
            self.stats.first_record = record
        self._last_good = time
        self.stats.last_record = record


# Markers in the merged walk over a block; identity-compared.
_CONTROL: frozenset[int] = frozenset({-1})
_ALL: frozenset[int] = frozenset({-2})
_EDGE: frozenset[int] = frozenset({-3})


def _merge(
    controls: list[int], selected: dict[int, object], extra: set[int]
) -> list[tuple[int, frozenset[int]]]:
    items: dict[int, frozenset[int]] = {start: _EDGE for start in extra}
    for start, ids in selected.items():
        items[start] = ids  # type: ignore[assignment]
    for start in controls:
        items[start] = _CONTROL
    return sorted(items.items())


class _LineCounter:
    """Line numbers of offsets visited in increasing order, counting newlines once."""

    def __init__(self, data: bytes, first_line: int) -> None:
        self.data = data
        self.pos = 0
        self.line = first_line

    def at(self, offset: int) -> int:
        if offset < self.pos:
            return self.line - self.data.count(b"\n", offset, self.pos)
        self.line += self.data.count(b"\n", self.pos, offset)
        self.pos = offset
        return self.line


def _line_starts_with(data: bytes, prefix: bytes) -> list[int]:
    starts = [0] if data.startswith(prefix) else []
    needle = b"\n" + prefix
    pos = data.find(needle)
    while pos != -1:
        starts.append(pos + 1)
        pos = data.find(needle, pos + 1)
    return starts


def _all_line_starts(data: bytes) -> Iterator[int]:
    if not data:
        return
    yield 0
    pos = data.find(b"\n")
    while pos != -1 and pos + 1 < len(data):
        yield pos + 1
        pos = data.find(b"\n", pos + 1)


def _last_data_line(data: bytes, controls: set[int]) -> int | None:
    end = len(data)
    while end > 0:
        stripped_end = end
        while stripped_end > 0 and data[stripped_end - 1 : stripped_end] in (b"\n", b"\r"):
            stripped_end -= 1
        if stripped_end == 0:
            return None
        start = data.rfind(b"\n", 0, stripped_end) + 1
        if start not in controls and data[start:stripped_end].strip(b"\x00 \t"):
            return start
        end = start
    return None


def _invalid_utf8_lines(data: bytes) -> Iterator[int]:
    """Starts of lines that are not valid UTF-8 (only called on non-ASCII blocks)."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
    # Damage is rare: from the first bad line on, test the non-ASCII lines one by one.
    while start < len(data):
        end = data.find(b"\n", start)
        stop = len(data) if end == -1 else end
        line = data[start:stop]
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                yield start
        start = stop + 1
