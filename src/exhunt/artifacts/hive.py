"""A read-only Windows registry hive (regf) reader: enough to read keys and values by path.

exhunt reads a few values of the SOFTWARE hive (the Exchange ``Setup`` key, EOMT's state); a
dependency for that is not worth it. The reader follows the documented regf layout: a 4 KiB base
block (``regf``, root cell offset at 0x24), then hive bins whose cells hold key nodes (``nk``),
subkey lists (``lf``, ``lh``, ``li``, ``ri``), value lists and value records (``vk``). Every
offset is checked; a damaged hive yields fewer keys, never an exception. Transaction logs
(``SOFTWARE.LOG1``/``.LOG2``) are not replayed: a hive copied from a running system may miss
its last changes (:attr:`Hive.dirty` says when the base block shows that).

References:
    https://github.com/libyal/libregf/blob/main/documentation/Windows%20NT%20Registry%20File%20(REGF)%20format.asciidoc
    https://github.com/msuhanov/regf/blob/master/Windows%20registry%20file%20format%20specification.md
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BASE_BLOCK = 4096
REG_SZ, REG_EXPAND_SZ, REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 3, 4, 7, 11
_MAX_ENTRIES = 100_000
_MAX_VALUE = 1 << 20
_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

Value = str | int | bytes | list[str]


class Hive:
    """A hive's bytes, read lazily by path."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.valid = data[:4] == b"regf" and len(data) > BASE_BLOCK
        primary, secondary = self._u32(4), self._u32(8)
        self.dirty = self.valid and primary != secondary
        """The base block's sequence numbers differ: the hive was not cleanly written."""
        root = self._u32(0x24)
        self.root = Key(self, BASE_BLOCK + root) if self.valid and root is not None else None

    def key(self, path: str) -> Key | None:
        """The key at ``path`` below the root (``Microsoft\\ExchangeServer\\v15\\Setup``),
        compared case-insensitively; a leading ``SOFTWARE\\`` or ``HKLM\\SOFTWARE\\`` is allowed."""
        parts = [p for p in path.replace("/", "\\").split("\\") if p]
        while parts and parts[0].upper() in ("HKLM", "HKEY_LOCAL_MACHINE", "SOFTWARE"):
            parts.pop(0)
        key = self.root
        for part in parts:
            key = key.subkey(part) if key is not None else None
        return key

    def _u16(self, offset: int) -> int | None:
        if offset < 0 or offset + 2 > len(self.data):
            return None
        value: int = struct.unpack_from("<H", self.data, offset)[0]
        return value

    def _u32(self, offset: int) -> int | None:
        if offset < 0 or offset + 4 > len(self.data):
            return None
        value: int = struct.unpack_from("<I", self.data, offset)[0]
        return value

    def _cell(self, offset: int | None) -> tuple[int, int] | None:
        """``(start of the cell's data, its length)`` for a cell offset relative to the bins."""
        if offset is None or offset in (0, 0xFFFFFFFF):
            return None
        start = BASE_BLOCK + offset
        raw = self._u32(start)
        if raw is None:
            return None
        size = abs(struct.unpack("<i", struct.pack("<I", raw))[0])
        if size < 8 or start + size > len(self.data):
            return None
        return start + 4, size - 4


