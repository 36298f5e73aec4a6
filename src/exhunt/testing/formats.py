"""The native formats of Exchange and IIS logs: field lists, value encoders, hostile variants.

Used by :mod:`exhunt.testing.builder` to write evidence; see its docstring for the formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
