"""A small registry hive file (regf), as Windows writes them, for tests.

:func:`hive_with` lays out the base block, one hive bin and the cells (key nodes with ``lf``
subkey lists, value lists and value records, data inline when four bytes or less) so that a
reader sees the keys and values given, each key last written at ``written``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from datetime import UTC, datetime

from exhunt.artifacts.hive import REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_SZ, Value

_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def hive_with(
    keys: Mapping[str, Mapping[str, Value]] | Mapping[str, dict[str, Value]],
    written: datetime = datetime(2021, 3, 5, tzinfo=UTC),
    dirty: bool = False,
) -> bytes:
    """A hive holding ``keys`` (``Microsoft\\ExchangeServer\\v15\\Setup`` -> its values)."""
    tree: dict[str, object] = {}
    for path, values in keys.items():
        node = tree
        for part in [p for p in path.split("\\") if p]:
            node = node.setdefault(part, {})  # type: ignore[assignment]
        node["\0values"] = dict(values)
    cells = _Cells(_filetime(written))
    root = cells.key("ROOT", tree, root=True)
    return _base_block(root, len(cells.data), _filetime(written), dirty) + cells.hbin()


class _Cells:
    def __init__(self, stamp: int) -> None:
        self.data = bytearray()
        self.stamp = stamp

    def add(self, payload: bytes) -> int:
        offset = 32 + len(self.data)  # relative to the first hive bin; its header is 32 bytes
        size = (len(payload) + 4 + 7) & ~7
        self.data += struct.pack("<i", -size) + payload.ljust(size - 4, b"\0")
        return offset

    def key(self, name: str, node: Mapping[str, object], root: bool = False) -> int:
        children = [(k, v) for k, v in node.items() if k != "\0values"]
        offsets = [(k, self.key(k, v)) for k, v in children if isinstance(v, dict)]
        subkeys = self._subkey_list(offsets) if offsets else 0xFFFFFFFF
        values = node.get("\0values", {})
        assert isinstance(values, dict)
        value_list = self._values(values) if values else 0xFFFFFFFF
        raw_name = name.encode("latin-1")
        nk = struct.pack(
            "<2sHQIIIIIIIIIIIIIIIHH", b"nk", 0x2C if root else 0x20, self.stamp, 0, 0,
            len(offsets), 0, subkeys, 0xFFFFFFFF, len(values), value_list, 0xFFFFFFFF,
            0xFFFFFFFF, 0, 0, 0, 0, 0, len(raw_name), 0,
        )  # fmt: skip
        return self.add(nk + raw_name)

    def _subkey_list(self, offsets: list[tuple[str, int]]) -> int:
        entries = b"".join(
            struct.pack("<I4s", o, name.encode("latin-1")[:4].ljust(4, b"\0"))
            for name, o in sorted(offsets, key=lambda item: item[0].upper())
        )
        return self.add(b"lf" + struct.pack("<H", len(offsets)) + entries)

    def _values(self, values: Mapping[str, Value]) -> int:
        return self.add(b"".join(struct.pack("<I", self._value(n, v)) for n, v in values.items()))

    def _value(self, name: str, value: Value) -> int:
        kind, raw = _encode(value)
        if len(raw) <= 4:
            size, where = 0x80000000 | len(raw), struct.unpack("<I", raw.ljust(4, b"\0"))[0]
        else:
            size, where = len(raw), self.add(raw)
        raw_name = name.encode("latin-1")
        vk = struct.pack("<2sHIIIHH", b"vk", len(raw_name), size, where, kind, 1, 0)
        return self.add(vk + raw_name)

    def hbin(self) -> bytes:
        size = (32 + len(self.data) + 4095) & ~4095
        free = size - 32 - len(self.data)
        body = bytes(self.data) + (struct.pack("<i", free) + bytes(free - 4) if free else b"")
        return struct.pack("<4sIIQQI", b"hbin", 0, size, 0, self.stamp, 0) + body


def _encode(value: Value) -> tuple[int, bytes]:
    if isinstance(value, bool | int):
        return REG_DWORD, struct.pack("<I", int(value))
    if isinstance(value, str):
        return REG_SZ, (value + "\0").encode("utf-16-le")
    if isinstance(value, list):
        return REG_MULTI_SZ, ("\0".join(value) + "\0\0").encode("utf-16-le")
    return REG_BINARY, value


def _base_block(root: int, cells: int, stamp: int, dirty: bool) -> bytes:
    bins = (32 + cells + 4095) & ~4095
    block = bytearray(4096)
    struct.pack_into("<4sIIQIIIIIII", block, 0, b"regf", 2 if dirty else 1, 1, stamp, 1, 5, 0,
                     1, root, bins, 1)  # fmt: skip
    block[0x30 : 0x30 + 14] = "SOFTWARE".encode("utf-16-le").ljust(14, b"\0")[:14]
    checksum = 0
    for (word,) in struct.iter_unpack("<I", bytes(block[:0x1FC])):
        checksum ^= word
    struct.pack_into("<I", block, 0x1FC, checksum)
    return bytes(block)


def _filetime(when: datetime) -> int:
    return int((when - _EPOCH).total_seconds() * 10_000_000)
