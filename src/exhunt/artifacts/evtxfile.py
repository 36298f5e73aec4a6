"""The outer layout of an EVTX file: file header, 64 KiB chunks, and where a file is cut short.

An EVTX file is a 4,096-byte file header (signature ``ElfFile``, the number of chunks in use,
a CRC32 of its first 120 bytes) followed by 65,536-byte chunks (signature ``ElfChnk``, the
first and last record numbers they hold). The ``evtx`` parser silently drops a chunk cut short,
so a truncated file is presented to it padded with zeros to whole chunks: the records before
the cut are read, and the rest is counted against the chunk's own record numbers. A file shorter
than the chunk count its (checksummed) header names has lost whole chunks, and a chunk of zeros
that the header counts as in use has been wiped (the parser skips zero chunks silently).

One sequential read also gives the SHA-256 of the file's bytes for the evidence manifest.
Reference: https://github.com/libyal/libevtx/blob/main/documentation (file and chunk headers).
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from exhunt.evidence.sniff import describe, is_text

HEADER_SIZE = 4096
CHUNK_SIZE = 65536
FILE_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
READ_BLOCK = 16 * CHUNK_SIZE
_ZERO_CHUNK = bytes(CHUNK_SIZE)
_CHUNK_HEADER_SIZE = 512
_RECORD_MAGIC = b"**\x00\x00"
_MAX_CHUNK_RECORDS = CHUNK_SIZE // 24
"""More records than fit in a chunk (a record is at least 24 bytes): a header not to trust."""


@dataclass(frozen=True, slots=True)
class BadPart:
    """A part of a file that could not be read."""

    where: str
    """``record number N``, ``chunk N (offset X)``, ``after record number N``; may be empty."""
    reason: str
    records: int = 1
    """How many bad records it stands for (an unreadable chunk counts as one)."""

    def describe(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


def chunk_place(index: int) -> str:
    return f"chunk {index} (offset {HEADER_SIZE + index * CHUNK_SIZE})"


@dataclass(frozen=True, slots=True)
class FileLayout:
    """What the bytes of one file say before any record is parsed."""

    size: int
    sha256: str
    is_evtx: bool
    looks: str
    """What the file looks like when it is not EVTX, for the message."""
    declared_chunks: int | None = None
    """Chunks in use by the file header; None when the header is cut or fails its checksum."""
    partial_range: tuple[int, int] | None = None
    """Record numbers the header of a chunk cut short declares, when it is readable."""
    complete: frozenset[int] = frozenset()
    """Numbers of the records of the chunk cut short that end before the cut."""
    zeroed: tuple[int, ...] = ()
    """Chunks that hold only zeros although the file header counts them as in use."""

    @property
    def whole_chunks(self) -> int:
        return max(self.size - HEADER_SIZE, 0) // CHUNK_SIZE

    @property
    def partial_bytes(self) -> int:
        """Bytes of a last chunk cut short (or of a header cut short); 0 when none."""
        if self.size < HEADER_SIZE:
            return self.size
        return (self.size - HEADER_SIZE) % CHUNK_SIZE

    @property
    def padded_size(self) -> int:
        """The size with the last chunk (or header) filled up with zeros."""
        chunks = self.whole_chunks + (1 if self.size > HEADER_SIZE and self.partial_bytes else 0)
        return HEADER_SIZE + chunks * CHUNK_SIZE

    @property
    def missing_chunks(self) -> int:
        present = self.whole_chunks + (1 if self.size > HEADER_SIZE and self.partial_bytes else 0)
        return max((self.declared_chunks or 0) - present, 0)

    @property
    def truncated(self) -> bool:
        return self.is_evtx and bool(self.partial_bytes or self.missing_chunks)

    def in_partial_chunk(self, number: int) -> bool:
        """Whether a record header number belongs to the chunk cut short (whole or not)."""
        if self.partial_range is None:
            return False
        first, last = self.partial_range
        return first <= number <= last

    def damage(self, partial_numbers: Sequence[int]) -> list[BadPart]:
        """The bad parts the layout shows, given the record numbers read from a cut chunk."""
        parts: list[BadPart] = []
        if self.size < HEADER_SIZE:
            # Whole chunks are counted below when the header still says how many there were.
            lost = 0 if self.declared_chunks is not None else 1
            parts.append(
                BadPart("", f"file ends {self.size} bytes into its 4096-byte header", lost)
            )
        elif self.partial_bytes:
            parts.append(self._cut_chunk(len(set(partial_numbers))))
        if self.zeroed:
            parts.append(self._zeroed())
        if self.missing_chunks:
            parts.append(self._missing())
        return parts

    def _missing(self) -> BadPart:
        count = self.missing_chunks
        first = (self.declared_chunks or 0) - count
        return BadPart(
            f"chunk{'s' if count > 1 else ''} {_ranges(range(first, first + count))}",
            f"missing: the file ends before {'them' if count > 1 else 'it'}, though its header "
            f"counts {self.declared_chunks} chunks",
            count,
        )

    def _zeroed(self) -> BadPart:
        count = len(self.zeroed)
        return BadPart(
            f"chunk{'s' if count > 1 else ''} {_ranges(self.zeroed)}",
            f"{'they hold' if count > 1 else 'it holds'} only zeros, though the file header "
            "counts them as in use: wiped or never copied",
            count,
        )

    def _cut_chunk(self, read: int) -> BadPart:
        where = chunk_place(self.whole_chunks)
        cut = f"file ends {self.partial_bytes} bytes into this chunk"
        if self.partial_range is None:
            return BadPart(where, f"{cut}; its records after the cut are lost")
        first, last = self.partial_range
        expected = last - first + 1
        lost = max(expected - read, 0)
        return BadPart(where, f"{cut}; records lost: {lost} of its {expected}", lost)


def survey(path: Path) -> FileLayout:
    """Hash the file and read its layout in one pass.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        head = fh.read(HEADER_SIZE)
        digest.update(head)
        declared = _declared_chunks(head) if head.startswith(FILE_MAGIC) else None
        zeroed = _read_chunks(fh, digest, declared or 0)
        size = fh.tell()
        if not head.startswith(FILE_MAGIC):
            return FileLayout(size, digest.hexdigest(), False, _looks(head, size))
        layout = FileLayout(size, digest.hexdigest(), True, "", declared, zeroed=zeroed)
        if size > HEADER_SIZE and layout.partial_bytes:
            fh.seek(HEADER_SIZE + layout.whole_chunks * CHUNK_SIZE)
            return _with_partial_chunk(layout, fh.read(CHUNK_SIZE))
        return layout


