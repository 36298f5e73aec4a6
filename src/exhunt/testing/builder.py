"""Write Exchange server evidence in its native formats: a folder copy of one server's drives.

:class:`EvidenceBuilder` turns rows (mappings of a log's own field names to values) into the
files an Exchange server writes, at their real paths, with the real preamble, header row,
quoting and line endings. The seeded example servers, the benchmarks and parser and rule tests
all use it::

    b = EvidenceBuilder(tmp_path, install=r"D:\\Exchange")
    b.httpproxy("Ecp", hour, [{"DateTime": t, "UrlStem": "/ecp/y.js", "HttpStatus": 241}])
    b.iis(1, day, [{"time": t, "cs-method": "POST", "cs-uri-stem": "/ecp/y.js"}])

Formats (knowledge/exchange-detection.md sections 1.2-1.6):

* IIS W3C: ``#Software``/``#Version``/``#Date``/``#Fields`` preamble, space separated, spaces
  in values as ``+``, empty values as ``-``; the preamble repeats after an IIS restart.
* Exchange CSV logs (HttpProxy, ECP Server, Rps_Http, Rps_Cmdlet, OAB generator): a plain row
  of column names, then ``#Software``/``#Version``/``#Log-type``/``#Date``/``#Fields``; a value
  holding a comma or quote is CSV-quoted with doubled quotes; commas in user agents become
  spaces.
* CRLF line endings everywhere. :class:`Hostile` bends any of this for parser tests.

Values may be ``str``, ``int``, ``datetime`` (written in the log's own time format) or ``bytes``
(written as they are, e.g. bytes that are not UTF-8). Missing fields are empty.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from exhunt.testing.appconfig import _application_host, _rule_element, _xml_text
from exhunt.testing.formats import (
    CLEAN,
    DEFAULT_INSTALL,
    ECP_SERVER_FIELDS,
    HTTPPROXY_FIELDS,
    HTTPPROXY_FIELDS_70,
    HTTPPROXY_PROTOCOLS,
    IIS_FIELDS,
    OAB_GENERATOR_FIELDS,
    PROXYLOGON_REWRITE_RULES,
    RPS_CMDLET_FIELDS,
    RPS_HTTP_FIELDS,
    EcpRow,
    Hostile,
    IisRestart,
    RewriteRule,
    Row,
    Value,
    _check_fields,
    _repeat,
    csv_cell,
    event_data,
    exchange_time,
    log_version,
    parse_build,
    w3c_cell,
    w3c_date_time,
)

__all__ = [
    "CLEAN",
    "DEFAULT_INSTALL",
    "ECP_SERVER_FIELDS",
    "HTTPPROXY_FIELDS",
    "HTTPPROXY_FIELDS_70",
    "HTTPPROXY_PROTOCOLS",
    "IIS_FIELDS",
    "OAB_GENERATOR_FIELDS",
    "PROXYLOGON_REWRITE_RULES",
    "RPS_CMDLET_FIELDS",
    "RPS_HTTP_FIELDS",
    "EcpRow",
    "EvidenceBuilder",
    "Hostile",
    "IisRestart",
    "RewriteRule",
    "Row",
    "Value",
    "csv_cell",
    "event_data",
    "exchange_time",
    "log_version",
    "parse_build",
    "w3c_cell",
    "w3c_date_time",
]


@dataclass(frozen=True, slots=True)
class _Kind:
    """An Exchange CSV log: columns, ``#Log-type``, folder under ``Logging``, file prefix."""

    fields: tuple[str, ...]
    log_type: str
    folder: str
    prefix: str
    hourly: bool


_RPS = "CmdletInfra\\Powershell-Proxy"
_KINDS = {
    "ecp": _Kind(ECP_SERVER_FIELDS, "ECP Server Log", "ECP\\Server", "ECPServer", False),
    "oab": _Kind(OAB_GENERATOR_FIELDS, "OABGenerator Log", "OABGeneratorLog", "OABGeneratorLog",
                 False),
    "rps_http": _Kind(RPS_HTTP_FIELDS, "Rps Http Logs", f"{_RPS}\\Http", "Rps_Http_", True),
    "rps_cmdlet": _Kind(RPS_CMDLET_FIELDS, "Rps Cmdlet Logs", f"{_RPS}\\Cmdlet", "Rps_Cmdlet_",
                        True),
}  # fmt: skip


