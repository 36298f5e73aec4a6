"""Disk images (E01, VMDK, VHD, VHDX, QCOW2, raw disks and volumes), read with dissect.target.

dissect.target (AGPL-3.0) is an optional dependency, ``pip install 'exhunt[image]'``, used here
as a file-access layer only and imported nowhere else. exhunt does not copy a whole disk: it
walks every file system of the image once and copies out, into the scan's temporary folder and
with each file's modification time, what a scan reads (:func:`wanted`):

* the IIS folders (``inetpub``), the event logs, IIS configuration, ``Windows\\Temp``,
  ``Users\\Public``, the ``Temporary ASP.NET Files`` folders and the SOFTWARE hive;
* in every Exchange install (a folder holding ``Bin\\ExSetup.exe``, ``FrontEnd\\HttpProxy`` or
  ``Logging\\HttpProxy``, at any path): the HttpProxy, ECP, OAB generator and remote PowerShell
  logs, the front-end and ``ClientAccess`` web folders, and ``ExSetup.exe``;
* anywhere else: dumps, archives, server-side scripts and event logs, by extension (shadow
  copy stores and the system's component and update stores are not walked: :data:`LEFT_OUT`).

The copy is bounded like an archive's unpacking (:class:`ArchiveLimits`): a file over the member
limit, and everything past the total or count limit, is listed in ``coverage.skipped`` instead
of failing the scan. Unreadable entries (damaged records, NTFS metadata files) are listed too.
The image itself is only read.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from exhunt.evidence.archive import ArchiveLimits, name_parts, printable, unsafe_reason
from exhunt.exceptions import UnsupportedEvidenceError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES: Final = (
    ".e01", ".ex01", ".vmdk", ".vhd", ".vhdx", ".qcow2", ".vdi", ".raw", ".dd", ".img", ".001",
)  # fmt: skip

# (offset, magic) of container formats; raw disks and volumes are told by their boot sectors.
_CONTAINERS: Final = (
    (0, b"EVF\x09\x0d\x0a\xff\x00"),  # EnCase E01
    (0, b"EVF2\x0d\x0a\x81\x00"),  # EnCase Ex01
    (0, b"vhdxfile"),
    (0, b"KDMV"),  # VMware sparse extent
    (0, b"# Disk DescriptorFile"),  # VMware descriptor
    (0, b"QFI\xfb"),  # QCOW2
    (0, b"conectix"),  # VHD (dynamic disks start with a copy of the footer)
    (64, b"\x7f\x10\xda\xbe"),  # VirtualBox VDI
)

WHOLE_FOLDERS: Final = (
    "inetpub/",
    "windows/system32/winevt/logs/",
    "windows/system32/inetsrv/config/",
    "windows/system32/logfiles/",
    "windows/temp/",
    "users/public/",
)
FILES: Final = ("windows/system32/config/software",)
EXCHANGE_PARTS: Final = (
    "logging/httpproxy/",
    "logging/ecp/",
    "logging/oabgeneratorlog/",
    "logging/cmdletinfra/",
    "frontend/httpproxy/",
    "clientaccess/",
    "bin/exsetup.exe",
)
ANYWHERE: Final = frozenset(
    {
        ".dmp", ".zip", ".7z", ".rar", ".tar", ".gz", ".evtx",
        ".aspx", ".ashx", ".asmx", ".asax", ".ascx", ".asp", ".asa", ".cer", ".cdx", ".soap",
    }
)  # fmt: skip
LEFT_OUT: Final = (
    "system volume information/",
    "windows/winsxs/",
    "windows/servicing/",
    "windows/installer/",
    "windows/softwaredistribution/",
    "windows/system32/driverstore/",
    "windows/assembly/",
    "windows/microsoft.net/assembly/",
)
"""Folders not walked at all: shadow copy stores and the operating system's component and
update stores, a third of a server's files and no place a scan looks (walking an image runs at
a few thousand entries a second)."""
_INSTALL_MARKS: Final = ("bin/exsetup.exe", "frontend/httpproxy/", "logging/httpproxy/")
_ASPNET_TEMP: Final = "/temporary asp.net files/"


def is_disk_image(path: Path, head: bytes) -> bool:
    """Whether ``path`` is a disk image exhunt can open: a container format by its magic, or a
    raw disk (MBR or GPT) or NTFS volume with an image's name."""
    if any(head[offset : offset + len(magic)] == magic for offset, magic in _CONTAINERS):
        return True
    if not path.name.lower().endswith(IMAGE_SUFFIXES):
        return False
    ntfs_volume = head[3:11] == b"NTFS    "
    boot_sector = len(head) >= 512 and head[510:512] == b"\x55\xaa"
    return ntfs_volume or boot_sector or head[512:520] == b"EFI PART"


