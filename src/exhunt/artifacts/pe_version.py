"""The version resource (``VS_VERSIONINFO``) of a Windows PE file, such as Exchange's ExSetup.exe.

Health Checker takes the server's build from ExSetup.exe's file version (``FileBuildPart``,
``FilePrivatePart``); the same numbers are in the file's ``VS_FIXEDFILEINFO``. The resource is
found through the PE resource directory (type ``RT_VERSION`` = 16); when the headers are damaged
or the file is cut short, the ``VS_VERSION_INFO`` block is searched for directly. Every offset
is checked against the data: a hostile file gives None or fewer strings, never an exception.

References:
    https://learn.microsoft.com/windows/win32/debug/pe-format (resource directory)
    https://learn.microsoft.com/windows/win32/menurc/vs-versioninfo
    https://learn.microsoft.com/windows/win32/api/verrsrc/ns-verrsrc-vs_fixedfileinfo
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RT_VERSION = 16
FIXED_SIGNATURE = 0xFEEF04BD
_KEY = "VS_VERSION_INFO".encode("utf-16-le")
_MAX_NODES = 512

Version = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class PeVersion:
    """What the version resource says.

    Attributes:
        file_version: ``VS_FIXEDFILEINFO`` file version (major, minor, build, private).
        product_version: ``VS_FIXEDFILEINFO`` product version.
        strings: the ``StringFileInfo`` values (``FileVersion``, ``ProductVersion``, ...).
        found_by: ``resource directory`` or ``search`` (headers unusable).
    """

    file_version: Version | None
    product_version: Version | None
    strings: dict[str, str] = field(default_factory=dict)
    found_by: str = "resource directory"


def read_version(data: bytes) -> PeVersion | None:
    """The version resource of a PE file's bytes; None if it has none that can be read."""
    block = _from_resources(data)
    found_by = "resource directory"
    if block is None:
        start = data.find(_KEY)
        block = data[start - 6 :] if start >= 6 else None
        found_by = "search"
    if block is None:
        return None
    return _parse_block(block, found_by)


def _u16(data: bytes, offset: int) -> int | None:
    if offset < 0 or offset + 2 > len(data):
        return None
    value: int = struct.unpack_from("<H", data, offset)[0]
    return value


def _u32(data: bytes, offset: int) -> int | None:
    if offset < 0 or offset + 4 > len(data):
        return None
    value: int = struct.unpack_from("<I", data, offset)[0]
    return value


def _from_resources(data: bytes) -> bytes | None:
    if data[:2] != b"MZ":
        return None
    pe = _u32(data, 0x3C)
    if pe is None or data[pe : pe + 4] != b"PE\0\0":
        return None
    sections = _sections(data, pe)
    resource_rva = _resource_rva(data, pe)
    if not sections or resource_rva is None:
        return None
    base = _offset(resource_rva, sections)
    if base is None:
        return None
    entry = _version_entry(data, base)
    if entry is None:
        return None
    rva, size = _u32(data, entry), _u32(data, entry + 4)
    start = _offset(rva, sections) if rva is not None else None
    if start is None or size is None:
        return None
    return data[start : start + size]


def _resource_rva(data: bytes, pe: int) -> int | None:
    optional = pe + 24
    magic = _u16(data, optional)
    directories = {0x10B: optional + 96, 0x20B: optional + 112}.get(magic or 0)
    count = _u32(data, directories - 4) if directories else None
    if directories is None or count is None or count <= 2:
        return None
    return _u32(data, directories + 2 * 8)


def _sections(data: bytes, pe: int) -> list[tuple[int, int, int]]:
    """``(virtual address, virtual size, raw offset)`` of each section."""
    count, optional_size = _u16(data, pe + 6), _u16(data, pe + 20)
    if count is None or optional_size is None:
        return []
    table = pe + 24 + optional_size
    found = []
    for index in range(min(count, 96)):
        entry = table + 40 * index
        values = [_u32(data, entry + off) for off in (8, 12, 16, 20)]
        vsize, vaddr, raw_size, raw_ptr = values
        if vsize is None or vaddr is None or raw_size is None or raw_ptr is None:
            break
        found.append((vaddr, max(vsize, raw_size), raw_ptr))
    return found


