"""Which file extensions IIS runs as server-side scripts, besides the usual ones.

A handler mapping in applicationHost.config or in any web.config of a web folder can make IIS
run ``*.jpg`` (or any extension) through ASP.NET's page compiler, classic ASP or a CGI: an old
trick to hide a web shell behind an image name. Mappings of the usual script extensions are
IIS defaults and are not listed.

Mappings in applicationHost.config are taken to apply to every web folder (their ``<location>``
names a site, not a folder); a web.config's apply to its folder and below.

References:
    https://learn.microsoft.com/iis/configuration/system.webserver/handlers/add
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exhunt.evidence.webconfig import Handler, load_web_config
from exhunt.evidence.xmlsafe import MAX_CONFIG_BYTES

if TYPE_CHECKING:
    from exhunt.evidence import Evidence

log = logging.getLogger(__name__)

STANDARD_SCRIPTS = frozenset(
    {".aspx", ".ashx", ".asmx", ".asp", ".asa", ".asax", ".ascx", ".axd", ".cshtml", ".vbhtml",
     ".config", ".cs", ".vb", ".svc", ".soap", ".rem", ".cer", ".cdx", ".idc", ".shtm", ".shtml",
     ".stm", ".htr", ".printer", ".xamlx", ".xoml", ".rules", ".master", ".skin", ".browser",
     ".sitemap", ".resx", ".resources", ".licx", ".mdb", ".ldb", ".mdf", ".ldf", ".csproj",
     ".vbproj", ".java", ".jsl", ".exclude", ".refresh", ".dll", ".cshtm", ".vbhtm", ".aspq"}
)  # fmt: skip
"""Extensions IIS and ASP.NET map by default (run, or refused as source)."""
_SCRIPT_TYPES = (
    "system.web.ui.pagehandlerfactory",
    "system.web.ui.simplehandlerfactory",
    "system.web.services.protocols.webservicehandlerfactory",
    "system.web.script.services.scripthandlerfactory",
    "system.servicemodel.activation",
    "system.web.webpages",
)
_SCRIPT_PROCESSORS = ("asp.dll", "aspnet_isapi.dll", "php-cgi.exe", "cmd.exe", "powershell")
_SCRIPT_MODULES = ("cgimodule", "fastcgimodule")


@dataclass(frozen=True, slots=True)
class ScriptMapping:
    """One extension that a configuration file makes IIS run as a script."""

    folder: str
    """Lower-case evidence folder it applies to ('' for every web folder)."""
    extension: str
    """Lower-case extension with its dot, or ``*`` for every file."""
    handler: str
    """What runs it: the handler's type, module or script processor."""
    config: str
    """The configuration file that says so (evidence path)."""


def runs_script(handler: Handler) -> str | None:
    """What executes requests for this handler's files, when it is a script engine."""
    kind = (handler.type or "").lower()
    if any(kind.startswith(prefix) for prefix in _SCRIPT_TYPES):
        return handler.type
    processor = (handler.script_processor or "").lower()
    if any(name in processor for name in _SCRIPT_PROCESSORS):
        return handler.script_processor
    modules = (handler.modules or "").lower()
    if any(module in modules for module in _SCRIPT_MODULES):
        return handler.modules
    return None


def extension_of(pattern: str) -> str | None:
    """``*.jpg`` -> ``.jpg``; ``*`` -> ``*``; a fixed file name -> its extension."""
    pattern = pattern.strip().lower()
    if pattern in ("*", "*.*"):
        return "*"
    name = pattern.rsplit("/", 1)[-1]
    if "." not in name:
        return None
    extension = "." + name.rsplit(".", 1)[-1]
    return extension if extension.strip(".*") else None


def iter_mappings(handlers: Sequence[Handler], folder: str, config: str) -> Iterator[ScriptMapping]:
    """Non-standard script mappings among ``handlers`` of one configuration file."""
    for handler in handlers:
        engine = runs_script(handler)
        extension = extension_of(handler.path)
        if engine is None or extension is None or extension in STANDARD_SCRIPTS:
            continue
        where = folder
        if handler.location and config.lower().endswith("web.config"):
            where = f"{folder}/{handler.location.strip('/').lower()}".strip("/")
        yield ScriptMapping(where, extension, engine, config)


def script_mappings(evidence: Evidence, web_folders: Sequence[str]) -> list[ScriptMapping]:
    """Every non-standard script mapping of the server's IIS configuration and web.config files.

    Args:
        evidence: the evidence.
        web_folders: lower-case evidence folders that IIS serves.
    """
    found: list[ScriptMapping] = []
    if evidence.iis is not None and evidence.iis_file is not None:
        found += iter_mappings(evidence.iis.web.handlers, "", evidence.iis_file.rel)
    for file in evidence.files:
        rel = file.rel.lower()
        if not rel.endswith("/web.config") or not _inside(rel, web_folders):
            continue
        try:
            with evidence.open(file) as fh:
                data = fh.read(MAX_CONFIG_BYTES)
        except OSError as exc:
            log.debug("%s: cannot read (%s)", file.rel, exc)
            continue
        config = load_web_config(data)
        found += iter_mappings(config.handlers, rel.rsplit("/", 1)[0], file.rel)
    return found


def _inside(rel: str, folders: Sequence[str]) -> bool:
    return any(rel.startswith(folder + "/") for folder in folders)


def served_as(mappings: Sequence[ScriptMapping], rel_lower: str, ext: str) -> ScriptMapping | None:
    """The mapping that makes IIS run the file at ``rel_lower`` as a script, if one does."""
    if ext in STANDARD_SCRIPTS:
        return None
    for mapping in mappings:
        if mapping.extension not in (ext, "*"):
            continue
        if not mapping.folder or rel_lower.startswith(mapping.folder + "/"):
            return mapping
    return None
