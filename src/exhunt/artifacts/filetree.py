"""The evidence's file tree as records: one ``fs.file`` record per file, no content read.

Each record says where the file is (evidence path and Windows path), its size and time, and
whether it lies in a web-reachable folder: the Exchange front and back end folders
(``FrontEnd/HttpProxy``, ``ClientAccess``), every ``inetpub/wwwroot`` and every IIS virtual
directory of ``applicationHost.config``. Files that matter to the checks (server-side scripts
in web folders, memory dumps, archives in ``ProgramData``) are hashed (SHA-256, SHA-1, MD5) in
one read, within a size limit; what the limit skips is reported.

The ``content`` field says how much of a file the content analysis reads: ``scan`` (hash and
YARA: scripts in web folders and drop locations, files IIS is configured to run as scripts, and
every file of a plain folder with no Exchange or IIS in it), ``sniff`` (other files of web
folders: read whole only when their first bytes hold server-side script markers) or ``hash``
(memory dumps, archives in ``ProgramData``). ``served_as`` names the handler that runs a file
with an unusual extension as a script.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exhunt.artifacts.handlers import ScriptMapping, script_mappings, served_as
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
# Where web shells and their tools were dropped outside the served folders (CISA AA21-062A;
# Microsoft's MSERT guidance adds the compiled pages in "Temporary ASP.NET Files").
DROP_LOCATIONS = (
    "/aspnet_client/", "/inetpub/", "/temporary asp.net files/", "/frontend/httpproxy/",
    "/clientaccess/", "/windows/temp/", "/users/public/", "/programdata/",
)  # fmt: skip


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

    def __init__(self, evidence: Evidence, hash_inline: bool = True) -> None:
        self.evidence = evidence
        self.stats = TreeStats()
        self.hash_inline = hash_inline
        """Hash here; off when the content analysis reads the files (one read for both)."""
        self._roots = web_roots(evidence)
        self.plain = evidence.exchange is None and evidence.iis is None
        """A plain folder (no Exchange, no IIS): every file's content is analysed."""
        self.mappings: list[ScriptMapping] = script_mappings(evidence, [r.rel for r in self._roots])
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
        mapping = served_as(self.mappings, rel_lower, ext) if web is not None else None
        if mapping is not None:
            fields["served_as"] = mapping.handler
            fields["served_by"] = mapping.config
        mode = self._content_mode(fields, rel_lower, ext)
        if mode:
            fields["content"] = mode
        if self.hash_inline and mode in ("scan", "hash"):
            fields.update(self._hash(file))
        return Record(Source(ARTIFACT, file.rel, file.windows_path), None, file.mtime, fields)

    def _web_root(self, rel_lower: str) -> WebRoot | None:
        for root in self._roots:
            if rel_lower.startswith(root.rel + "/"):
                return root
        return None

    def _content_mode(self, fields: dict[str, str], rel_lower: str, ext: str) -> str:
        if self.plain:
            return "scan"
        if fields["web"] == "true":
            script = ext in SCRIPT_EXTENSIONS or "served_as" in fields
            return "scan" if script else "sniff"
        if ext in SCRIPT_EXTENSIONS and any(d in "/" + rel_lower for d in DROP_LOCATIONS):
            return "scan"
        if _DUMP.search(rel_lower):
            return "hash"
        in_programdata = "/programdata/" in "/" + rel_lower
        return "hash" if ext in ARCHIVE_EXTENSIONS and in_programdata else ""

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
