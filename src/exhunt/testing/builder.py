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

Value = str | int | float | bytes | datetime | None
Row = Mapping[str, Value]
EcpRow = Mapping[str, Value | Sequence[tuple[str, str]]]

CRLF = "\r\n"
UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_INSTALL = r"C:\Program Files\Microsoft\Exchange Server\V15"


def _names(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


IIS_FIELDS = _names(
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
    "cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
HTTPPROXY_FIELDS = _names(
    "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,"
    "Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,"
    "Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,"
    "ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,"
    "BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,"
    "TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,"
    "CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,"
    "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,"
    "SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,"
    "ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,"
    "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,"
    "BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,"
    "HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,"
    "BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,"
    "PartitionEndpointLookupLatency,RoutingStatus",
    ",",
)
# Older builds stop at EdgeTraceId (70 columns); later CUs appended four more.
HTTPPROXY_FIELDS_70 = HTTPPROXY_FIELDS[:70]
HTTPPROXY_PROTOCOLS = _names("Autodiscover Eas Ecp Ews Mapi Oab Owa OwaCalendar PowerShell RpcHttp")
ECP_SERVER_FIELDS = ("TimeStamp", "ServerName", "EventId", "EventData")
RPS_HTTP_FIELDS = _names(
    "DateTime,StartTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,"
    "ClientRequestId,UrlHost,UrlStem,AuthenticationType,IsAuthenticated,AuthenticatedUser,"
    "Organization,ManagedOrganization,ClientIpAddress,ServerHostName,FrontEndServer,HttpStatus,"
    "SubStatus,ErrorCode,Action,CommandId,CommandName,SessionId,ShellId,FailFast,"
    "ContributeToFailFast,RequestBytes,ClientInfo,CPU,Memory,ActivityContextLifeTime,TotalTime,"
    "UrlQuery,GenericLatency,GenericInfo,GenericErrors",
    ",",
)
RPS_CMDLET_FIELDS = _names(
    "DateTime,StartTime,RequestId,ClientRequestId,MajorVersion,MinorVersion,BuildVersion,"
    "RevisionVersion,ServerHostName,ProcessId,ProcessName,ThreadId,CultureInfo,Organization,"
    "AuthenticatedUser,ExecutingUserSid,EffectiveOrganization,UserServicePlan,IsAdmin,"
    "ClientApplication,Cmdlet,Parameters,CmdletUniqueId,UserBudgetOnStart,ContributeToFailFast,"
    "RunspaceSettingsCreationHint,ADViewEntireForest,ADRecipientViewRoot,"
    "ADConfigurationDomainControllers,ADPreferredGlobalCatalogs,ADPreferredDomainControllers,"
    "ADUserConfigurationDomainController,ADUserPreferredGlobalCatalog,"
    "ADuserPreferredDomainControllers,ThrottlingInfo,DelayInfo,ThrottlingDelay,"
    "IsOutputObjectRedacted,CmdletProxyStage,CmdletProxyRemoteServer,"
    "CmdletProxyRemoteServerVersion,CmdletProxyMethod,ProxiedObjectCount,CmdletProxyLatency,"
    "OutputObjectCount,ParameterBinding,BeginProcessing,ProcessRecord,EndProcessing,"
    "StopProcessing,BizLogic,PowerShellLatency,UserInteractionLatency,ProvisioningLayerLatency,"
    "ActivityContextLifeTime,TotalTime,ErrorType,ExecutionResult,CacheHitCount,CacheMissCount,"
    "GenericLatency,GenericInfo,GenericErrors,ObjectGuid,ExternalDirectoryOrganizationId,"
    "ExternalDirectoryObjectId,NonPiiParameters",
    ",",
)
# Not confirmed from a public sample: the columns follow the Exchange CSV log convention;
# detections key on the message text only.
OAB_GENERATOR_FIELDS = ("DateTime", "ServerName", "ProcessId", "ThreadId", "Level", "Message")
_UA_FIELDS = frozenset({"UserAgent", "ClientInfo"})
_CSV_SPECIAL = re.compile(r'[,"\r\n]')
_ECP_SPECIAL = re.compile(r"[';,\"\r\n]")


@dataclass(frozen=True, slots=True)
class Hostile:
    """Deviations from a well-formed file, for parser tests.

    Attributes:
        bom: start the file with a UTF-8 byte order mark.
        newline: line ending; CRLF as Windows writes it, or ``"\\n"``.
        header_row: a plain CSV row of column names before the ``#`` preamble; ``None`` keeps
            the log kind's habit (Exchange CSV logs: yes, IIS: no).
        repeat_preamble_every: repeat the preamble (and header row) after every N rows.
        truncate: cut this many bytes off the end, leaving a partial last line.
        nul_padding: append this many NUL bytes, like a preallocated file never filled.
    """

    bom: bool = False
    newline: str = CRLF
    header_row: bool | None = None
    repeat_preamble_every: int = 0
    truncate: int = 0
    nul_padding: int = 0

    def encode(self, lines: Sequence[str]) -> bytes:
        """The file's bytes: lines joined, then every deviation applied."""
        data = (self.newline.join(lines) + self.newline).encode("utf-8", "surrogateescape")
        if self.bom:
            data = UTF8_BOM + data
        if self.truncate:
            data = data[: max(0, len(data) - self.truncate)]
        return data + b"\x00" * self.nul_padding


CLEAN = Hostile()


@dataclass(frozen=True, slots=True)
class IisRestart:
    """An IIS restart inside a daily file: the preamble repeats, maybe with other fields."""

    at: datetime
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RewriteRule:
    """One IIS URL Rewrite inbound rule, as mitigation scripts write them into web.config."""

    name: str
    pattern: str
    input: str = "{HTTP_COOKIE}"
    match_url: str = ".*"
    action: str = "AbortRequest"
    stop_processing: bool = False


# Written by EOMT / BackendCookieMitigation.ps1 against ProxyLogon (March 2021).
PROXYLOGON_REWRITE_RULES = (
    RewriteRule("X-AnonResource-Backend Abort - inbound", "(.*)X-AnonResource-Backend(.*)"),
    RewriteRule("X-BEResource Abort - inbound", "(.*)X-BEResource=(.+)/(.+)~(.+)", "{HTTP_COOKIE}",
                ".*", "AbortRequest", True),
)  # fmt: skip


def parse_build(build: str) -> tuple[int, int, int, int]:
    """Split ``15.1.2106.2`` (or the zero-padded ``15.01.2106.002``) into four integers."""
    parts = [int(p) for p in build.split(".")]
    if len(parts) != 4:
        raise ValueError(f"not a four-part Exchange build: {build!r}")
    return parts[0], parts[1], parts[2], parts[3]


def log_version(build: str) -> str:
    """The build as Exchange logs write it in ``#Version:``, e.g. ``15.01.2106.002``."""
    major, minor, bld, rev = parse_build(build)
    return f"{major:02d}.{minor:02d}.{bld:04d}.{rev:03d}"


def exchange_time(value: datetime) -> str:
    """Exchange log time: ISO-8601 UTC, always milliseconds, ``Z``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def w3c_date_time(value: datetime) -> tuple[str, str]:
    """IIS ``date`` and ``time`` fields (UTC, whole seconds)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d"), value.strftime("%H:%M:%S")


def event_data(pairs: Iterable[tuple[str, str]]) -> str:
    """ECP Server log ``EventData``: ``;``-separated ``S:KEY=value`` pairs.

    A pair holding a quote, separator or line break is wrapped in single quotes with inner
    single quotes doubled; line breaks are written as the characters ``\\r`` and ``\\n``. Real
    example: ``'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/...''.Identity=''<g>'''``.
    """
    return ";".join(_ecp_pair(key, value) for key, value in pairs)


def _ecp_pair(key: str, value: str) -> str:
    raw = f"{key}={value}"
    text = raw.replace("\r", "\\r").replace("\n", "\\n")
    return "'" + text.replace("'", "''") + "'" if _ECP_SPECIAL.search(raw) else text


def _text(value: Value, exchange: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, datetime):
        return exchange_time(value) if exchange else w3c_date_time(value)[1]
    return str(value)


def csv_cell(name: str, value: Value) -> str:
    """One Exchange CSV cell: user-agent commas become spaces, then quote if needed."""
    text = _text(value, exchange=True)
    if name in _UA_FIELDS:
        text = text.replace(",", " ")
    return '"' + text.replace('"', '""') + '"' if _CSV_SPECIAL.search(text) else text


def w3c_cell(value: Value) -> str:
    """One IIS W3C cell: empty as ``-``, spaces as ``+``."""
    text = _text(value, exchange=False)
    return text.replace(" ", "+") if text else "-"


def _check_fields(rows: Iterable[Row], allowed: Iterable[str]) -> None:
    known = set(allowed)
    for row in rows:
        if unknown := set(row) - known:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; known: {sorted(known)}")


def _repeat(preamble: list[str], body: list[str], every: int) -> list[str]:
    if every <= 0:
        return [*preamble, *body]
    out: list[str] = []
    for start in range(0, max(len(body), 1), every):
        out += [*preamble, *body[start : start + every]]
    return out


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
        hostile: Hostile = CLEAN,
    ) -> Path:  # fmt: skip
        """Write ``Logging\\OABGeneratorLog\\OABGeneratorLogYYYYMMDD-<seq>.LOG`` from messages."""
        rows: list[Row] = [
            {"DateTime": t, "ServerName": self.host, "ProcessId": 4188, "ThreadId": 41,
             "Level": "Warning" if "failed" in msg else "Information", "Message": msg}
            for t, msg in lines
        ]  # fmt: skip
        return self._kind_log("oab", _midnight(day), rows, seq, hostile)

    def rps_http(
        self, hour: datetime, rows: Iterable[Row], seq: int = 1, hostile: Hostile = CLEAN
    ) -> Path:
        """Write ``Logging\\CmdletInfra\\Powershell-Proxy\\Http\\Rps_Http_<hour>-<seq>.LOG``."""
        return self._kind_log("rps_http", hour, list(rows), seq, hostile)

    def rps_cmdlet(
        self, hour: datetime, rows: Iterable[Row], seq: int = 1, hostile: Hostile = CLEAN
    ) -> Path:
        """Write ``Logging\\CmdletInfra\\Powershell-Proxy\\Cmdlet\\Rps_Cmdlet_<hour>-<seq>.LOG``."""
        return self._kind_log("rps_cmdlet", hour, list(rows), seq, hostile)

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

_POOLS = _names(
    "MSExchangePowerShellAppPool MSExchangeMapiMailboxAppPool MSExchangeMapiAddressBookAppPool "
    "MSExchangeRestAppPool MSExchangeOWAAppPool MSExchangeOWACalendarAppPool MSExchangeOABAppPool "
    "MSExchangeECPAppPool MSExchangeAutodiscoverAppPool MSExchangeSyncAppPool "
    "MSExchangeServicesAppPool MSExchangeRpcProxyAppPool MSExchangeRestFrontEndAppPool "
    "MSExchangePowerShellFrontEndAppPool MSExchangeMapiFrontEndAppPool "
    "MSExchangeRpcProxyFrontEndAppPool MSExchangePushNotificationsAppPool"
)
# "site application pool physical-path" (physical path relative to the install folder unless %).
_APPS = (
    "1 /owa OWA FrontEnd\\HttpProxy\\owa;1 /owa/Calendar OWACalendar FrontEnd\\HttpProxy\\owa;"
    "1 /owa/Integrated OWA FrontEnd\\HttpProxy\\owa;1 /owa/oma OWA FrontEnd\\HttpProxy\\owa;"
    "1 /ecp ECP FrontEnd\\HttpProxy\\ecp;1 /EWS Services FrontEnd\\HttpProxy\\EWS;"
    "1 /API RestFrontEnd FrontEnd\\HttpProxy\\Rest;"
    "1 /Autodiscover Autodiscover FrontEnd\\HttpProxy\\Autodiscover;"
    "1 /Microsoft-Server-ActiveSync Sync FrontEnd\\HttpProxy\\sync;"
    "1 /OAB OAB FrontEnd\\HttpProxy\\OAB;1 /mapi MapiFrontEnd FrontEnd\\HttpProxy\\mapi;"
    "1 /PowerShell PowerShellFrontEnd FrontEnd\\HttpProxy\\PowerShell;"
    "1 /Rpc RpcProxyFrontEnd FrontEnd\\HttpProxy\\rpc;"
    "2 /PowerShell PowerShell ClientAccess\\PowerShell-Proxy;"
    "2 /mapi/emsmdb MapiMailbox ClientAccess\\mapi\\emsmdb;"
    "2 /mapi/nspi MapiAddressBook ClientAccess\\mapi\\nspi;2 /API Rest ClientAccess\\rest;"
    "2 /owa OWA ClientAccess\\owa;2 /owa/Calendar OWACalendar ClientAccess\\owa;"
    "2 /OAB OAB ClientAccess\\OAB;2 /ecp ECP ClientAccess\\ecp;"
    "2 /Autodiscover Autodiscover ClientAccess\\Autodiscover;"
    "2 /Microsoft-Server-ActiveSync Sync ClientAccess\\sync;"
    "2 /EWS Services ClientAccess\\exchweb\\EWS;"
    "2 /EWS/bin Services ClientAccess\\exchweb\\EWS\\bin;"
    "2 /Rpc RpcProxy %windir%\\System32\\RpcProxy;"
    "2 /RpcWithCert RpcProxy %windir%\\System32\\RpcProxy;"
    "2 /PushNotifications PushNotifications ClientAccess\\PushNotifications"
)
_SITES = (
    ("1", "Default Web Site", "%SystemDrive%\\inetpub\\wwwroot",
     "http *:80:|net.tcp 808:*|net.pipe *|https :443:|http 127.0.0.1:80:|https 127.0.0.1:443:"),
    ("2", "Exchange Back End", "{install}\\ClientAccess", "http *:81:|https *:444:|net.pipe *"),
)  # fmt: skip
_LOG_DIR = "%SystemDrive%\\inetpub\\logs\\LogFiles"


def _application_host(install: str, build: str) -> ET.Element:
    root = ET.Element("configuration")
    host = ET.SubElement(root, "system.applicationHost")
    pools = ET.SubElement(host, "applicationPools")
    clr = f"{install}\\bin\\GenericAppPoolConfigWithGCServerEnabledFalse.config"
    for name in ("DefaultAppPool", *_POOLS):
        pool = ET.SubElement(pools, "add", name=name, managedRuntimeVersion="v4.0",
                             managedPipelineMode="Integrated", CLRConfigFile=clr)  # fmt: skip
        ET.SubElement(pool, "processModel", identityType="LocalSystem", idleTimeout="00:00:00")
    ET.SubElement(
        ET.SubElement(host, "log"), "centralW3CLogFile", enabled="true", directory=_LOG_DIR
    )
    sites = ET.SubElement(host, "sites")
    for site_id, name, physical, bindings in _SITES:
        _site(sites, site_id, name, physical.format(install=install), bindings, install)
    defaults = ET.SubElement(sites, "siteDefaults")
    ET.SubElement(defaults, "logFile", logFormat="W3C", directory=_LOG_DIR)
    filters = ET.SubElement(_location(root, "Default Web Site"), "isapiFilters")
    for name, dll in (("Exchange OWA Cookie Authentication ISAPI Filter", "owaauth.dll"),
                      ("Exchange ActiveSync ISAPI Filter", "AirFilter.dll")):  # fmt: skip
        path = f"{install}\\FrontEnd\\HttpProxy\\bin\\{dll}"
        ET.SubElement(filters, "filter", name=name, path=path, enabled="true")
    for where in (f"Exchange Back End/owa/{build}", f"Exchange Back End/ecp/{build}",
                  "Default Web Site/owa/auth"):  # fmt: skip
        ET.SubElement(_location(root, where), "handlers", accessPolicy="Read, Execute, Script")
    return root


def _site(
    parent: ET.Element, site_id: str, name: str, physical: str, bindings: str, install: str
) -> None:
    site = ET.SubElement(parent, "site", name=name, id=site_id, serverAutoStart="true")
    top = ET.SubElement(site, "application", path="/")
    if site_id == "1":
        top.set("applicationPool", "MSExchangeOWAAppPool")
    ET.SubElement(top, "virtualDirectory", path="/", physicalPath=physical)
    for app in _APPS.split(";"):
        sid, path, pool, where = app.split(" ", 3)
        if sid == site_id:
            where = where if where.startswith("%") else f"{install}\\{where}"
            node = ET.SubElement(
                site, "application", path=path, applicationPool=f"MSExchange{pool}AppPool"
            )
            ET.SubElement(node, "virtualDirectory", path="/", physicalPath=where)
    container = ET.SubElement(site, "bindings")
    for binding in bindings.split("|"):
        protocol, info = binding.split(" ")
        ET.SubElement(container, "binding", protocol=protocol, bindingInformation=info)


def _location(root: ET.Element, path: str) -> ET.Element:
    return ET.SubElement(ET.SubElement(root, "location", path=path), "system.webServer")


def _rule_element(rule: RewriteRule) -> ET.Element:
    node = ET.Element("rule", name=rule.name)
    if rule.stop_processing:
        node.set("stopProcessing", "true")
    ET.SubElement(node, "match", url=rule.match_url)
    conditions = ET.SubElement(node, "conditions")
    ET.SubElement(conditions, "add", input=rule.input, pattern=rule.pattern)
    ET.SubElement(node, "action", type=rule.action)
    return node


def _xml_text(root: ET.Element) -> str:
    """Indented XML with the declaration and CRLF line ends, as IIS writes its config."""
    ET.indent(root, space="    ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return text.replace("\n", CRLF)