@dataclass(frozen=True, slots=True)
class Key:
    """One key node (``nk``)."""

    hive: Hive
    offset: int
    """Absolute offset of the cell's size field."""

    @property
    def _start(self) -> int | None:
        cell = self.hive._cell(self.offset - BASE_BLOCK)
        if cell is None or self.hive.data[cell[0] : cell[0] + 2] != b"nk":
            return None
        return cell[0]

    @property
    def name(self) -> str:
        start = self._start
        length = self.hive._u16(start + 72) if start is not None else None
        flags = self.hive._u16(start + 2) if start is not None else None
        if start is None or length is None or flags is None:
            return ""
        raw = self.hive.data[start + 76 : start + 76 + length]
        return raw.decode("latin-1") if flags & 0x20 else raw.decode("utf-16-le", "replace")

    @property
    def last_written(self) -> datetime | None:
        """The key's last write time (FILETIME, UTC)."""
        start = self._start
        if start is None or start + 12 > len(self.hive.data):
            return None
        ticks: int = struct.unpack_from("<Q", self.hive.data, start + 4)[0]
        try:
            return _EPOCH + timedelta(microseconds=ticks // 10)
        except OverflowError:
            return None

    def subkeys(self) -> list[Key]:
        start = self._start
        if start is None:
            return []
        offsets = _list_offsets(self.hive, self.hive._u32(start + 28), depth=0)
        return [Key(self.hive, BASE_BLOCK + o) for o in offsets]

    def subkey(self, name: str) -> Key | None:
        wanted = name.lower()
        return next((k for k in self.subkeys() if k.name.lower() == wanted), None)

    def values(self) -> dict[str, Value]:
        """Every value of the key by name (the default value is ``""``)."""
        start = self._start
        if start is None:
            return {}
        count, table = self.hive._u32(start + 36), self.hive._u32(start + 40)
        cell = self.hive._cell(table) if count else None
        found: dict[str, Value] = {}
        if cell is None or count is None:
            return found
        for index in range(min(count, cell[1] // 4, _MAX_ENTRIES)):
            value = _value(self.hive, self.hive._u32(cell[0] + 4 * index))
            if value is not None:
                found[value[0]] = value[1]
        return found


def _list_offsets(hive: Hive, offset: int | None, depth: int) -> list[int]:
    """Cell offsets of the key nodes a subkey list (``lf``/``lh``/``li``/``ri``) points to."""
    cell = hive._cell(offset)
    if cell is None or depth > 2:
        return []
    start, size = cell
    kind, count = hive.data[start : start + 2], hive._u16(start + 2) or 0
    step = 8 if kind in (b"lf", b"lh") else 4
    if kind not in (b"lf", b"lh", b"li", b"ri"):
        return []
    entries = [hive._u32(start + 4 + step * i) for i in range(min(count, (size - 4) // step))]
    found = [e for e in entries[:_MAX_ENTRIES] if e is not None]
    if kind == b"ri":
        return [o for sub in found for o in _list_offsets(hive, sub, depth + 1)]
    return found


def _value(hive: Hive, offset: int | None) -> tuple[str, Value] | None:
    cell = hive._cell(offset)
    if cell is None or hive.data[cell[0] : cell[0] + 2] != b"vk":
        return None
    start = cell[0]
    name_length, size = hive._u16(start + 2), hive._u32(start + 4)
    data_offset, kind, flags = hive._u32(start + 8), hive._u32(start + 12), hive._u16(start + 16)
    if None in (name_length, size, data_offset, kind, flags):
        return None
    assert name_length is not None and size is not None and kind is not None and flags is not None
    raw_name = hive.data[start + 20 : start + 20 + name_length]
    name = raw_name.decode("latin-1") if flags & 1 else raw_name.decode("utf-16-le", "replace")
    raw = _value_bytes(hive, size, data_offset)
    return (name, _decode(kind, raw)) if raw is not None else None


def _value_bytes(hive: Hive, size: int, data_offset: int | None) -> bytes | None:
    if size & 0x80000000:  # small data is stored in the offset field itself
        length = min(size & 0x7FFFFFFF, 4)
        return struct.pack("<I", data_offset or 0)[:length]
    cell = hive._cell(data_offset)
    if cell is None or size > min(cell[1], _MAX_VALUE):
        return None  # big-data (db) records are not needed for the values exhunt reads
    return hive.data[cell[0] : cell[0] + size]


def _decode(kind: int, raw: bytes) -> Value:
    if kind in (REG_SZ, REG_EXPAND_SZ):
        return raw.decode("utf-16-le", "replace").split("\0", 1)[0]
    if kind == REG_MULTI_SZ:
        return [s for s in raw.decode("utf-16-le", "replace").split("\0") if s]
    if kind == REG_DWORD and len(raw) == 4:
        dword: int = struct.unpack("<I", raw)[0]
        return dword
    if kind == REG_QWORD and len(raw) == 8:
        qword: int = struct.unpack("<Q", raw)[0]
        return qword
    return raw
