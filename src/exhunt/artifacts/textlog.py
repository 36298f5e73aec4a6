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

import bisect
import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from exhunt.artifacts.base import LineLog
from exhunt.artifacts.lines import (
    MAX_LINE,
    LineCounter,
    all_line_starts,
    cut_long_lines,
    has_data,
    invalid_utf8_lines,
    last_data_line,
    line_starts_with,
)
from exhunt.model import Record, Source

log = logging.getLogger(__name__)

BLOCK_SIZE = 8 << 20
MAX_BAD_EXAMPLES = 20
BOM = b"\xef\xbb\xbf"
_EMPTY_AFTER = re.compile(rb"\n(?=\r?\n)")
"""A line end followed by an empty line (overlapping runs count once each)."""


class LineMatcher(Protocol):
    """Finds the lines of a block that can match any rule."""

    def select(self, block: bytes) -> Sequence[tuple[int, frozenset[int]]]:
        """Return (line start offset, ids of the literals found in the line), by offset."""


class MarkingMatcher(LineMatcher, Protocol):
    """A matcher that also finds the reader's structural markers in the same pass."""

    def scan(self, block: bytes) -> tuple[Sequence[tuple[int, frozenset[int]]], list[list[int]]]:
        """Selected lines as :meth:`select`, and the end offsets of each marker, in order."""


Marker = tuple[bytes, bool]
"""A byte string the reader needs located, and whether its first occurrence is enough."""


def markers_for(parser: LineLog) -> tuple[Marker, ...]:
    """What the reader looks for in every block besides the rules' literals.

    Directive lines and repeated header rows (every occurrence), and whether the block has a
    NUL byte or an empty line at all (the first occurrence is enough: both are rare).
    """
    prefixes = tuple((b"\n" + prefix, False) for prefix in parser.header_prefixes)
    return ((b"\n#", False), (b"\x00", True), (b"\n\n", True), (b"\n\r\n", True), *prefixes)


@dataclass(slots=True)
class _Structure:
    selected: dict[int, frozenset[int] | object]
    controls: list[int]
    first_nul: int
    has_empty: bool


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
    """The first bad lines by line number, at most ``MAX_BAD_EXAMPLES``."""
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
        examples = self.bad_examples
        if len(examples) >= MAX_BAD_EXAMPLES and line >= examples[-1].line:
            return
        # Lines are not always reported in file order (the last data line is settled at the end).
        bisect.insort(examples, BadRecord(line, reason), key=lambda example: example.line)
        del examples[MAX_BAD_EXAMPLES:]


@dataclass(slots=True)
class _Block:
    data: bytes
    lineno: int
    """Line number of the block's first line (1-based)."""
    eof: bool
    cut: tuple[int, ...] = ()
    """Starts of the lines cut to ``MAX_LINE``."""


