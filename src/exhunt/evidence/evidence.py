"""The read-only view of one server's evidence: files, drives, Exchange install, IIS config.

:func:`open_evidence` accepts every layout exhunt knows (folder copies, KAPE, acquire,
Velociraptor, triage archives of them, single logs) and answers the questions later layers
ask: which files are there, what is each one's Windows path, where is Exchange installed, and
what does IIS say about its sites and log folders.
"""

from __future__ import annotations

import bisect
import logging
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from exhunt.evidence import winpath
from exhunt.evidence.anchors import install_path_from_config, learn_anchors
from exhunt.evidence.archive import ArchiveLimits
from exhunt.evidence.files import EvidenceFile
from exhunt.evidence.iisconfig import IisConfig, load_iis_config
from exhunt.evidence.install import ExchangeInstall, choose, find_candidates
from exhunt.evidence.layout import (
    DriveRoot,
    find_drive_roots,
    find_host,
    settle_letters,
    system_drive_of,
)
from exhunt.evidence.sources import Collected, collect, remove_temp
from exhunt.evidence.tree import Tree
from exhunt.evidence.winpath import Anchor, PathMapper
from exhunt.evidence.xmlsafe import MAX_CONFIG_BYTES
from exhunt.exceptions import EvidenceNotFoundError

log = logging.getLogger(__name__)

_IIS_CONFIG_TAIL = "windows/system32/inetsrv/config/applicationhost.config"


