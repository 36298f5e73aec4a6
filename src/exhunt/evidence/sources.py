"""Turn the paths a user gives into one list of evidence files.

Each path is a folder, an archive (unpacked into a fresh temporary folder, never beside the
evidence), a disk image (the files a scan reads copied out into such a folder) or a single log
file. Several paths are parts of one server's evidence and appear
under their own names (``V15/...``, ``LogFiles/...``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exhunt.evidence import sniff
from exhunt.evidence.archive import ArchiveLimits
from exhunt.evidence.files import EvidenceFile, display_name, file_entry, walk_tree
from exhunt.evidence.image import extract_image, is_disk_image
from exhunt.evidence.unpack import unpack_archive
from exhunt.exceptions import (
    EvidenceNotFoundError,
    EvidenceUnreadableError,
    UnsupportedEvidenceError,
    UsageError,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Collected:
    """The files of all given paths, and what it took to reach them."""

    files: list[EvidenceFile] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sha256: str | None = None
    temp: Path | None = None
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Assumptions made while reaching the files (a drive letter an image does not record)."""

    @property
    def kind(self) -> str:
        """``directory``, ``archive``, ``image`` or ``file``; a mix of parts counts as
        ``directory``."""
        return self.kinds[0] if len(set(self.kinds)) == 1 else "directory"


def collect(paths: Sequence[Path], limits: ArchiveLimits, workdir: Path | None) -> Collected:
    """Check, unpack and walk every path.

    Raises:
        EvidenceNotFoundError, EvidenceUnreadableError, UnsupportedEvidenceError, ArchiveError,
        UsageError: see :func:`exhunt.evidence.open_evidence`.
    """
    for path in paths:
        check_path(path)
    _check_workdir(workdir, paths)
    collected = Collected()
    paths = _distinct(paths, collected.skipped)
    try:
        single = len(paths) == 1
        for path, prefix in zip(paths, _prefixes(paths), strict=True):
            _collect_one(collected, path, "" if single else prefix, limits, workdir)
        if len(paths) == 1 and collected.kind == "archive":
            collected.sha256 = sha256_of(paths[0])
    except BaseException:
        remove_temp(collected.temp)
        raise
    if not collected.files:
        remove_temp(collected.temp)
        raise UnsupportedEvidenceError(_empty_message(paths, collected), path=str(paths[0]))
    return collected


def check_path(path: Path) -> None:
    """Raise the right evidence error when ``path`` is missing, unreadable or special."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise EvidenceNotFoundError(f"evidence not found: {path}", path=str(path)) from None
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise UnsupportedEvidenceError(
            f"{path} is neither a folder nor a file (a device, pipe or socket)", path=str(path)
        )
    try:
        if stat.S_ISDIR(st.st_mode):
            with os.scandir(path) as entries:
                next(entries, None)
        else:
            with path.open("rb") as handle:
                handle.read(1)
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def _distinct(paths: Sequence[Path], skipped: list[str]) -> list[Path]:
    """Leave out a path that lies inside another given folder: its files are read once."""
    folders = [(p, os.path.realpath(p)) for p in paths if p.is_dir()]
    kept = []
    for path in paths:
        real = os.path.realpath(path)
        outer = next(
            (f for f, f_real in folders if f_real != real and _contains(f_real, real)), None
        )
        if outer is None:
            kept.append(path)
        else:
            skipped.append(f"{path}: inside {outer}, read once as part of it")
    return kept


def _contains(folder: str, path: str) -> bool:
    return os.path.commonpath([folder, path]) == folder


def _unreadable(path: Path, exc: OSError) -> EvidenceUnreadableError:
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
    return EvidenceUnreadableError(f"cannot read evidence {path}: {reason}", path=str(path))


def _check_workdir(workdir: Path | None, paths: Sequence[Path]) -> None:
    if workdir is None:
        return
    if not workdir.is_dir():
        raise UsageError(f"working folder {workdir} does not exist")
    real = os.path.realpath(workdir)
    for path in paths:
        if path.is_dir() and _contains(os.path.realpath(path), real):
            raise UsageError(
                f"working folder {workdir} is inside the evidence {path}: "
                "nothing may be written into evidence"
            )


def _prefixes(paths: Sequence[Path]) -> list[str]:
    """A distinct top-level name for each part (archive suffixes dropped)."""
    names: list[str] = []
    for path in paths:
        name = display_name(path.resolve().name) or "evidence"
        if path.is_file() and sniff.has_archive_suffix(path):
            name = _strip_archive_suffix(name)
        base, number = name, 2
        while name.lower() in (n.lower() for n in names):
            name, number = f"{base}-{number}", number + 1
        names.append(name)
    return names


def _strip_archive_suffix(name: str) -> str:
    for suffix in sorted(sniff.ARCHIVE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _collect_one(
    collected: Collected, path: Path, prefix: str, limits: ArchiveLimits, workdir: Path | None
) -> None:
    if path.is_dir():
        collected.files += walk_tree(path, prefix, collected.skipped)
        collected.kinds.append("directory")
        return
    head = sniff.read_head(path)
    fmt = sniff.archive_format(path, head)
    if fmt is not None:
        target = _new_unpack_folder(collected, workdir)
        log.info("unpacking %s (%s) into %s", path, fmt, target)
        unpack_archive(path, fmt, target, limits, collected.skipped)
        collected.files += walk_tree(target, prefix, collected.skipped)
        collected.kinds.append("archive")
        return
    if is_disk_image(path, head):
        target = _new_unpack_folder(collected, workdir)
        log.info("copying what a scan reads out of the disk image %s into %s", path, target)
        extract_image(path, target, limits, collected.skipped, collected.notes)
        collected.files += walk_tree(target, prefix, collected.skipped)
        collected.kinds.append("image")
        return
    _check_log_file(path, head)
    collected.files.append(file_entry(path, prefix or display_name(path.name), path.stat()))
    collected.kinds.append("file")


def _check_log_file(path: Path, head: bytes) -> None:
    if sniff.is_evtx(head) or sniff.is_text(head):
        return
    looks = sniff.describe(head)
    if sniff.has_archive_suffix(path):
        message = f"{path} is named like an archive but is not one: it looks like {looks}"
    else:
        message = f"{path} is neither an archive nor a text log: it looks like {looks}"
    raise UnsupportedEvidenceError(message, path=str(path))


def _new_unpack_folder(collected: Collected, workdir: Path | None) -> Path:
    if collected.temp is None:
        collected.temp = Path(tempfile.mkdtemp(prefix="exhunt-", dir=workdir))
    target = collected.temp / f"part{len(collected.kinds) + 1}"
    target.mkdir()
    return target


def _empty_message(paths: Sequence[Path], collected: Collected) -> str:
    where = ", ".join(str(p) for p in paths)
    if collected.skipped:
        return (
            f"{where} contains no files that can be read "
            f"({len(collected.skipped)} left out, first: {collected.skipped[0]})"
        )
    return f"{where} contains no files"


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def remove_temp(temp: Path | None) -> None:
    """Remove a temporary unpack folder, if any."""
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
