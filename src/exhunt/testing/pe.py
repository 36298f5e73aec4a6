"""A small Windows PE file with a version resource, as ExSetup.exe has, for tests.

:func:`pe_with_version` writes the DOS and PE headers, one ``.rsrc`` section holding the
resource directory (type 16, one name, one language) and a ``VS_VERSIONINFO`` block with
``VS_FIXEDFILEINFO`` and a ``StringFileInfo`` table, laid out as the PE and version-resource
formats describe.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

_SECTION_RVA = 0x1000
_RAW = 0x200


def pe_with_version(
    file_version: tuple[int, int, int, int],
    strings: Mapping[str, str] | None = None,
    product_version: tuple[int, int, int, int] | None = None,
) -> bytes:
    """The bytes of a minimal PE32 image whose version resource holds these values."""
    block = version_info(file_version, product_version or file_version, strings or {})
    resources = _resource_section(block)
    headers = _headers(len(resources))
    return headers.ljust(_RAW, b"\0") + resources


def version_info(
    file_version: tuple[int, int, int, int],
    product_version: tuple[int, int, int, int],
    strings: Mapping[str, str],
) -> bytes:
    """A ``VS_VERSIONINFO`` block."""
    fixed = struct.pack(
        "<13I", 0xFEEF04BD, 0x10000, *_ms_ls(file_version), *_ms_ls(product_version),
        0x3F, 0, 0x40004, 1, 0, 0, 0,
    )  # fmt: skip
    leaves = b"".join(_node(key, value, text=True) for key, value in strings.items())
    table = _node("040904B0", b"", children=leaves)
    info = _node("StringFileInfo", b"", children=table)
    var = _node("VarFileInfo", b"", children=_node("Translation", struct.pack("<HH", 0x409, 1200)))
    return _node("VS_VERSION_INFO", fixed, children=info + var)


def _ms_ls(version: tuple[int, int, int, int]) -> tuple[int, int]:
    a, b, c, d = version
    return (a << 16) | b, (c << 16) | d


def _node(key: str, value: bytes | str, text: bool = False, children: bytes = b"") -> bytes:
    raw = (value + "\0").encode("utf-16-le") if isinstance(value, str) else value
    value_length = len(raw) // 2 if text else len(raw)
    head = _pad(6 + len((key + "\0").encode("utf-16-le")))
    body = _pad(head + len(raw)) + len(children)
    out = struct.pack("<HHH", body, value_length, 1 if text else 0)
    out += (key + "\0").encode("utf-16-le")
    out = out.ljust(head, b"\0") + raw
    return out.ljust(_pad(len(out)), b"\0") + children


def _pad(length: int) -> int:
    return (length + 3) & ~3


def _resource_section(block: bytes) -> bytes:
    def directory(entry_id: int, target: int) -> bytes:
        return struct.pack("<IIHHHH", 0, 0, 0, 0, 0, 1) + struct.pack("<II", entry_id, target)

    root, names, languages, data_entry = 0, 24, 48, 72
    start = 88
    out = directory(16, 0x80000000 | names)
    out += directory(1, 0x80000000 | languages)
    out += directory(0x409, data_entry)
    out += struct.pack("<IIII", _SECTION_RVA + start, len(block), 0, 0)
    assert len(out) == start and root == 0
    return (out + block).ljust(_pad(start + len(block)), b"\0")


def _headers(section_size: int) -> bytes:
    dos = b"MZ".ljust(0x3C, b"\0") + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 224, 0x0102)
    optional = bytearray(224)
    struct.pack_into("<H", optional, 0, 0x10B)
    struct.pack_into("<I", optional, 92, 16)
    struct.pack_into("<II", optional, 96 + 2 * 8, _SECTION_RVA, section_size)
    section = struct.pack(
        "<8sIIIIIIHHI", b".rsrc", section_size, _SECTION_RVA, section_size, _RAW, 0, 0, 0, 0,
        0x40000040,
    )  # fmt: skip
    return dos.ljust(0x40, b"\0") + b"PE\0\0" + coff + bytes(optional) + section
