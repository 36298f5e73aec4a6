"""Unpack zip, tar (plain or compressed) and single compressed files with :class:`Extractor`.

Tar archives are read as a stream (``r|*``): a compressed tar is decompressed once, front to
back, however large. Zip members keep their own modification time (NTFS or Unix extra field
when present, otherwise the DOS time, which has no zone and is taken as UTC).
"""

from __future__ import annotations

import stat
import struct
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from exhunt.evidence.archive import READ_ERRORS, ArchiveLimits, Extractor
from exhunt.evidence.sniff import open_compressed, strip_compression_suffix

_FILETIME_EPOCH = 116_444_736_000_000_000
"""100-ns intervals between 1601-01-01 and 1970-01-01."""


def unpack_archive(
    archive: Path, fmt: str, dest: Path, limits: ArchiveLimits, skipped: list[str]
) -> None:
    """Unpack ``archive`` of format ``fmt`` (from :func:`sniff.archive_format`) into ``dest``.

    Raises:
        ArchiveError: the archive is damaged, encrypted throughout, or exceeds ``limits``.
    """
    extractor = Extractor(archive, dest, limits, skipped)
    if fmt == "zip":
        _unpack_zip(extractor)
    elif fmt.startswith("tar"):
        _unpack_tar(extractor)
    else:
        _unpack_single(extractor, fmt)


def _unpack_zip(ex: Extractor) -> None:
    try:
        with zipfile.ZipFile(ex.archive) as archive:
            encrypted = sum(_zip_member(ex, archive, info) for info in archive.infolist())
    except READ_ERRORS as exc:
        ex.fail(None, f"damaged zip archive ({exc or type(exc).__name__})")
    if encrypted and not ex.files:
        ex.fail(None, "every file in it is encrypted: unpack it with its password first")


def _zip_member(ex: Extractor, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Unpack one zip member; return whether it was skipped as encrypted."""
    name = info.filename
    ex.count_member(name)
    kind = _zip_kind(info)
    if kind == "dir":
        ex.make_dir(name)
    elif kind == "symlink":
        ex.skip(name, "symbolic link, not created")
    elif kind == "special":
        ex.skip(name, "device or special file, not created")
    elif info.flag_bits & 0x1:
        ex.skip(name, "encrypted")
        return True
    else:
        ex.check_declared(name, info.file_size)
        try:
            with archive.open(info) as source:
                ex.write(name, source, _zip_mtime(info))
        except NotImplementedError as exc:
            ex.skip(name, f"compression method not supported ({exc})")
    return False


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:
        fmt = stat.S_IFMT(mode)
        if fmt == stat.S_IFLNK:
            return "symlink"
        if fmt in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            return "special"
        if fmt == stat.S_IFDIR:
            return "dir"
    if info.filename.endswith(("/", "\\")) or info.external_attr & 0x10:
        return "dir"
    return "file"


def _zip_mtime(info: zipfile.ZipInfo) -> float | None:
    extra = info.extra
    found: dict[int, float] = {}
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        value = _ntfs_mtime(body) if tag == 0x000A else _unix_mtime(body) if tag == 0x5455 else None
        if value is not None:
            found.setdefault(tag, value)
        pos += 4 + size
    return found.get(0x000A, found.get(0x5455, _dos_mtime(info.date_time)))


def _ntfs_mtime(body: bytes) -> float | None:
    pos = 4  # reserved
    while pos + 4 <= len(body):
        tag, size = struct.unpack_from("<HH", body, pos)
        if tag == 0x0001 and size >= 8 and pos + 12 <= len(body):
            (filetime,) = struct.unpack_from("<Q", body, pos + 4)
            return (filetime - _FILETIME_EPOCH) / 10_000_000 if filetime else None
        pos += 4 + size
    return None


def _unix_mtime(body: bytes) -> float | None:
    if len(body) >= 5 and body[0] & 0x1:
        return float(struct.unpack_from("<i", body, 1)[0])
    return None


def _dos_mtime(date_time: tuple[int, int, int, int, int, int]) -> float | None:
    try:
        return datetime(*date_time, tzinfo=UTC).timestamp()
    except (ValueError, OverflowError):
        return None


def _unpack_tar(ex: Extractor) -> None:
    member_name: str | None = None
    try:
        with tarfile.open(ex.archive, mode="r|*") as archive:
            for member in archive:
                member_name = member.name
                _tar_member(ex, archive, member)
    except READ_ERRORS as exc:
        after = f" after member '{member_name}'" if member_name else ""
        ex.fail(None, f"damaged tar archive{after} ({exc or type(exc).__name__})")


def _tar_member(ex: Extractor, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    name = member.name
    ex.count_member(name)
    if member.isdir():
        ex.make_dir(name)
    elif member.issym():
        ex.skip(name, "symbolic link, not created")
    elif member.islnk():
        ex.skip(name, "hard link, not created")
    elif member.ischr() or member.isblk() or member.isfifo():
        ex.skip(name, "device or special file, not created")
    elif member.isreg():
        ex.check_declared(name, member.size)
        source = archive.extractfile(member)
        if source is not None:
            with source:
                ex.write(name, source, float(member.mtime))
    else:
        ex.skip(name, "unsupported tar member type")


def _unpack_single(ex: Extractor, fmt: str) -> None:
    name = strip_compression_suffix(ex.archive.name)
    ex.count_member(name)
    with open_compressed(ex.archive, fmt) as source:
        ex.write(name, source, _gzip_mtime(ex.archive) if fmt == "gzip" else None)


def _gzip_mtime(path: Path) -> float | None:
    with path.open("rb") as handle:
        header = handle.read(8)
    if len(header) < 8:
        return None
    (mtime,) = struct.unpack_from("<I", header, 4)
    return float(mtime) if mtime else None