def open_evidence(
    paths: Sequence[str | os.PathLike[str]],
    *,
    limits: ArchiveLimits | None = None,
    workdir: Path | None = None,
) -> Evidence:
    """Open the evidence of one server.

    Args:
        paths: usually one path; several are parts of the same server's evidence (an
            Exchange install folder and an IIS log folder, say).
        limits: bounds for unpacking archives (defaults: :class:`ArchiveLimits`).
        workdir: where archives are unpacked (a temporary folder is made inside it); the
            system's temporary folder by default. Never inside the evidence.

    Raises:
        EvidenceNotFoundError: a path does not exist.
        EvidenceUnreadableError: a path cannot be read (permissions, I/O error).
        UnsupportedEvidenceError: a folder without files, or a file that is neither an archive
            nor a log.
        ArchiveError: an archive is damaged, unsafe or exceeds ``limits``.
        UsageError: ``workdir`` is missing or inside the evidence.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]  # one path given bare, not as a list of one
    if not paths:
        raise EvidenceNotFoundError("no evidence path given")
    sources = [Path(os.fspath(p)) for p in paths]
    collected = collect(sources, limits or ArchiveLimits(), workdir)
    try:
        return Evidence(", ".join(os.fspath(p) for p in paths), collected)
    except BaseException:
        remove_temp(collected.temp)
        raise


class Evidence:
    """One server's evidence, read-only. Use as a context manager, or call :meth:`close`.

    Attributes:
        path: the path(s) as given, joined with ", ".
        kind: ``directory``, ``archive``, ``image`` or ``file``.
        sha256: SHA-256 of the archive file itself when ``kind`` is ``archive``.
        host: the host name, only when the collection's own metadata records it.
        files: every regular file, sorted by ``rel``.
        drives: drive letter -> rel of that drive's main root ('' for the evidence root).
        roots: every drive root found, with how it was recognised.
        system_drive: letter of the drive holding Windows, where known.
        variables: ``%variables%`` known for this server (``SystemDrive``,
            ``ExchangeInstallDir``...), used by :meth:`resolve`.
        tree: the folders of the evidence, for case-insensitive lookups.
        anchors: evidence folders whose Windows path was learned from IIS configuration.
        exchange: the Exchange install folder, if found.
        iis: the parsed applicationHost.config, if present.
        iis_file: the file it was read from.
        skipped: members or files not taken, each with the reason.
        notes: assumptions made while mapping paths, for the document.
    """

    def __init__(self, path: str, collected: Collected) -> None:
        self.path = path
        self.kind = collected.kind
        self.sha256 = collected.sha256
        self.skipped: list[str] = collected.skipped
        self.notes: list[str] = list(collected.notes)
        self._finalizer = weakref.finalize(self, remove_temp, collected.temp)
        self._by_rel = {f.rel: f for f in collected.files}
        self.tree = Tree(self._by_rel)
        self.host = find_host(self.tree, self._read_rel)
        self.iis_file = _find_iis_config(list(self._by_rel.values()))
        self.iis = self._load_iis()
        roots = self._settle_roots(find_drive_roots(self.tree))
        self.roots: tuple[DriveRoot, ...] = tuple(roots)
        self.drives: Mapping[str, str] = _main_roots(self.tree, roots)
        self.exchange, self.anchors = self._discover(PathMapper(roots))
        self._mapper = PathMapper(roots, self.anchors)
        self.variables = _variables(self.system_drive, self.exchange)
        self._index(collected.files)

    # -- construction -----------------------------------------------------------------------

    def _read_rel(self, rel: str) -> bytes | None:
        file = self._by_rel.get(rel)
        if file is None:
            return None
        try:
            with file.real.open("rb") as handle:
                return handle.read(MAX_CONFIG_BYTES)
        except OSError as exc:
            log.warning("%s: cannot read (%s)", rel, exc)
            return None

    def _load_iis(self) -> IisConfig | None:
        if self.iis_file is None:
            return None
        data = self._read_rel(self.iis_file.rel)
        if data is None:
            return None
        config = load_iis_config(data)
        for warning in config.warnings:
            log.warning("%s: %s", self.iis_file.rel, warning)
        return config

    def _settle_roots(self, roots: list[DriveRoot]) -> list[DriveRoot]:
        """Give the system volume its letter; sets :attr:`system_drive`."""
        system = system_drive_of(roots) or (self.iis.system_drive if self.iis else None)
        if system is None and any(r.letter is None and r.system for r in roots):
            system = "C"
            self.notes.append("the system drive's letter is not recorded; taken as C:")
        self.system_drive: str | None = system
        return settle_letters(roots, system)

    def _discover(self, mapper: PathMapper) -> tuple[ExchangeInstall | None, tuple[Anchor, ...]]:
        variables = _variables(self.system_drive, None)
        candidates = find_candidates(self.tree)
        configured = install_path_from_config(self.iis, variables) if self.iis else None
        install_rel = None
        found_by = ""
        if candidates:
            preferred = _preferred([c.rel for c in candidates], mapper, configured)
            best, found_by = choose(candidates, preferred)
            install_rel = best.rel
        anchors: list[Anchor] = []
        if self.iis is not None:
            anchors = learn_anchors(self.tree, mapper, self.iis, install_rel, variables)
        if install_rel is None:
            return None, tuple(anchors)
        windows = PathMapper(mapper.roots, anchors).windows_path(install_rel)
        install_path = windows.rstrip("\\") + "\\" if windows else None
        return ExchangeInstall(install_rel, install_path, found_by), tuple(anchors)

    def _index(self, files: list[EvidenceFile]) -> None:
        """Give every file its Windows path; build the lookups by rel, case and Windows path."""
        to_windows = self._mapper.windows_path
        mapped = sorted(
            (EvidenceFile(f.rel, f.real, f.size, f.mtime, to_windows(f.rel)) for f in files),
            key=lambda f: f.rel,
        )
        self.files: Sequence[EvidenceFile] = tuple(mapped)
        self._by_rel = {f.rel: f for f in mapped}
        self._lower = sorted((f.rel.lower(), i) for i, f in enumerate(mapped))
        self._lower_keys = [key for key, _ in self._lower]
        # Where two files share a Windows path (Velociraptor's auto and ntfs copies), the
        # first by rel wins.
        self._by_windows = {
            winpath.key(f.windows_path): f for f in reversed(mapped) if f.windows_path
        }
        self._dirs: dict[str, str] = {}
        for folder in sorted(self.tree, key=lambda f: f.rel, reverse=True):
            if folder_path := to_windows(folder.rel):
                self._dirs[winpath.key(folder_path)] = folder.rel
        if self.iis_file is not None:
            self.iis_file = self._by_rel.get(self.iis_file.rel, self.iis_file)

    # -- queries ------------------------------------------------------------------------------

    def windows_path(self, rel: str) -> str | None:
        """The Windows path of an evidence file or folder, where the layout or config says."""
        return self._mapper.windows_path(rel.strip("/"))

    def resolve(self, windows_path: str) -> EvidenceFile | None:
        """The evidence file at a Windows path (any case, ``%variables%`` expanded)."""
        return self._by_windows.get(winpath.key(winpath.expand(windows_path, self.variables)))

    def resolve_dir(self, windows_path: str) -> str | None:
        """The rel of the evidence folder at a Windows path (any case), if it holds files."""
        return self._dirs.get(winpath.key(winpath.expand(windows_path, self.variables)))

    def iter_under(self, rel_dir: str) -> Iterator[EvidenceFile]:
        """Files below the folder ``rel_dir`` (any case; '' for all), in case-folded order."""
        prefix = rel_dir.strip("/").lower()
        if not prefix:
            yield from self.files
            return
        prefix += "/"
        start = bisect.bisect_left(self._lower_keys, prefix)
        for lowered, index in self._lower[start:]:
            if not lowered.startswith(prefix):
                break
            yield self.files[index]

    def open(self, file: EvidenceFile) -> BinaryIO:
        """Open an evidence file for reading (binary, read-only)."""
        if self._by_rel.get(file.rel) != file:
            raise ValueError(f"{file.rel} is not a file of this evidence")
        return file.real.open("rb")

    def head(self, file: EvidenceFile, size: int = 4096) -> bytes:
        """The first ``size`` bytes of an evidence file."""
        with self.open(file) as handle:
            return handle.read(size)

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the temporary folder archives were unpacked into, if any."""
        self._finalizer()

    def __enter__(self) -> Evidence:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Evidence({self.path!r}, kind={self.kind!r}, files={len(self.files)})"