@dataclass
class EvidenceBuilder:
    """Lay out the evidence files of one Exchange server under ``root``.

    ``root`` holds one folder per drive letter (``C/``, ``D/``); Windows paths map onto it
    (``C:\\inetpub\\x`` is ``root/C/inetpub/x``). ``drive`` is the system drive (IIS logs,
    ``inetpub``, ``Windows``, ``ProgramData``); ``install`` is the Exchange install folder and
    may be on another drive. Every written file is remembered in :attr:`written`.

    Args:
        root: folder that receives the drive folders.
        drive: system drive letter.
        install: Exchange install path (``MsiInstallPath`` without its trailing backslash).
        host: server NetBIOS name, written into ECP, OAB and Rps logs.
        build: default Exchange build for preambles, e.g. ``15.1.2106.2``.
    """

    root: Path
    drive: str = "C"
    install: str = DEFAULT_INSTALL
    host: str = "EXCH01"
    build: str = "15.1.2176.9"
    written: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.drive = self.drive.rstrip(":\\").upper()
        self.install = self.install.rstrip("\\")

    def windows_path(self, path: str) -> str:
        """Expand ``%SystemDrive%``, ``%windir%``, ``%ProgramData%``, ``%ExchangeInstallPath%``."""
        windows = f"{self.drive}:\\Windows"
        env = {
            "systemdrive": f"{self.drive}:",
            "windir": windows,
            "systemroot": windows,
            "programdata": f"{self.drive}:\\ProgramData",
            "exchangeinstallpath": self.install + "\\",
        }
        expanded = re.sub(r"%(\w+)%", lambda m: env.get(m[1].lower(), m[0]), path)
        return expanded.replace("\\\\", "\\")

    def local(self, windows_path: str) -> Path:
        """Where a Windows path of this server lives under :attr:`root`."""
        win = PureWindowsPath(self.windows_path(windows_path))
        if not win.drive:
            raise ValueError(f"not an absolute Windows path: {windows_path!r}")
        return self.root.joinpath(win.drive[0].upper(), *win.parts[1:])

    def relative(self, path: Path) -> str:
        """A path under :attr:`root`, relative to it, with ``/`` separators."""
        return PurePosixPath(*path.relative_to(self.root).parts).as_posix()

    def exchange(self, *parts: str) -> str:
        """A Windows path under the Exchange install folder."""
        return "\\".join([self.install, *parts])

    @property
    def files(self) -> tuple[str, ...]:
        """Every written file, relative to :attr:`root`, sorted."""
        return tuple(sorted({self.relative(p) for p in self.written}))

    # -- plain files ------------------------------------------------------------------------

    def file(self, windows_path: str, content: bytes | str, mtime: datetime | None = None) -> Path:
        """Write a file (``str`` as UTF-8, line endings unchanged) and set its times."""
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        return self._write(self.local(windows_path), data, mtime)

    def directory(self, windows_path: str, mtime: datetime | None = None) -> Path:
        """Create an (empty) folder."""
        path = self.local(windows_path)
        path.mkdir(parents=True, exist_ok=True)
        if mtime is not None:
            _touch(path, mtime)
        return path

    def _write(self, path: Path, data: bytes, mtime: datetime | None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            _touch(path, mtime)
        self.written.append(path)
        return path

    # -- IIS --------------------------------------------------------------------------------

    def iis(
        self,
        site_id: int,
        day: date,
        rows: Iterable[Row],
        fields: Sequence[str] | None = None,
        restarts: Sequence[IisRestart] = (),
        hostile: Hostile = CLEAN,
    ) -> Path:
        """Write ``inetpub\\logs\\LogFiles\\W3SVC<site_id>\\u_exYYMMDD.log``.

        A row's ``time`` may be a datetime (it fills ``date`` too). At each restart the
        preamble repeats with a fresh ``#Date`` and, if given, the restart's field list.
        """
        cells = [_iis_cells(r) for r in rows]
        bounds = [None, *sorted(r.at for r in restarts), None]
        field_sets = [tuple(fields or IIS_FIELDS)]
        for restart in sorted(restarts, key=lambda r: r.at):
            field_sets.append(restart.fields or field_sets[-1])
        lines: list[str] = []
        for start, end, names in zip(bounds, bounds[1:], field_sets, strict=False):
            part = [c for c in cells if _between(_iis_time(c), start, end)]
            lines += self._iis_segment(names, part, start, day, hostile)
        path = self.local(f"%SystemDrive%\\inetpub\\logs\\LogFiles\\W3SVC{site_id}")
        times = [t for t in map(_iis_time, cells) if t]
        return self._write(
            path / f"u_ex{day:%y%m%d}.log", hostile.encode(lines), max(times, default=None)
        )

    def _iis_segment(
        self, names: Sequence[str], part: list[dict[str, str]], start: datetime | None,
        day: date, hostile: Hostile,
    ) -> list[str]:  # fmt: skip
        _check_fields(part, names)
        first = start or (_iis_time(part[0]) if part else None)
        stamp = " ".join(w3c_date_time(first)) if first else f"{day:%Y-%m-%d} 00:00:00"
        preamble = ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
                    f"#Date: {stamp}", "#Fields: " + " ".join(names)]  # fmt: skip
        if hostile.header_row:
            preamble.insert(0, ",".join(names))
        body = [" ".join(c.get(f, "-") for f in names) for c in part]
        return _repeat(preamble, body, hostile.repeat_preamble_every)

    # -- Exchange CSV logs ------------------------------------------------------------------

    def httpproxy(
        self,
        protocol: str,
        hour: datetime,
        rows: Iterable[Row],
        build: str | None = None,
        layout: int | None = None,
        seq: int = 1,
        hostile: Hostile = CLEAN,
    ) -> Path:
        """Write ``Logging\\HttpProxy\\<protocol>\\HttpProxy_YYYYMMDDHH-<seq>.LOG``.

        ``layout`` is 74 (current columns) or 70 (older builds, ending at EdgeTraceId); by
        default Exchange 2013 (15.0) gets 70 columns and later versions 74.
        """
        build = build or self.build
        layout = layout or (70 if parse_build(build)[:2] == (15, 0) else 74)
        names = {74: HTTPPROXY_FIELDS, 70: HTTPPROXY_FIELDS_70}[layout]
        rows = list(rows)
        _check_fields(rows, HTTPPROXY_FIELDS)
        path = self.exchange(
            "Logging", "HttpProxy", protocol, f"HttpProxy_{hour:%Y%m%d%H}-{seq}.LOG"
        )
        return self._csv_log(path, names, "HttpProxy Logs", log_version(build), hour, rows, hostile)

    def ecp_server(
        self, day: date, rows: Iterable[EcpRow], seq: int = 1, hostile: Hostile = CLEAN
    ) -> Path:
        """Write ``Logging\\ECP\\Server\\ECPServerYYYYMMDD-<seq>.LOG``.

        ``ServerName`` defaults to the host, ``EventId`` to ``ECP.Request``; ``EventData`` may
        be a string or a sequence of ``(key, value)`` pairs (see :func:`event_data`).
        """
        full = [_ecp_cells(r, self.host) for r in rows]
        # ECP logs carry a fixed 15.0.0.0 version whatever the build.
        return self._kind_log("ecp", _midnight(day), full, seq, hostile, "15.0.0.0")

    def oab_generator(
        self, day: date, lines: Iterable[tuple[datetime, str]], seq: int = 1,
        hostile: Hostile = CLEAN, build: str | None = None,
    ) -> Path:  # fmt: skip
        """Write ``Logging\\OABGeneratorLog\\OABGeneratorLogYYYYMMDD-<seq>.LOG`` from messages."""
        rows: list[Row] = [
            {"DateTime": t, "ServerName": self.host, "ProcessId": 4188, "ThreadId": 41,
             "Level": "Warning" if "failed" in msg else "Information", "Message": msg}
            for t, msg in lines
        ]  # fmt: skip
        return self._kind_log("oab", _midnight(day), rows, seq, hostile, _version(build))

    def rps_http(
        self, hour: datetime, rows: Iterable[Row], seq: int = 1, hostile: Hostile = CLEAN,
        build: str | None = None,
    ) -> Path:  # fmt: skip
        """Write ``Logging\\CmdletInfra\\Powershell-Proxy\\Http\\Rps_Http_<hour>-<seq>.LOG``."""
        return self._kind_log("rps_http", hour, list(rows), seq, hostile, _version(build))

    def rps_cmdlet(
        self, hour: datetime, rows: Iterable[Row], seq: int = 1, hostile: Hostile = CLEAN,
        build: str | None = None,
    ) -> Path:  # fmt: skip
        """Write ``Logging\\CmdletInfra\\Powershell-Proxy\\Cmdlet\\Rps_Cmdlet_<hour>-<seq>.LOG``."""
        return self._kind_log("rps_cmdlet", hour, list(rows), seq, hostile, _version(build))

    def _kind_log(
        self, kind: str, opened: datetime, rows: Sequence[Row], seq: int, hostile: Hostile,
        version: str | None = None,
    ) -> Path:  # fmt: skip
        k = _KINDS[kind]
        _check_fields(rows, k.fields)
        stamp = f"{opened:%Y%m%d%H}" if k.hourly else f"{opened:%Y%m%d}"
        path = self.exchange("Logging", k.folder, f"{k.prefix}{stamp}-{seq}.LOG")
        version = version or log_version(self.build)
        return self._csv_log(path, k.fields, k.log_type, version, opened, rows, hostile)

    def _csv_log(
        self, windows_path: str, names: Sequence[str], log_type: str, version: str,
        opened: datetime, rows: Sequence[Row], hostile: Hostile,
    ) -> Path:  # fmt: skip
        times = [t for t in (r.get(names[0]) for r in rows) if isinstance(t, datetime)]
        header = ",".join(names)
        opened = times[0] if times else opened
        preamble = ["#Software: Microsoft Exchange Server", f"#Version: {version}",
                    f"#Log-type: {log_type}", f"#Date: {exchange_time(opened)}",
                    f"#Fields: {header}"]  # fmt: skip
        if hostile.header_row is not False:
            preamble.insert(0, header)
        body = [",".join(csv_cell(n, r.get(n)) for n in names) for r in rows]
        data = hostile.encode(_repeat(preamble, body, hostile.repeat_preamble_every))
        return self._write(self.local(windows_path), data, max(times, default=opened))

    # -- configuration files ----------------------------------------------------------------

    def app_host_config(self, build: str | None = None, mtime: datetime | None = None) -> Path:
        """Write ``%windir%\\System32\\inetsrv\\config\\applicationHost.config``.

        Same structure as a stock Exchange 2016 server's (application pools, both sites with
        every Exchange application and binding, log settings, ISAPI filters), with this
        server's install path.
        """
        root = _application_host(self.install, build or self.build)
        path = "%windir%\\System32\\inetsrv\\config\\applicationHost.config"
        return self.file(path, _xml_text(root), mtime)

    def web_config(self, rules: Sequence[RewriteRule] = (), mtime: datetime | None = None) -> Path:
        """Write ``%SystemDrive%\\inetpub\\wwwroot\\web.config``, with URL Rewrite rules if any."""
        root = ET.Element("configuration")
        server = ET.SubElement(root, "system.webServer")
        if rules:
            container = ET.SubElement(ET.SubElement(server, "rewrite"), "rules")
            for rule in rules:
                container.append(_rule_element(rule))
        return self.file("%SystemDrive%\\inetpub\\wwwroot\\web.config", _xml_text(root), mtime)