def _offset(rva: int, sections: list[tuple[int, int, int]]) -> int | None:
    for vaddr, size, raw in sections:
        if vaddr <= rva < vaddr + size:
            return raw + rva - vaddr
    return None


def _version_entry(data: bytes, base: int) -> int | None:
    """Follow type RT_VERSION, then the first name and first language, to its data entry."""
    offset = _child(data, base, base, RT_VERSION)
    for _ in range(2):
        if offset is None or not offset & 0x80000000:
            return None
        offset = _child(data, base, base + (offset & 0x7FFFFFFF), None)
    if offset is None or offset & 0x80000000:
        return None
    return base + offset


def _child(data: bytes, base: int, directory: int, wanted: int | None) -> int | None:
    """The offset field of the directory entry with id ``wanted`` (None: the first entry)."""
    named, ids = _u16(data, directory + 12), _u16(data, directory + 14)
    if named is None or ids is None:
        return None
    for index in range(min(named + ids, _MAX_NODES)):
        entry = directory + 16 + 8 * index
        name, offset = _u32(data, entry), _u32(data, entry + 4)
        if name is None or offset is None:
            return None
        if wanted is None or name == wanted:
            return offset
    return None


def _parse_block(block: bytes, found_by: str) -> PeVersion | None:
    node = _node(block, 0)
    if node is None or node[1] != "VS_VERSION_INFO":
        return None
    _, _, value_start, value_length, children, end = node
    fixed = _fixed(block, value_start, value_length)
    strings: dict[str, str] = {}
    _strings(block, children, end, strings, 0)
    file_version, product_version = fixed if fixed else (None, None)
    return PeVersion(file_version, product_version, strings, found_by)


def _fixed(block: bytes, start: int, length: int) -> tuple[Version, Version] | None:
    if length < 52 or _u32(block, start) != FIXED_SIGNATURE:
        return None
    words = struct.unpack_from("<4I", block, start + 8)
    return _version(words[0], words[1]), _version(words[2], words[3])


def _version(ms: int, ls: int) -> Version:
    return ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF


Node = tuple[int, str, int, int, int, int]
"""``(type, key, value start, value length in bytes, first child, end)``."""


def _node(block: bytes, start: int) -> Node | None:
    length, value_length, kind = _u16(block, start), _u16(block, start + 2), _u16(block, start + 4)
    if length is None or value_length is None or kind is None or length < 6:
        return None
    end = min(start + length, len(block))
    key_end = start + 6
    while key_end + 1 < end and block[key_end : key_end + 2] != b"\0\0":
        key_end += 2
    key = block[start + 6 : key_end].decode("utf-16-le", "replace")
    value_start = _align(key_end + 2)
    value_bytes = value_length * 2 if kind == 1 else value_length
    children = _align(value_start + value_bytes)
    return kind, key, value_start, min(value_bytes, max(end - value_start, 0)), children, end


def _strings(block: bytes, start: int, end: int, out: dict[str, str], depth: int) -> None:
    """Collect ``String`` leaves under StringFileInfo/StringTable (VarFileInfo is skipped)."""
    position = start
    for _ in range(_MAX_NODES):
        node = _node(block, position) if position < end else None
        if node is None:
            return
        kind, key, value_start, value_length, children, node_end = node
        if node_end <= position:
            return
        if depth < 2 and key != "VarFileInfo":
            _strings(block, children, node_end, out, depth + 1)  # StringFileInfo, StringTable
        elif depth == 2 and kind == 1 and len(out) < _MAX_NODES:
            text = block[value_start : value_start + value_length].decode("utf-16-le", "replace")
            out[key] = text.split("\0", 1)[0]
        position = _align(node_end)


def _align(offset: int) -> int:
    return (offset + 3) & ~3


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)