def _find_iis_config(files: list[EvidenceFile]) -> EvidenceFile | None:
    """applicationHost.config: the live one under inetsrv\\config first, history copies last."""
    candidates = [f for f in files if f.rel.lower().rsplit("/", 1)[-1] == "applicationhost.config"]
    if not candidates:
        return None

    def rank(file: EvidenceFile) -> tuple[bool, bool, float, str]:
        lowered = file.rel.lower()
        live = lowered.endswith(_IIS_CONFIG_TAIL)
        history = "/history/" in lowered or "cfghistory" in lowered
        mtime = file.mtime.timestamp() if file.mtime else 0.0
        return (live, not history, mtime, file.rel)

    return max(candidates, key=rank)


def _main_roots(tree: Tree, roots: list[DriveRoot]) -> dict[str, str]:
    best: dict[str, tuple[int, str]] = {}
    for root in roots:
        if root.letter is None:
            continue
        folder = tree.get(root.rel)
        count = folder.files if folder is not None else 0
        if root.letter not in best or count > best[root.letter][0]:
            best[root.letter] = (count, root.rel)
    return {letter: rel for letter, (_, rel) in sorted(best.items())}


def _preferred(rels: list[str], mapper: PathMapper, configured: str | None) -> set[str]:
    """Candidate rels whose Windows path is the install path IIS configuration names."""
    if configured is None:
        return set()
    wanted = winpath.key(configured)
    return {
        rel
        for rel in rels
        if (windows := mapper.windows_path(rel)) and winpath.key(windows) == wanted
    }


def _variables(system_drive: str | None, install: ExchangeInstall | None) -> dict[str, str]:
    """Environment variables that IIS and Exchange configuration use, where known."""
    variables: dict[str, str] = {}
    if system_drive:
        drive = f"{system_drive}:"
        variables.update(
            SystemDrive=drive,
            SystemRoot=f"{drive}\\Windows",
            windir=f"{drive}\\Windows",
            ProgramFiles=f"{drive}\\Program Files",
            ProgramW6432=f"{drive}\\Program Files",
            ProgramData=f"{drive}\\ProgramData",
            ALLUSERSPROFILE=f"{drive}\\ProgramData",
            PUBLIC=f"{drive}\\Users\\Public",
        )
        variables["ProgramFiles(x86)"] = f"{drive}\\Program Files (x86)"
    if install is not None and install.windows_path:
        variables["ExchangeInstallDir"] = install.windows_path
        variables["ExchangeInstallPath"] = install.windows_path
    return variables
