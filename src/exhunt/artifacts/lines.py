"""Byte-level helpers for line-oriented logs: line starts, counts, damage, long lines.

Pure functions over one block of bytes; :mod:`exhunt.artifacts.textlog` composes them.
"""

from __future__ import annotations

from collections.abc import Iterator

MAX_LINE = 1 << 20
"""A line longer than this (1 MiB) is cut there and counted as a bad record."""


def cut_long_lines(data: bytes) -> tuple[bytes, tuple[int, ...]]:
    """``data`` with every line longer than ``MAX_LINE`` cut to it, and those lines' starts."""
    if len(data) <= MAX_LINE:
        return data, ()
    spans = list(long_lines(data))
    if not spans:
        return data, ()
    pieces: list[bytes] = []
    starts: list[int] = []
    pos = removed = 0
    for start, end in spans:
        pieces.append(data[pos : start + MAX_LINE])
        starts.append(start - removed)
        removed += end - start - MAX_LINE
        pos = end
    pieces.append(data[pos:])
    return b"".join(pieces), tuple(starts)


def long_lines(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of the lines longer than ``MAX_LINE``; ``end`` is their newline or the end."""
    # Such a line covers a whole window of half that length, so only windows are searched.
    step = MAX_LINE // 2
    pos = 0
    while pos + step <= len(data):
        if data.find(b"\n", pos, pos + step) != -1:
            pos += step
            continue
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        end = len(data) if end == -1 else end
        if end - start > MAX_LINE:
            yield start, end
        pos = end + 1


class LineCounter:
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


def line_starts_with(data: bytes, prefix: bytes) -> list[int]:
    starts = [0] if data.startswith(prefix) else []
    needle = b"\n" + prefix
    pos = data.find(needle)
    while pos != -1:
        starts.append(pos + 1)
        pos = data.find(needle, pos + 1)
    return starts


def all_line_starts(data: bytes) -> Iterator[int]:
    if not data:
        return
    yield 0
    pos = data.find(b"\n")
    while pos != -1 and pos + 1 < len(data):
        yield pos + 1
        pos = data.find(b"\n", pos + 1)


def has_data(data: bytes, start: int) -> bool:
    end = data.find(b"\n", start)
    return bool(data[start : len(data) if end == -1 else end].strip(b"\x00 \t\r"))


def last_data_line(data: bytes, controls: set[int]) -> int | None:
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


def invalid_utf8_lines(data: bytes) -> Iterator[int]:
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
