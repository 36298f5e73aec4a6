"""Evidence files and the read-only walk that lists them.

The walk never follows a symbolic link out of the evidence, never descends into a linked folder
(which could loop) and never opens special files (a FIFO would block a scan for ever). What it
leaves out is recorded with the reason, so the result document can say what was not read.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """One regular file of the evidence.

    Attributes:
        rel: path relative to the evidence root, ``/`` separated, as named on disk (Velociraptor
            names stay percent-encoded here).
        real: where the bytes are on this machine (inside the evidence, or inside the temporary
            folder an archive was unpacked into).
        size: size in bytes.
        mtime: last modification time, aware UTC; for archives, the member's own time.
        windows_path: the file's path on the server, where the layout or IIS config says it.
    """

    rel: str
    real: Path
    size: int
    mtime: datetime | None
    windows_path: str | None = None


def join_rel(prefix: str, name: str) -> str:
    """Join a relative folder and a name with ``/``; an empty prefix is the root."""
    return f"{prefix}/{name}" if prefix else name


def display_name(name: str) -> str:
    """A file name that can be printed and stored as JSON.

    Names that are not valid UTF-8 on disk come back from the OS with surrogate escapes; the
    readable form replaces the bad bytes, while ``real`` keeps the true name for reading.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def mtime_of(value: float) -> datetime | None:
    """A POSIX timestamp as an aware UTC time, or None when the platform cannot represent it."""
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def file_entry(real: Path, rel: str, st: os.stat_result) -> EvidenceFile:
    """An :class:`EvidenceFile` from a stat result (Windows path filled in later)."""
    return EvidenceFile(rel=rel, real=real, size=st.st_size, mtime=mtime_of(st.st_mtime))


def walk_tree(root: Path, prefix: str, skipped: list[str]) -> list[EvidenceFile]:
    """List every regular file under ``root``, depth first, without following links out.

    Args:
        root: the folder to walk.
        prefix: relative path that ``root`` has in the evidence ('' for the evidence root).
        skipped: receives one ``"<rel>: <reason>"`` line per entry left out.

    Returns:
        The files found, unsorted.
    """
    root_real = os.path.realpath(root)
    found: list[EvidenceFile] = []
    stack: list[tuple[str, str]] = [(str(root), prefix)]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    _visit(entry, rel_folder, root_real, found, stack, skipped)
        except OSError as exc:
            skipped.append(f"{rel_folder or '.'}/: folder not readable ({exc.strerror or exc})")
    return found


def _visit(
    entry: os.DirEntry[str],
    rel_folder: str,
    root_real: str,
    found: list[EvidenceFile],
    stack: list[tuple[str, str]],
    skipped: list[str],
) -> None:
    rel = join_rel(rel_folder, display_name(entry.name))
    try:
        if entry.is_symlink():
            _visit_link(entry, rel, root_real, found, skipped)
        elif entry.is_dir(follow_symlinks=False):
            stack.append((entry.path, rel))
        elif entry.is_file(follow_symlinks=False):
            found.append(file_entry(Path(entry.path), rel, entry.stat(follow_symlinks=False)))
        else:
            skipped.append(f"{rel}: not a regular file (device, pipe or socket)")
    except OSError as exc:
        skipped.append(f"{rel}: not readable ({exc.strerror or exc})")


def _visit_link(
    entry: os.DirEntry[str],
    rel: str,
    root_real: str,
    found: list[EvidenceFile],
    skipped: list[str],
) -> None:
    target = os.path.realpath(entry.path)
    if os.path.commonpath([root_real, target]) != root_real:
        skipped.append(f"{rel}: symbolic link pointing outside the evidence, not followed")
        return
    st = os.stat(target)
    if stat.S_ISREG(st.st_mode):
        found.append(file_entry(Path(entry.path), rel, st))
    elif stat.S_ISDIR(st.st_mode):
        skipped.append(f"{rel}: symbolic link to a folder, not followed")
    else:
        skipped.append(f"{rel}: symbolic link to a special file, not followed")