@dataclass(slots=True)
class _Budget:
    limits: ArchiveLimits
    files: int = 0
    bytes: int = 0
    full: str = ""

    def admit(self, size: int) -> str | None:
        """None when a file of ``size`` bytes may be copied; else why not."""
        if size > self.limits.max_member_bytes:
            return f"larger than the {self.limits.max_member_bytes:,}-byte limit per file"
        if self.full:
            return self.full
        if self.files + 1 > self.limits.max_members:
            self.full = f"the limit of {self.limits.max_members:,} files copied out was reached"
            return self.full
        if self.bytes + size > self.limits.max_total_bytes:
            self.full = f"the limit of {self.limits.max_total_bytes:,} bytes copied out was reached"
            return self.full
        self.files += 1
        self.bytes += size
        return None


@dataclass(slots=True)
class _Entry:
    path: str
    """Volume-relative, ``/``-separated, as on the volume."""
    size: int
    mtime_ns: int
    entry: Any = field(repr=False)


def extract_image(
    image: Path, dest: Path, limits: ArchiveLimits, skipped: list[str], notes: list[str]
) -> None:
    """Copy what a scan reads out of every file system of ``image`` into ``dest/<letter>/``.

    Raises:
        UnsupportedEvidenceError: dissect.target is not installed, or the image cannot be
            opened or holds no file system it can read.
    """
    target = _open(image)
    volumes = list(_volumes(target, notes))
    if not volumes:
        raise UnsupportedEvidenceError(
            f"{image}: no file system found in the disk image", path=str(image)
        )
    budget = _Budget(limits)
    for letter, filesystem in volumes:
        entries = list(_walk(filesystem, f"{letter}:", skipped))
        installs = _installs(entries)
        chosen = [e for e in entries if wanted(e.path.lower(), installs)]
        log.info("%s %s: %d of %d files to copy out", image.name, letter, len(chosen), len(entries))
        for entry in chosen:
            _copy(entry, dest / letter, f"{letter}:/{entry.path}", budget, skipped)
    if budget.full:
        notes.append(f"disk image {image.name}: {budget.full}; later files were not read")


def wanted(path: str, installs: tuple[str, ...]) -> bool:
    """Whether a scan reads the file at volume path ``path`` (lower case, ``/``-separated)."""
    if path.startswith(LEFT_OUT):
        return False
    if path.startswith(WHOLE_FOLDERS) or path in FILES or _ASPNET_TEMP in f"/{path}":
        return True
    for root in installs:
        if path.startswith(root) and path[len(root) :].startswith(EXCHANGE_PARTS):
            return True
    return os.path.splitext(path)[1] in ANYWHERE


def _installs(entries: list[_Entry]) -> tuple[str, ...]:
    """Exchange install folders (lower case, ending in ``/``; '' for a volume root)."""
    roots = set()
    for entry in entries:
        lowered = entry.path.lower()
        for mark in _INSTALL_MARKS:
            index = lowered.find(mark)
            if index != -1 and (index == 0 or lowered[index - 1] == "/"):
                roots.add(lowered[:index])
    return tuple(sorted(roots))


