"""The evidence's file tree as records: one ``fs.file`` record per file, no content read.

Each record says where the file is (evidence path and Windows path), its size and time, and
whether it lies in a web-reachable folder: the Exchange front and back end folders
(``FrontEnd/HttpProxy``, ``ClientAccess``), every ``inetpub/wwwroot`` and every IIS virtual
directory of ``applicationHost.config``. Files that matter to the checks (server-side scripts
in web folders, memory dumps, archives in ``ProgramData``) are hashed (SHA-256, SHA-1, MD5) in
one read, within a size limit; what the limit skips is reported.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exhunt.model import Record, Source
from exhunt.timeutil import format_time

if TYPE_CHECKING:
    from exhunt.evidence import Evidence, EvidenceFile

log = logging.getLogger(__name__)

ARTIFACT = "fs.file"
MAX_HASH_SIZE = 64 << 20
"""Files larger than this (64 MiB) are listed but not hashed; the coverage says so."""

SCRIPT_EXTENSIONS = frozenset(
    {".aspx", ".ashx", ".asmx", ".asp", ".asa", ".asax", ".ascx", ".cshtml", ".vbhtml",
     ".config", ".cs", ".vb", ".svc", ".soap", ".rem", ".cer", ".shtml", ".stm", ".php", ".jsp",
     ".dll", ".exe", ".ps1", ".bat", ".cmd", ".vbs", ".js"}
)  # fmt: skip
ARCHIVE_EXTENSIONS = frozenset({".zip", ".7z", ".rar", ".tar", ".gz", ".cab"})
_DUMP = re.compile(r"\.(dmp|mdmp|hdmp)$", re.IGNORECASE)


@dataclass(slots=True)
class TreeStats:
    files: int = 0
    hashed: int = 0
    hashed_bytes: int = 0
    too_large: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    hashes: list[tuple[str, int, str]] = field(default_factory=list)
    """(evidence path, size, sha256) of every file read."""


@dataclass(frozen=True, slots=True)
class WebRoot:
    rel: str
    """Folder in the evidence (lower case)."""
    url: str
    """URL path it serves, e.g. ``/owa``."""


def web_roots(evidence: Evidence) -> list[WebRoot]:
    """Every web-reachable folder of the evidence, deepest first."""
    roots: dict[str, str] = {}
    install = evidence.exchange
    if install is not None:
        base = install.rel.lower().rstrip("/")
        roots[f"{base}/frontend/httpproxy"] = ""
        roots[f"{base}/clientaccess"] = ""
    for file in evidence.files:
        rel = file.rel.lower()
        index = rel.find("inetpub/wwwroot/")
        if index != -1 and (index == 0 or rel[index - 1] == "/"):
            roots.setdefault(rel[: index + len("inetpub/wwwroot")], "")
    for rel, url in _iis_vdir_roots(evidence):
        roots[rel.lower().rstrip("/")] = url
    return sorted((WebRoot(r, u) for r, u in roots.items()), key=lambda w: -len(w.rel))


def _iis_vdir_roots(evidence: Evidence) -> Iterator[tuple[str, str]]:
    config = evidence.iis
    if config is None:
        return
    for site in config.sites:
        for vdir in site.virtual_directories:
            rel = evidence.resolve_dir(vdir.physical_path)
            if rel is not None:
                yield rel, vdir.url


class FileTreeReader:
    """Iterate ``fs.file`` records of an evidence; ``stats`` is complete once exhausted."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.stats = TreeStats()
        self._roots = web_roots(evidence)
        install = evidence.exchange
        self._install = install.rel.lower().rstrip("/") + "/" if install else None

    def __iter__(self) -> Iterator[Record]:
        for file in self.evidence.files:
            self.stats.files += 1
            yield self._record(file)

    def _record(self, file: EvidenceFile) -> Record:
        rel_lower = file.rel.lower()
        name = file.rel.rsplit("/", 1)[-1]
        ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        path = file.windows_path or file.rel
        fields = {
            "path": path,
            "rel": file.rel,
            "name": name,
            "ext": ext,
            "size": str(file.size),
            "mtime": format_time(file.mtime) if file.mtime else "",
            "real": str(file.real),
        }
        web = self._web_root(rel_lower)
        fields["web"] = "true" if web is not None else "false"
        if web is not None:
            fields["web_root"] = web.rel
        if self._install and rel_lower.startswith(self._install):
            fields["install_rel"] = file.rel[len(self._install) :]
        if self._worth_hashing(fields, rel_lower, ext):
            fields.update(self._hash(file))
        return Record(Source(ARTIFACT, file.rel, file.windows_path), None, file.mtime, fields)

    def _web_root(self, rel_lower: str) -> WebRoot | None:
        for root in self._roots:
            if rel_lower.startswith(root.rel + "/"):
                return root
        return None

    @staticmethod
    def _worth_hashing(fields: dict[str, str], rel_lower: str, ext: str) -> bool:
        if fields["web"] == "true" and ext in SCRIPT_EXTENSIONS:
            return True
        if _DUMP.search(rel_lower):
            return True
        return ext in ARCHIVE_EXTENSIONS and "/programdata/" in "/" + rel_lower

    def _hash(self, file: EvidenceFile) -> dict[str, str]:
        if file.size > MAX_HASH_SIZE:
            self.stats.too_large.append(file.rel)
            return {}
        digests = (hashlib.sha256(), hashlib.sha1(), hashlib.md5())
        try:
            with self.evidence.open(file) as fh:
                size = 0
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    size += len(chunk)
                    for digest in digests:
                        digest.update(chunk)
        except OSError as exc:
            self.stats.unreadable.append((file.rel, str(exc)))
            return {}
        sha256, sha1, md5 = (d.hexdigest() for d in digests)
        self.stats.hashed += 1
        self.stats.hashed_bytes += size
        self.stats.hashes.append((file.rel, size, sha256))
        return {"sha256": sha256, "sha1": sha1, "md5": md5}