@dataclass(slots=True)
class _Outcome:
    """A parsed line and what it adds to the stats once it is known to count."""

    record: Record | None
    lineno: int
    damage: str | None
    error: str | None = None
    """Why the line counts as bad, if it does."""
    parsed: bool = False
    truncated: bool = False
    good: bool = False
    """Well-formed with a time: it counts for the time coverage."""


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
        self._tail: _Outcome | None = None
        """The last data line read so far, when no prefilter selected it; settled at the end."""
        self._lineno = 1
        """Line number of the next block's first line."""
        self._markers = markers_for(parser)

    def __iter__(self) -> Iterator[tuple[Record, frozenset[int] | None]]:
        digest = hashlib.sha256()
        for block in self._blocks(digest):
            block.lineno = self._lineno
            yield from self._read_block(block)
        if self._tail is not None:
            self._commit(self._tail)
        self._no_header()
        self.stats.sha256 = digest.hexdigest()
        if self.stats.last is None:
            self.stats.last = self._last_good

    def _no_header(self) -> None:
        """A file that never says its columns cannot be read: every record of it is bad."""
        stats = self.stats
        if not self.parser.needs_header or self._state.fields is not None:
            return
        # The lines that were parsed are already counted, with their line numbers.
        stats.bad_records = max(stats.bad_records, stats.records)

    # -- blocks ---------------------------------------------------------------------------

    def _blocks(self, digest: hashlib._Hash) -> Iterator[_Block]:
        carry = b""
        lineno = 0  # set by the reader once the previous block's lines are counted
        first = True
        while True:
            chunk = self.fh.read(self.block_size)
            digest.update(chunk)
            self.stats.bytes_read += len(chunk)
            data = carry + chunk if carry else chunk
            # With small reads the BOM can arrive in pieces: decide once the first line is in.
            if first and (len(data) >= len(BOM) or b"\n" in data or not chunk):
                first = False
                data = data.removeprefix(BOM)
            if not chunk:
                if data:
                    yield _block(data, lineno, eof=True)
                return
            cut = data.rfind(b"\n")
            if cut == -1:
                # One byte over the cap is kept so the block still sees the line as too long.
                carry = data[: MAX_LINE + 1]
                continue
            if cut == len(data) - 1:
                block, carry = data, b""  # the usual end of a file: no copy
            else:
                block, carry = data[: cut + 1], data[cut + 1 :]
            yield _block(block, lineno, eof=False)

    # -- one block ------------------------------------------------------------------------

    def _read_block(self, block: _Block) -> Iterator[tuple[Record, frozenset[int] | None]]:
        data = block.data
        found = self._structure(data)
        controls, selected = found.controls, found.selected
        control_set = set(controls)
        damaged = self._damaged_lines(data, block.cut, found.first_nul)
        extra = self._first_line(data, control_set)
        tail = self._tail_line(data, control_set, selected, extra)
        counter = LineCounter(data, block.lineno)
        for start, ids in _merge(controls, selected, extra, tail):
            end = data.find(b"\n", start)
            raw = data[start:] if end == -1 else data[start:end]
            lineno = counter.at(start)
            if ids is _CONTROL:
                self._apply_control(raw, lineno)
                continue
            outcome = self._parse(raw, lineno, damaged.get(start), block.eof and end == -1)
            if ids is _TAIL:
                self._tail = outcome
                continue
            self._commit(outcome)
            if outcome.record is not None and ids is not _EDGE:
                yield outcome.record, (None if ids is _ALL else ids)
        for start, reason in sorted(damaged.items()):
            if start not in selected and start not in extra and start != tail:
                self.stats.bad(counter.at(start), reason)
        newlines = counter.at(len(data)) - block.lineno
        self._count_records(block, newlines, len(controls), found.has_empty)
        self._lineno = block.lineno + newlines

    def _structure(self, data: bytes) -> _Structure:
        """Selected lines and structural markers: from the prefilter's pass when it can."""
        scan = getattr(self.matcher, "scan", None)
        if scan is None or getattr(self.matcher, "markers", None) != self._markers:
            return _Structure(
                self._selected(data),
                self._control_lines(data),
                data.find(b"\x00"),
                b"\n\n" in data or b"\n\r\n" in data,
            )
        lines, ends = scan(data)
        directives, nul, empty_lf, empty_crlf, *prefixed = ends
        controls = [end - 1 for end in directives]
        for (marker, _), hits in zip(self._markers[4:], prefixed, strict=True):
            controls.extend(end - len(marker) + 1 for end in hits)
        controls.extend(self._block_start_controls(data))
        header = self._state.header_prefix
        if header and header not in self.parser.header_prefixes:
            controls.extend(line_starts_with(data, header))
        return _Structure(
            dict(lines),
            sorted(set(controls)),
            nul[0] - 1 if nul else -1,
            bool(empty_lf or empty_crlf),
        )

    def _block_start_controls(self, data: bytes) -> list[int]:
        prefixes = (b"#", *self.parser.header_prefixes)
        return [0] if data.startswith(prefixes) else []

    def _control_lines(self, data: bytes) -> list[int]:
        """Starts of directive lines (``#...``) and repeated header rows."""
        starts = line_starts_with(data, b"#")
        prefixes = set(self.parser.header_prefixes)
        if self._state.header_prefix:
            prefixes.add(self._state.header_prefix)
        for prefix in prefixes:
            starts.extend(line_starts_with(data, prefix))
        return sorted(set(starts))

    def _damaged_lines(self, data: bytes, cut: tuple[int, ...], first_nul: int) -> dict[int, str]:
        damaged: dict[int, str] = {}
        pos = first_nul
        while pos != -1:
            start = data.rfind(b"\n", 0, pos) + 1
            end = data.find(b"\n", pos)
            padding = not data[start : len(data) if end == -1 else end].strip(b"\x00 \t\r")
            damaged[start] = "NUL padding" if padding else "NUL bytes"
            if end == -1:
                break
            pos = data.find(b"\x00", end)
        for start in cut:
            damaged.setdefault(start, f"line longer than {MAX_LINE} bytes, cut")
        if not data.isascii():
            for start in invalid_utf8_lines(data):
                damaged.setdefault(start, "not valid UTF-8; decoded with replacement characters")
        return damaged

    def _selected(self, data: bytes) -> dict[int, frozenset[int] | object]:
        if self.matcher is None:
            return {start: _ALL for start in all_line_starts(data)}
        return dict(self.matcher.select(data))

    def _first_line(self, data: bytes, controls: set[int]) -> set[int]:
        """The first data line of the file, parsed for time coverage, if it is in this block."""
        if self._seen_data:
            return set()
        for start in all_line_starts(data):
            if start not in controls and has_data(data, start):
                self._seen_data = True
                return {start}
        return set()

    def _tail_line(
        self, data: bytes, controls: set[int], selected: dict[int, object], extra: set[int]
    ) -> int | None:
        """The block's last data line when nothing else parses it; it may be the file's last.

        Its parse is held back until a later block shows it was not the last data line (then
        it counts only as the unselected line it is) or the file ends (then it counts, for
        the time coverage and the truncation check). Either way the result does not depend on
        where blocks end.
        """
        last = last_data_line(data, controls)
        if last is None:
            return None
        if self._tail is not None and self._tail.damage:
            self.stats.bad(self._tail.lineno, self._tail.damage)
        self._tail = None
        return None if last in selected or last in extra else last

    def _count_records(
        self, block: _Block, newlines: int, control_count: int, has_empty: bool
    ) -> None:
        data = block.data
        lines = newlines
        if block.eof and data and not data.endswith(b"\n"):
            lines += 1
        empty = int(data.startswith((b"\n", b"\r\n")))
        if has_empty:
            empty += len(_EMPTY_AFTER.findall(data))
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

    def _parse(self, raw: bytes, lineno: int, damage: str | None, last: bool) -> _Outcome:
        """Parse one line; its effect on the stats waits for :meth:`_commit`."""
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if "\x00" in text:
            text = text.replace("\x00", "")
            if not text.strip():
                return _Outcome(None, lineno, damage, damage or "NUL padding")
        if not text:
            return _Outcome(None, lineno, damage, damage)
        parsed = self.parser.parse(self._state, text)
        record = Record(self.source, lineno, parsed.time, parsed.fields, text)
        if last and parsed.error:
            error = f"truncated last line ({parsed.error})"
            return _Outcome(record, lineno, damage, error, parsed=True, truncated=True)
        good = parsed.time is not None and not parsed.error
        return _Outcome(record, lineno, damage, damage or parsed.error, True, good=good)

    def _commit(self, outcome: _Outcome) -> None:
        self.stats.parsed += outcome.parsed
        if outcome.error:
            self.stats.bad(outcome.lineno, outcome.error)
        if outcome.truncated:
            self.stats.truncated = True
        if outcome.good and outcome.record is not None and outcome.record.time is not None:
            self._note(outcome.record, outcome.record.time)

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
_TAIL: frozenset[int] = frozenset({-4})


def _block(data: bytes, lineno: int, eof: bool) -> _Block:
    data, cut = cut_long_lines(data)
    return _Block(data, lineno, eof, cut)


def _merge(
    controls: list[int], selected: dict[int, object], extra: set[int], tail: int | None
) -> list[tuple[int, frozenset[int]]]:
    items: dict[int, frozenset[int]] = {start: _EDGE for start in extra}
    if tail is not None:
        items[tail] = _TAIL
    for start, ids in selected.items():
        items[start] = ids  # type: ignore[assignment]
    for start in controls:
        items[start] = _CONTROL
    return sorted(items.items())