def _open(image: Path) -> Any:
    try:
        from dissect.target import Target  # type: ignore[import-untyped]
    except ImportError:
        raise UnsupportedEvidenceError(
            f"{image} is a disk image; reading disk images needs the optional dissect.target "
            "package: pip install 'exhunt[image]' (or extract the files and scan the folder)",
            path=str(image),
        ) from None
    # dissect logs its guesses (no partition table, no registry for drive letters) as warnings;
    # what matters to the user comes back in the result's notes and skipped files.
    logging.getLogger("dissect").setLevel(logging.ERROR)
    try:
        return Target.open(str(image))
    except Exception as exc:  # dissect raises many types for damaged or unknown images
        raise UnsupportedEvidenceError(
            f"{image}: the disk image cannot be opened ({type(exc).__name__}: {exc})",
            path=str(image),
        ) from None


def _volumes(target: Any, notes: list[str]) -> Iterator[tuple[str, Any]]:
    """(drive letter, file system) of every file system, each once.

    Letters come from the target's mounts (the registry's MountedDevices when dissect read
    it); the system volume without one is C:, others take the next free letters (noted)."""
    names: dict[int, list[str]] = {}
    for name, filesystem in dict(target.fs.mounts).items():
        names.setdefault(id(filesystem), []).append(str(name).lower())
    used: set[str] = set()
    plan: list[tuple[str | None, Any]] = []
    for filesystem in target.filesystems:
        mounted = names.get(id(filesystem), [])
        letter = next((n[0].upper() for n in mounted if re.fullmatch(r"[a-z]:", n)), None)
        if letter is None and "sysvol" in mounted and "C" not in used:
            letter = "C"
        if letter is not None:
            used.add(letter)
        plan.append((letter, filesystem))
    free = (chr(c) for c in range(ord("C"), ord("Z") + 1) if chr(c) not in used)
    for number, (letter, filesystem) in enumerate(plan, 1):
        if letter is None:
            letter = next(free, None)
            if letter is None:
                notes.append(f"file system {number} of the image was left out: no drive letter")
                continue
            notes.append(
                f"file system {number} of the image has no recorded drive letter: read as {letter}:"
            )
        yield letter, filesystem


def _walk(filesystem: Any, label: str, skipped: list[str]) -> Iterator[_Entry]:
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            children = list(filesystem.scandir("/" + folder))
        except Exception as exc:  # a damaged folder record: its files are reported, not read
            skipped.append(f"{label}/{folder}: folder not readable in the image ({exc})")
            continue
        for child in children:
            name = str(child.name)
            if not folder and name.startswith("$"):
                continue  # NTFS metadata files
            path = f"{folder}/{name}" if folder else name
            try:
                if child.is_symlink():
                    skipped.append(f"{label}/{path}: link in the image, not followed")
                elif child.is_dir():
                    if not f"{path.lower()}/".startswith(LEFT_OUT):
                        stack.append(path)
                elif child.is_file():
                    st = child.stat(follow_symlinks=False)
                    mtime_ns = getattr(st, "st_mtime_ns", None) or int(st.st_mtime * 1e9)
                    yield _Entry(path, int(st.st_size), int(mtime_ns), child)
            except Exception as exc:
                skipped.append(f"{label}/{path}: not readable in the image ({exc})")


def _copy(entry: _Entry, root: Path, label: str, budget: _Budget, skipped: list[str]) -> None:
    # The same name rules as archive members: the image is as hostile as any archive.
    unsafe = unsafe_reason(entry.path)
    if unsafe is not None:
        skipped.append(f"{printable(label)}: {unsafe}, not copied out of the image")
        return
    refused = budget.admit(entry.size)
    if refused is not None:
        skipped.append(f"{label}: {refused}, not copied out of the image")
        return
    dest = root.joinpath(*name_parts(entry.path))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with entry.entry.get().open() as source, dest.open("xb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
        os.utime(dest, ns=(entry.mtime_ns, entry.mtime_ns))
    except Exception as exc:  # a damaged run list or a read error: this file only
        dest.unlink(missing_ok=True)
        skipped.append(f"{label}: not readable in the image ({type(exc).__name__}: {exc})")
