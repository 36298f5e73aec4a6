"""Safe unpacking of triage archives: names checked, sizes bounded while streaming.

An archive is hostile input. Every member name is checked before anything is written: absolute
names, drive-letter names and ``..`` components (with ``/`` or ``\\`` separators, as Windows
zips have them) are refused; links and device files are never created. Sizes are counted on the
bytes actually produced, so a member whose header under-states its size is stopped at the
limit all the same. Files are created exclusively inside one fresh folder; an existing file is
never overwritten.
"""

from __future__ import annotations

import errno
import logging
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, NoReturn, Protocol

from exhunt.exceptions import ArchiveError

log = logging.getLogger(__name__)

KiB: Final = 1024
MiB: Final = 1024 * KiB
GiB: Final = 1024 * MiB
CHUNK: Final = 1 * MiB

READ_ERRORS: Final = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    tarfile.TarError,
    ValueError,
)
"""What reading a damaged archive raises, across the zip, tar and compression modules."""

_DRIVE_NAME = re.compile(r"^[A-Za-z]:")
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*\x00-\x1f]')


class Readable(Protocol):
    """A decompressing member stream (zip, tar or a compressed file)."""

    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on unpacking one archive; exceeding any of them raises :class:`ArchiveError`.

    The defaults fit a large Exchange triage collection (tens of thousands of hourly logs,
    event logs of several GiB) while stopping decompression bombs early.

    Attributes:
        max_total_bytes: bytes unpacked from the whole archive (default 64 GiB).
        max_member_bytes: bytes unpacked from one member (default 16 GiB).
        max_members: number of members, folders included (default 1,000,000).
        max_ratio: unpacked bytes per byte of archive (default 1,000); checked once more than
            ``ratio_floor_bytes`` are unpacked, so small archives of repetitive logs pass.
        ratio_floor_bytes: unpacked size below which the ratio is not checked (default 64 MiB).
    """

    max_total_bytes: int = 64 * GiB
    max_member_bytes: int = 16 * GiB
    max_members: int = 1_000_000
    max_ratio: float = 1000.0
    ratio_floor_bytes: int = 64 * MiB


def printable(name: str, limit: int = 300) -> str:
    """A member name safe to show: control characters escaped, length bounded."""
    text = "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in name)
    return text if len(text) <= limit else text[:limit] + "..."


def unsafe_reason(name: str) -> str | None:
    """Why a member name must not be unpacked, or None when it is safe."""
    if "\x00" in name:
        return "name contains a NUL byte"
    unified = name.replace("\\", "/")
    if unified.startswith("/"):
        return "absolute name"
    if _DRIVE_NAME.match(unified):
        return "drive-letter name"
    parts = unified.split("/")
    if ".." in parts:
        return "'..' component in name"
    if not any(part not in ("", ".") for part in parts):
        return "empty name"
    return None


def name_parts(name: str) -> tuple[str, ...]:
    """The components of a safe member name, either separator, ``.`` and empties dropped."""
    parts = name.replace("\\", "/").split("/")
    return tuple(_host_safe(part) for part in parts if part not in ("", "."))


def _host_safe(part: str) -> str:
    # POSIX takes any name but '/'; on a Windows analysis host, characters such as the ':' of
    # acquire's 'fs/C:/' folders are percent-encoded like Velociraptor does.
    if os.name != "nt":
        return part
    encoded = _WINDOWS_RESERVED.sub(lambda m: f"%{ord(m.group()):02X}", part)
    if encoded.endswith((" ", ".")):
        encoded = encoded[:-1] + f"%{ord(encoded[-1]):02X}"
    return encoded


class Extractor:
    """Writes the members of one archive into ``dest`` within :class:`ArchiveLimits`."""

    def __init__(self, archive: Path, dest: Path, limits: ArchiveLimits, skipped: list[str]):
        self.archive = archive
        self.dest = dest
        self.limits = limits
        self.skipped = skipped
        self.archive_size = max(archive.stat().st_size, 1)
        self.total = 0
        self.members = 0
        self.files = 0

    def fail(self, member: str | None, reason: str) -> NoReturn:
        """Raise an :class:`ArchiveError` naming the archive and the member."""
        where = f", member '{printable(member)}'" if member is not None else ""
        raise ArchiveError(f"archive {self.archive}{where}: {reason}", path=str(self.archive))

    def skip(self, member: str, reason: str) -> None:
        """Leave a member out and record why."""
        self.skipped.append(f"{printable(member)}: {reason}")
        log.debug("%s: skipped member %s: %s", self.archive, printable(member), reason)

    def count_member(self, member: str) -> None:
        """Count one member against ``max_members``."""
        self.members += 1
        if self.members > self.limits.max_members:
            self.fail(member, f"more than {self.limits.max_members:,} members (limit)")

    def target(self, member: str) -> Path | None:
        """Where a member goes, or None (recorded) when its name is unsafe."""
        reason = unsafe_reason(member)
        if reason is not None:
            self.skip(member, f"refused: {reason}")
            return None
        path = self.dest.joinpath(*name_parts(member))
        if os.path.commonpath([self.dest, path]) != str(self.dest) or path == self.dest:
            self.skip(member, "refused: resolves outside the unpack folder")
            return None
        return path

    def make_dir(self, member: str) -> None:
        """Create the folder of a folder member; the archive's own root (``.``) needs none."""
        if not name_parts(member) and unsafe_reason(member) == "empty name":
            return  # "tar -C folder ." writes the folder itself as "./"
        path = self.target(member)
        if path is None:
            return
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._write_error(member, exc)

    def check_declared(self, member: str, declared: int) -> None:
        """Refuse early a member whose header already declares more than the limit."""
        if declared > self.limits.max_member_bytes:
            self.fail(
                member,
                f"declares {declared:,} bytes, over the limit of "
                f"{self.limits.max_member_bytes:,} bytes per member",
            )

    def write(self, member: str, source: Readable, mtime: float | None) -> None:
        """Stream one file member to its target, counting every byte produced."""
        path = self.target(member)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as out:
                self._copy(member, source, out)
        except FileExistsError:
            self.skip(member, "duplicate name, first copy kept")
            return
        except OSError as exc:
            self._write_error(member, exc)
            return
        self.files += 1
        _set_mtime(path, mtime)

    def _copy(self, member: str, source: Readable, out: IO[bytes]) -> None:
        written = 0
        while chunk := self._read(member, source):
            written += len(chunk)
            self.total += len(chunk)
            self._check_sizes(member, written)
            out.write(chunk)

    def _read(self, member: str, source: Readable) -> bytes:
        try:
            return source.read(CHUNK)
        except READ_ERRORS as exc:
            self.fail(member, f"damaged archive ({exc or type(exc).__name__})")

    def _check_sizes(self, member: str, written: int) -> None:
        limits = self.limits
        if written > limits.max_member_bytes:
            self.fail(member, f"unpacks to more than {limits.max_member_bytes:,} bytes (limit)")
        if self.total > limits.max_total_bytes:
            self.fail(member, f"archive unpacks to more than {limits.max_total_bytes:,} bytes")
        ratio_limit = self.archive_size * limits.max_ratio
        if self.total > limits.ratio_floor_bytes and self.total > ratio_limit:
            self.fail(
                member,
                f"unpacks to more than {limits.max_ratio:g} times the archive size "
                "(a decompression bomb?)",
            )

    def _write_error(self, member: str, exc: OSError) -> None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            self.fail(member, f"no space left to unpack into {self.dest.parent}")
        self.skip(member, f"could not be unpacked ({exc.strerror or exc})")


def _set_mtime(path: Path, mtime: float | None) -> None:
    if mtime is None:
        return
    try:
        os.utime(path, (mtime, mtime))
    except (OSError, OverflowError, ValueError):
        log.debug("%s: member time %r not representable", path, mtime)
