"""applicationHost.config: sites, their bindings, applications, virtual directories and logs.

Exchange installs two IIS sites: "Default Web Site" (id 1, the front end) and "Exchange Back
End" (id 2, port 444). Each site's W3C logs go to ``<logFile directory>\\W3SVC<id>``, where the
directory is the site's own ``logFile`` or else ``siteDefaults``' (default
``%SystemDrive%\\inetpub\\logs\\LogFiles``). Virtual directory paths tell where the Exchange
install really is, whatever drive it was put on.

Parsing never raises on bad input: a damaged file yields what can be recovered plus warnings.

References:
    https://learn.microsoft.com/iis/configuration/system.applicationhost/sites/
    https://learn.microsoft.com/iis/configuration/system.applicationhost/sites/sitedefaults/logfile/
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Final
from xml.parsers import expat

from exhunt.evidence import xmlsafe
from exhunt.evidence.webconfig import (
    WEB_SECTIONS,
    Condition,
    Handler,
    Module,
    RewriteRule,
    WebConfig,
    collect,
    iter_web_sections,
    load_web_config,
)

__all__ = [
    "DEFAULT_LOG_DIRECTORY",
    "Application",
    "Binding",
    "Condition",
    "Handler",
    "IisConfig",
    "Module",
    "RewriteRule",
    "Site",
    "VirtualDirectory",
    "WebConfig",
    "load_iis_config",
    "load_web_config",
]

DEFAULT_LOG_DIRECTORY: Final = "%SystemDrive%\\inetpub\\logs\\LogFiles"
_WINDOWS_DIR: Final = re.compile(r"""["']([A-Za-z]):\\Windows\\""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Binding:
    protocol: str
    information: str
    """``bindingInformation`` as written, e.g. ``*:443:`` or ``808:*``."""


@dataclass(frozen=True, slots=True)
class VirtualDirectory:
    path: str
    """Path within its application (``/`` for the application's root)."""
    physical_path: str
    """As written; may hold ``%variables%``."""
    url: str
    """Full URL path on the site: application path joined with ``path`` (``/owa``)."""


@dataclass(frozen=True, slots=True)
class Application:
    path: str
    pool: str | None
    virtual_directories: tuple[VirtualDirectory, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: int | None
    name: str
    bindings: tuple[Binding, ...]
    applications: tuple[Application, ...]
    log_directory: str
    """The site's effective ``logFile directory`` (as written, variables unexpanded)."""
    log_format: str = "W3C"
    log_enabled: bool = True

    @property
    def log_folder(self) -> str | None:
        """Folder of this site's logs: ``<log_directory>\\W3SVC<id>``; None without an id."""
        if self.id is None:
            return None
        return f"{self.log_directory.rstrip(chr(92))}\\W3SVC{self.id}"

    @property
    def virtual_directories(self) -> tuple[VirtualDirectory, ...]:
        """Every virtual directory of every application of the site."""
        return tuple(v for app in self.applications for v in app.virtual_directories)

    def physical_path(self, url: str) -> str | None:
        """Physical path of the virtual directory serving exactly ``url`` (any case)."""
        wanted = url.rstrip("/").lower() or "/"
        for vdir in self.virtual_directories:
            if vdir.url.lower() == wanted:
                return vdir.physical_path
        return None


@dataclass(frozen=True, slots=True)
class IisConfig:
    """What exhunt uses of an applicationHost.config."""

    sites: tuple[Site, ...] = ()
    default_log_directory: str = DEFAULT_LOG_DIRECTORY
    central_log_mode: str = "Site"
    central_w3c_directory: str | None = None
    system_drive: str | None = None
    """Drive letter of literal ``X:\\Windows\\`` paths in the file: the system drive."""
    web: WebConfig = field(default_factory=WebConfig)
    """Handlers, modules (including native ``globalModules``) and global rewrite rules."""
    warnings: tuple[str, ...] = ()

    def site(self, key: str | int) -> Site | None:
        """The site with this id, or this name (any case)."""
        for site in self.sites:
            if site.id == key or (isinstance(key, str) and site.name.lower() == key.lower()):
                return site
        return None

    def log_folders(self) -> tuple[str, ...]:
        """Folders where IIS writes W3C logs: one per site, or the central folder."""
        if self.central_log_mode.lower() == "centralw3c" and self.central_w3c_directory:
            return (f"{self.central_w3c_directory.rstrip(chr(92))}\\W3SVC",)
        return tuple(folder for site in self.sites if (folder := site.log_folder))


def load_iis_config(data: bytes) -> IisConfig:
    """Parse applicationHost.config bytes; never raises on bad input (see ``warnings``)."""
    warnings: list[str] = []
    if len(data) > xmlsafe.MAX_CONFIG_BYTES:
        warnings.append(f"file larger than {xmlsafe.MAX_CONFIG_BYTES:,} bytes; only its start read")
    text = xmlsafe.decode(data[: xmlsafe.MAX_CONFIG_BYTES])
    system_drive = _system_drive(text)
    try:
        root = xmlsafe.parse(text)
    except (expat.ExpatError, xmlsafe.XmlRefusedError) as exc:
        warnings.append(xmlsafe.describe_error(exc))
        return _salvaged(text, warnings, system_drive)
    hosts = root.findall("system.applicationHost")
    web = collect(iter_web_sections(root), warnings)
    return _build(hosts, web, warnings, system_drive)


def _salvaged(text: str, warnings: list[str], system_drive: str | None) -> IisConfig:
    hosts = xmlsafe.salvage(text, "system.applicationHost", warnings, ("sites", "log"))
    if not hosts:
        hosts = [_wrap(block) for block in xmlsafe.salvage(text, "sites", warnings)]
    blocks = xmlsafe.salvage(text, "system.webServer", warnings, WEB_SECTIONS)
    web = collect([("", block) for block in blocks], warnings)
    warnings.append(
        f"recovered {sum(len(h.findall('sites/site')) for h in hosts)} site(s) and "
        f"{len(blocks)} <system.webServer> block(s) from the damaged file"
    )
    return _build(hosts, web, warnings, system_drive)


def _wrap(sites: ET.Element) -> ET.Element:
    host = ET.Element("system.applicationHost")
    host.append(sites)
    return host


def _build(
    hosts: list[ET.Element], web: WebConfig, warnings: list[str], system_drive: str | None
) -> IisConfig:
    sites: list[Site] = []
    default_dir, central_mode, central_dir = DEFAULT_LOG_DIRECTORY, "Site", None
    for host in hosts:
        default_log = host.find("sites/siteDefaults/logFile")
        default_dir = _attr(default_log, "directory") or default_dir
        sites += [_site(s, default_log, warnings) for s in host.findall("sites/site")]
        central = host.find("log")
        if central is not None:
            central_mode = central.get("centralLogFileMode", central_mode)
            central_dir = _attr(central.find("centralW3CLogFile"), "directory") or central_dir
    return IisConfig(
        sites=tuple(sites),
        default_log_directory=default_dir,
        central_log_mode=central_mode,
        central_w3c_directory=central_dir,
        system_drive=system_drive,
        web=WebConfig(web.handlers, web.modules, web.rewrite_rules),
        warnings=tuple(warnings),
    )


def _attr(element: ET.Element | None, name: str) -> str | None:
    return element.get(name) if element is not None else None


def _site(site: ET.Element, defaults: ET.Element | None, warnings: list[str]) -> Site:
    name = site.get("name", "")
    own = site.find("logFile")

    def log_attr(attr: str, fallback: str) -> str:
        return _attr(own, attr) or _attr(defaults, attr) or fallback

    enabled = log_attr("enabled", "true")
    return Site(
        id=_site_id(site.get("id"), name, warnings),
        name=name,
        bindings=tuple(
            Binding(b.get("protocol", ""), b.get("bindingInformation", ""))
            for b in site.findall("bindings/binding")
        ),
        applications=tuple(_application(app) for app in site.findall("application")),
        log_directory=log_attr("directory", DEFAULT_LOG_DIRECTORY),
        log_format=log_attr("logFormat", "W3C"),
        log_enabled=xmlsafe.flag(enabled, True, warnings, f"site {name[:60]!r} logFile enabled"),
    )


def _site_id(value: str | None, name: str, warnings: list[str]) -> int | None:
    if value is not None and value.strip().isdigit() and len(value.strip()) <= 10:
        return int(value)
    warnings.append(f"site {name[:60]!r} has no usable id ({(value or '')[:20]!r})")
    return None


def _application(app: ET.Element) -> Application:
    path = app.get("path", "/")
    vdirs = tuple(
        VirtualDirectory(
            path=v.get("path", "/"),
            physical_path=v.get("physicalPath", ""),
            url=_join_url(path, v.get("path", "/")),
        )
        for v in app.findall("virtualDirectory")
    )
    return Application(path=path, pool=app.get("applicationPool"), virtual_directories=vdirs)


def _join_url(app_path: str, vdir_path: str) -> str:
    joined = "/" + "/".join(part for part in (app_path + "/" + vdir_path).split("/") if part)
    return joined


def _system_drive(text: str) -> str | None:
    letters = Counter(match.upper() for match in _WINDOWS_DIR.findall(text))
    return letters.most_common(1)[0][0] if letters else None
