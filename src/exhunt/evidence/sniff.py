"""Tell what a single file is from its first bytes: an archive, a log, or something else.

Decisions are made on content (magic bytes), never on the extension alone: triage archives are
often renamed, and a file named ``.zip`` may be anything.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from pathlib import Path
from typing import Final

HEAD_SIZE: Final = 64 * 1024
"""How much of a file is read to decide what it is."""

ARCHIVE_SUFFIXES: Final = (
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
    ".gz",
    ".bz2",
    ".xz",
)

_COMPRESSED: Final = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}

# (offset, magic, description) for files exhunt does not read, so the message can say what the
# file looks like.
_KNOWN: Final = (
    (0, b"7z\xbc\xaf'\x1c", "a 7-Zip archive (not supported: extract it and scan the folder)"),
    (0, b"Rar!\x1a\x07", "a RAR archive (not supported: extract it and scan the folder)"),
    (0, b"MSCF", "a Windows cabinet (.cab) archive (not supported: extract it first)"),
    (0, b"EVF\x09\x0d\x0a\xff\x00", "an EnCase (E01) disk image"),
    (0, b"vhdxfile", "a Hyper-V VHDX disk image"),
    (0, b"KDMV", "a VMware VMDK disk image"),
    (0, b"QFI\xfb", "a QEMU QCOW2 disk image"),
    (0, b"conectix", "a VHD disk image"),
    (0, b"regf", "a Windows registry hive"),
    (0, b"SQLite format 3\x00", "an SQLite database"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE compound file (old Office document or MSI)"),
    (4, b"\xef\xcd\xab\x89", "an ESE database (.edb)"),
    (0, b"MZ", "a Windows executable or DLL"),
    (0, b"\x7fELF", "an ELF executable"),
    (0, b"%PDF", "a PDF document"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
)

EVTX_MAGIC: Final = b"ElfFile\x00"


def read_head(path: Path, size: int = HEAD_SIZE) -> bytes:
    """The first ``size`` bytes of a file."""
    with path.open("rb") as handle:
        return handle.read(size)


def archive_format(path: Path, head: bytes) -> str | None:
    """Return ``zip``, ``tar``, ``tar+gzip``/``bzip2``/``xz`` or a bare compression name.

    A bare ``gzip``, ``bzip2`` or ``xz`` is one compressed file, not a tar (for example a
    gzipped IIS log).
    """
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if is_tar_header(head):
        return "tar"
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            return f"tar+{name}" if _compressed_tar(path, name) else name
    return None


def is_tar_header(block: bytes) -> bool:
    """Whether ``block`` starts with a valid tar header (ustar magic or a good checksum)."""
    if len(block) < tarfile.BLOCKSIZE:
        return False
    if block[257:262] == b"ustar":
        return True
    try:
        tarfile.TarInfo.frombuf(block[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return False
    return True


def open_compressed(path: Path, name: str) -> io.BufferedIOBase:
    """Open a ``gzip``, ``bzip2`` or ``xz`` file for reading its decompressed bytes."""
    if name == "gzip":
        return gzip.GzipFile(path, "rb")
    if name == "bzip2":
        return bz2.BZ2File(path, "rb")
    return lzma.LZMAFile(path, "rb")


def _compressed_tar(path: Path, name: str) -> bool:
    try:
        with open_compressed(path, name) as stream:
            block = stream.read(tarfile.BLOCKSIZE)
    except (OSError, EOFError, lzma.LZMAError, zlib.error):
        return False
    return is_tar_header(block)


def is_evtx(head: bytes) -> bool:
    """Whether the file is a Windows event log (EVTX), which exhunt reads as a log file."""
    return head.startswith(EVTX_MAGIC)


def is_text(head: bytes) -> bool:
    """Whether the bytes look like a text log: mostly printable, no NUL outside UTF-16.

    Bytes of 0x80 and above count as printable: Exchange and IIS logs are UTF-8, and URLs or
    user agents written by attackers may hold any such byte.
    """
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _utf16_text(head)
    head = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in head:
        return False
    printable = sum(1 for byte in head if byte >= 0x20 or byte in b"\t\n\r\f")
    return printable >= 0.95 * len(head)


def _utf16_text(head: bytes) -> bool:
    text = head[: len(head) // 2 * 2].decode("utf-16", "replace")
    if not text:
        return False
    printable = sum(1 for char in text if char.isprintable() or char in "\t\n\r\f")
    return printable >= 0.95 * len(text)


def describe(head: bytes) -> str:
    """A short phrase saying what a file looks like, for error messages."""
    if not head:
        return "an empty file"
    for offset, magic, text in _KNOWN:
        if head[offset : offset + len(magic)] == magic:
            return text
    return "binary data"


def has_archive_suffix(path: Path) -> bool:
    """Whether the name ends like an archive exhunt can unpack."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def strip_compression_suffix(name: str) -> str:
    """The name of the file inside a bare compressed file (``u_ex1.log.gz`` -> ``u_ex1.log``)."""
    for suffix in (".gz", ".bz2", ".xz"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return f"{name}.unpacked"