def _version(build: str | None) -> str | None:
    """The ``#Version:`` value for a build (None: the builder's default build)."""
    return log_version(build) if build else None


def _iis_cells(row: Row) -> dict[str, str]:
    cells = {k: w3c_cell(v) for k, v in row.items() if k not in ("date", "time")}
    when = row.get("time")
    if isinstance(when, datetime):
        cells["date"], cells["time"] = w3c_date_time(when)
    else:
        cells["date"], cells["time"] = w3c_cell(row.get("date")), w3c_cell(when)
    return cells


def _iis_time(cells: Mapping[str, str]) -> datetime | None:
    try:
        return datetime.fromisoformat(f"{cells['date']}T{cells['time']}").replace(tzinfo=UTC)
    except (KeyError, ValueError):
        return None


def _between(when: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if when is None:
        return start is None  # rows without a time stay in the first segment
    return (start is None or when >= start) and (end is None or when < end)


def _ecp_cells(row: EcpRow, host: str) -> dict[str, Value]:
    cells: dict[str, Value] = {"ServerName": host, "EventId": "ECP.Request"}
    for key, value in row.items():
        cells[key] = _ecp_value(value)
    return cells


def _ecp_value(value: Value | Sequence[tuple[str, str]]) -> Value:
    if value is None or isinstance(value, str | bytes | int | float | datetime):
        return value
    return event_data(value)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _touch(path: Path, when: datetime) -> None:
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


# -- configuration files --------------------------------------------------------------------