def _read_chunks(fh: BinaryIO, digest: hashlib._Hash, in_use: int) -> tuple[int, ...]:
    """Hash the rest of the file; return the whole chunks below ``in_use`` that are all zeros."""
    zeroed: list[int] = []
    index = 0
    while block := fh.read(READ_BLOCK):
        digest.update(block)
        for start in range(0, len(block) - CHUNK_SIZE + 1, CHUNK_SIZE):
            if index < in_use and block[start : start + CHUNK_SIZE] == _ZERO_CHUNK:
                zeroed.append(index)
            index += 1
    return tuple(zeroed)


def _ranges(indexes: Sequence[int]) -> str:
    """``1-5, 11`` for 1, 2, 3, 4, 5, 11."""
    spans: list[list[int]] = []
    for index in indexes:
        if spans and index == spans[-1][1] + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _looks(head: bytes, size: int) -> str:
    if size == 0:
        return "an empty file"
    looks = describe(head)
    return f"it looks like {'text' if looks == 'binary data' and is_text(head) else looks}"


def _declared_chunks(head: bytes) -> int | None:
    """The header's chunk count, trusted only when the header checksum holds."""
    if len(head) < 128:
        return None
    (stored,) = struct.unpack_from("<I", head, 124)
    if zlib.crc32(head[:120]) != stored:
        return None
    count: int = struct.unpack_from("<H", head, 42)[0]
    return count


def _with_partial_chunk(layout: FileLayout, chunk: bytes) -> FileLayout:
    """Add what the header of the chunk cut short declares, and which records it holds whole."""
    if len(chunk) < 24 or not chunk.startswith(CHUNK_MAGIC):
        return layout
    first, last = struct.unpack_from("<QQ", chunk, 8)
    if not 0 < last - first + 1 <= _MAX_CHUNK_RECORDS:
        return layout
    return replace(layout, partial_range=(first, last), complete=_whole_records(chunk))


def _whole_records(chunk: bytes) -> frozenset[int]:
    """Numbers of the records that end inside ``chunk`` (a chunk's first ``len(chunk)`` bytes).

    Records follow one another from the end of the 512-byte chunk header, each starting with
    ``**\0\0``, its size and its number.
    """
    numbers: set[int] = set()
    offset = _CHUNK_HEADER_SIZE
    while offset + 16 <= len(chunk) and chunk.startswith(_RECORD_MAGIC, offset):
        size, number = struct.unpack_from("<IQ", chunk, offset + 4)
        if size < 24 or offset + size > len(chunk):
            break
        numbers.add(number)
        offset += size
    return frozenset(numbers)


class PaddedFile(io.RawIOBase):
    """A read-only file that reads as zeros from its real end up to ``size``."""

    def __init__(self, path: Path, size: int) -> None:
        super().__init__()
        self._fh = path.open("rb")
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(self._size - self._pos, 0))
        self._fh.seek(self._pos)
        got = self._fh.readinto(view[:wanted]) or 0
        view[got:wanted] = bytes(wanted - got)
        self._pos += wanted
        return wanted

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(base + offset, 0)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._fh.close()
        super().close()
