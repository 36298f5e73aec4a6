"""Where Sigma log sources and field names meet exhunt's artifacts and native field names.

This module is the one place that knows how a Sigma rule's ``logsource`` selects records and how
a Sigma field name reads a value from a record. Both are tables: adding a log type means adding
rows, not code (:mod:`.fields` reads values through them).

A row (:class:`LogsourceRule`) names the artifact type whose records the log source selects, the
record condition that narrows them (for Windows event logs: channel and event ids), and the field
table that maps Sigma field names onto the record's native names. One log source may have several
rows: ``process_creation`` is Sysmon event 1 or Security event 4688, each with its own names. The
condition is part of the rule's compiled predicate; prefilter literals come from the detection
only.

* Exchange's own logs use custom log sources (``product: exchange`` with ``service:
  httpproxy | ecp_server | oab_generator | rps_http | rps_cmdlet``) whose Sigma field names are
  the log's native column names, looked up exactly first and case-insensitively second.
* IIS W3C logs are ``category: webserver``. SigmaHQ names the fields after the W3C directives
  (``cs-uri-query``, ``cs-user-agent``); IIS writes ``cs(User-Agent)`` and splits the URL into
  ``cs-uri-stem`` and ``cs-uri-query``. SigmaHQ web rules put URL paths in ``cs-uri-query``
  (for example ``web_exchange_exploitation_hafnium.yml``), so ``cs-uri-query`` and ``cs-uri``
  read ``stem?query`` here. IIS writes an empty value as ``-``.
* Windows event logs (artifact ``evtx``) follow SigmaHQ's conventions: the generic categories are
  Sysmon event ids (as pySigma's Sysmon pipeline), ``process_creation`` is also Security 4688
  (with the usual renames), the PowerShell categories are event ids of the PowerShell channels,
  and each service is one channel or a few (as pySigma's Windows mapping and SigmaHQ's
  ``tests/thor.yml``).

References:
    https://github.com/SigmaHQ/sigma-specification (log source and taxonomy appendix)
    https://github.com/SigmaHQ/sigma/blob/master/tests/thor.yml
    https://github.com/SigmaHQ/pySigma-pipeline-sysmon
    https://learn.microsoft.com/en-us/windows/win32/http/w3c-logging
    https://learn.microsoft.com/en-us/windows/security/threat-protection/auditing/event-4688
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RAW_SEPARATORS = frozenset(" +?,\"'\t;=&%")
"""Characters whose encoding differs between a field value and the raw line (IIS writes spaces
as ``+``, CSV quotes and doubles quotes, URLs percent-encode); literals never span them."""

JSON_SEPARATORS = frozenset('\\"')
"""Characters that JSON text escapes (``\\\\``, ``\\"``; control characters are never part of a
literal): an EVTX record's raw text is its JSON, so literals never span them."""

ABSENT = ""
"""In a :class:`LogsourceRule` pattern: the rule's log source must not set this attribute."""


@dataclass(frozen=True, slots=True)
class LogsourceRule:
    """One row of the log source table: a Sigma ``logsource`` pattern and the records it selects.

    ``None`` in a pattern attribute accepts any value (or none) in the rule; :data:`ABSENT`
    accepts only a rule that leaves the attribute out.
    """

    artifact: str
    product: str | None = None
    category: str | None = None
    service: str | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Record condition: native fields, each with the values one of which it must have
    (compared case-insensitively)."""
    fields: str | None = None
    """The field table's name; the artifact type's own table when ``None``."""

    @property
    def field_table(self) -> str:
        return self.fields or self.artifact

    def accepts(self, logsource: Mapping[str, str | None]) -> bool:
        """Whether a rule's log source (lower-cased values) selects this row."""
        wanted = {"product": self.product, "category": self.category, "service": self.service}
        return all(
            value is None or logsource.get(key) == (value or None) for key, value in wanted.items()
        )


@dataclass(frozen=True, slots=True)
class JoinedField:
    """A Sigma field made of two native fields, such as IIS ``stem?query``.

    The second part is left out when it is missing or empty; the whole is absent when the first
    part is.
    """

    first: str
    second: str
    separator: str


@dataclass(frozen=True, slots=True)
class TranslatedField:
    """A native field whose values the Sigma taxonomy writes differently (Security 4688 logs the
    integrity level as a SID, Sysmon by name); other values read as they are."""

    native: str
    values: Mapping[str, str]
    """Upper-cased native value to the taxonomy's value."""


@dataclass(frozen=True, slots=True)
class RepeatedField:
    """A name that an event repeats (unnamed ``<Data>`` elements read as ``Data``, ``Data2``,
    ...): a value test holds when it holds for any of them."""

    native: str


FieldSource = str | JoinedField | TranslatedField | RepeatedField


@dataclass(frozen=True, slots=True)
class ArtifactFields:
    """How Sigma field names read values from one kind of record."""

    renames: Mapping[str, FieldSource] = field(default_factory=dict)
    """Lower-cased Sigma field name to native field name, or a composition of native fields."""
    empty_values: frozenset[str] = frozenset({""})
    """Native values that mean "no value"; Sigma ``null`` matches them and a missing field."""
    raw_separators: frozenset[str] = RAW_SEPARATORS
    """Characters that this log's raw lines may write differently from the field values."""
    keywords_in_values: bool = False
    """Keywords search the field values (joined by line breaks) instead of the raw line: an
    EVTX record's raw text is JSON, with escapes no keyword expects."""
    hex_numbers: bool = False
    """Numeric values also match hexadecimal text (``0x1410``), as Windows writes access masks."""
    common: frozenset[str] = frozenset()
    """Lower-case text found in most raw records of this log: a literal inside one of these
    selects nearly every record, so a conjunction prefers any other child's literals."""


# --- Exchange and IIS logs ---------------------------------------------------------------------

_EXCHANGE_SERVICES = ("httpproxy", "ecp_server", "oab_generator", "rps_http", "rps_cmdlet")

_IIS_URI = JoinedField("cs-uri-stem", "cs-uri-query", "?")
_IIS_NATIVE = (
    *("cs-method", "cs-uri-stem", "c-ip", "s-ip", "s-port", "cs-username", "sc-status"),
    *("sc-substatus", "sc-win32-status", "time-taken", "cs-host", "cs-version"),
)

# Paths every OWA, ECP, EWS or ActiveSync client requests all day, and common agents.
_IIS_COMMON_TEXT = frozenset(
    {
        "/owa/auth/current/themes/resources/", "/owa/auth/logon.aspx", "/owa/service.svc",
        "/ecp/default.aspx", "/ews/exchange.asmx", "/microsoft-server-activesync",
        "/mapi/emsmdb/", "/mapi/nspi/", "/autodiscover/autodiscover.xml", "/oab/",
        "mozilla/5.0+(windows+nt+10.0;+win64;+x64)", "microsoft+office/16.0", "post", "get",
        ".js", ".css", ".png", ".gif", ".svg", ".woff",
    }
)  # fmt: skip

# --- Windows event logs ------------------------------------------------------------------------

SYSMON = "Microsoft-Windows-Sysmon/Operational"
POWERSHELL = ("Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational")
POWERSHELL_CLASSIC = ("Windows PowerShell",)
DEFENDER = "Microsoft-Windows-Windows Defender/Operational"
SERVICEBUS = ("Microsoft-ServiceBus-Client/Operational", "Microsoft-ServiceBus-Client/Admin")

SYSMON_CATEGORIES: Mapping[str, tuple[int, ...]] = {
    "process_creation": (1,),
    "file_change": (2,),
    "network_connection": (3,),
    "sysmon_status": (4, 16),
    "process_termination": (5,),
    "driver_load": (6,),
    "image_load": (7,),
    "create_remote_thread": (8,),
    "raw_access_thread": (9,),
    "process_access": (10,),
    "file_event": (11,),
    "registry_add": (12,),
    "registry_delete": (12,),
    "registry_set": (13,),
    "registry_rename": (14,),
    "registry_event": (12, 13, 14),
    "create_stream_hash": (15,),
    "pipe_created": (17, 18),
    "wmi_event": (19, 20, 21),
    "dns_query": (22,),
    "file_delete": (23, 26),
    "clipboard_capture": (24,),
    "process_tampering": (25,),
    "file_block_executable": (27,),
    "file_block_shredding": (28,),
    "file_executable_detected": (29,),
    "sysmon_error": (255,),
}
"""Generic Windows categories as Sysmon event ids (pySigma's Sysmon pipeline, SigmaHQ thor.yml)."""

CHANNEL_CATEGORIES: Mapping[str, tuple[tuple[str, ...], tuple[int, ...], str | None]] = {
    "process_creation": (("Security",), (4688,), "evtx.security-4688"),
    "ps_module": (POWERSHELL, (4103,), None),
    "ps_script": (POWERSHELL, (4104,), None),
    "ps_classic_start": (POWERSHELL_CLASSIC, (400,), None),
    "ps_classic_provider_start": (POWERSHELL_CLASSIC, (600,), None),
    "ps_classic_script": (POWERSHELL_CLASSIC, (800,), None),
}
"""Categories read from other channels: (channels, event ids, field table)."""

WINDOWS_SERVICES: Mapping[str, tuple[str, ...]] = {
    "security": ("Security",),
    "system": ("System",),
    "application": ("Application",),
    "sysmon": (SYSMON,),
    "powershell": POWERSHELL,
    "powershell-classic": POWERSHELL_CLASSIC,
    "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
    "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
    "windefend": (DEFENDER,),
    "defender": (DEFENDER,),
    "msexchange-management": ("MSExchange Management",),
    "dns-server": ("DNS Server",),
    "dns-server-audit": ("Microsoft-Windows-DNS-Server/Audit",),
    "dns-server-analytic": ("Microsoft-Windows-DNS-Server/Analytical",),
    "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
    "ntlm": ("Microsoft-Windows-NTLM/Operational",),
    "dhcp": ("Microsoft-Windows-DHCP-Server/Operational",),
    "applocker": (
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ),
    "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
    "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
    "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
    "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
    "smbclient-connectivity": ("Microsoft-Windows-SmbClient/Connectivity",),
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
    "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
    "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    ),
    "servicebus-client": SERVICEBUS,
    "microsoft-servicebus-client": SERVICEBUS,
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "ldap_debug": ("Microsoft-Windows-LDAP-Client/Debug",),
    "security-mitigations": (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ),
    "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
    "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
    "openssh": ("OpenSSH/Operational",),
    "bitlocker": ("Microsoft-Windows-BitLocker/BitLocker Management",),
    "vhdmp": ("Microsoft-Windows-VHDMP/Operational",),
    "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
    "lsa-server": ("Microsoft-Windows-LSA/Operational",),
    "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
    "dns-client": ("Microsoft-Windows-DNS Client Events/Operational",),
    "appmodel-runtime": ("Microsoft-Windows-AppModel-Runtime/Admin",),
    "capi2": ("Microsoft-Windows-CAPI2/Operational",),
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    "application-experience": (
        "Microsoft-Windows-Application-Experience/Program-Telemetry",
        "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
    ),
    "hyper-v-worker": ("Microsoft-Windows-Hyper-V-Worker",),
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "kernel-event-tracing": ("Microsoft-Windows-Kernel-EventTracing",),
    "kernel-shimengine": (
        "Microsoft-Windows-Kernel-ShimEngine/Operational",
        "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
    ),
    "ntfs": ("Microsoft-Windows-Ntfs/Operational",),
    "sense": ("Microsoft-Windows-SENSE/Operational",),
}
"""Windows services as event log channels (pySigma's ``windows_logsource_mapping``)."""

DEFENDER_DETECTIONS = (1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116)
"""Defender events that name a threat and a path: ``category: antivirus`` (SigmaHQ thor.yml)."""

_INTEGRITY_LEVELS = {
    "S-1-16-0": "Untrusted",
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-8448": "Medium",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
    "S-1-16-20480": "Protected",
}

_EVTX_COMMON: Mapping[str, FieldSource] = {
    "execution_processid": "ExecutionProcessID",
    "execution_threadid": "ExecutionThreadID",
    "security_userid": "SecurityUserID",
    "timecreated_systemtime": "TimeCreated",
    "data": RepeatedField("Data"),
}
"""Names the Sigma specification gives System attributes (``Tag_Attribute``), and unnamed data."""

_SECURITY_4688: Mapping[str, FieldSource] = {
    **_EVTX_COMMON,
    "image": "NewProcessName",
    "parentimage": "ParentProcessName",
    "user": "SubjectUserName",
    "logonid": "SubjectLogonId",
    "integritylevel": TranslatedField("MandatoryLabel", _INTEGRITY_LEVELS),
}
"""Sysmon process creation names on Security 4688 (SigmaHQ windows-audit and Hayabusa)."""


# Text in nearly every event's JSON (provider and channel names, system paths, SIDs, schema).
_EVTX_COMMON_TEXT = frozenset(
    {
        "microsoft-windows-security-auditing", "microsoft-windows-sysmon/operational",
        "microsoft-windows-powershell/operational", "windows powershell", "service control manager",
        "c:\\windows\\system32\\", "c:\\program files\\", "nt authority\\system",
        "s-1-5-21-", "s-1-5-18", ".exe", ".dll", "eventdata", "userdata", "timecreated",
        "#attributes", "systemtime", "0x8020000000000000", "0x8000000000000000", "application",
    }
)  # fmt: skip


def _evtx_fields(renames: Mapping[str, FieldSource]) -> ArtifactFields:
    return ArtifactFields(
        renames,
        raw_separators=JSON_SEPARATORS,
        keywords_in_values=True,
        hex_numbers=True,
        common=_EVTX_COMMON_TEXT,
    )


def _windows_rows() -> tuple[LogsourceRule, ...]:
    """The Windows rows, built from the tables above."""
    sysmon = tuple(
        _evtx(category=category, channels=(SYSMON,), ids=ids)
        for category, ids in SYSMON_CATEGORIES.items()
    )
    channels = tuple(
        _evtx(category=category, channels=names, ids=ids, fields=table)
        for category, (names, ids, table) in CHANNEL_CATEGORIES.items()
    )
    services = tuple(
        _evtx(service=service, channels=names) for service, names in WINDOWS_SERVICES.items()
    )
    antivirus = LogsourceRule(
        "evtx",
        category="antivirus",
        where=(("Channel", (DEFENDER,)), ("EventID", tuple(map(str, DEFENDER_DETECTIONS)))),
        fields="evtx.defender-antivirus",
    )
    # A rule for any Windows event (SigmaHQ's Mimikatz keywords): every record, no condition.
    anything = LogsourceRule("evtx", product="windows", category=ABSENT, service=ABSENT)
    return (*sysmon, *channels, *services, antivirus, anything)


def _evtx(
    *,
    channels: tuple[str, ...],
    ids: tuple[int, ...] = (),
    category: str | None = None,
    service: str | None = None,
    fields: str | None = None,
) -> LogsourceRule:
    where: tuple[tuple[str, tuple[str, ...]], ...] = (("Channel", channels),)
    if ids:
        where += (("EventID", tuple(str(number) for number in ids)),)
    return LogsourceRule(
        "evtx", product="windows", category=category, service=service, where=where, fields=fields
    )


LOGSOURCES: tuple[LogsourceRule, ...] = (
    *(
        LogsourceRule(f"exchange.{service}", product="exchange", service=service)
        for service in _EXCHANGE_SERVICES
    ),
    LogsourceRule("iis.w3c", category="webserver"),
    *_windows_rows(),
)

ARTIFACT_FIELDS: Mapping[str, ArtifactFields] = {
    "iis.w3c": ArtifactFields(
        renames={
            **{name: name for name in _IIS_NATIVE},
            "cs-user-agent": "cs(User-Agent)",
            "cs-referer": "cs(Referer)",
            "cs-referrer": "cs(Referer)",
            "cs-cookie": "cs(Cookie)",
            "cs-uri-query": _IIS_URI,
            "cs-uri": _IIS_URI,
        },
        empty_values=frozenset({"", "-"}),
        common=_IIS_COMMON_TEXT,
    ),
    "evtx": _evtx_fields(_EVTX_COMMON),
    "evtx.security-4688": _evtx_fields(_SECURITY_4688),
    "evtx.defender-antivirus": _evtx_fields(
        {**_EVTX_COMMON, "signature": "ThreatName", "filename": "Path"}
    ),
}
"""Field tables by name (an artifact type, or a row's own ``fields``)."""

_DEFAULT_FIELDS = ArtifactFields()


def variants_for(logsource: Mapping[str, Any]) -> tuple[LogsourceRule, ...]:
    """The rows a Sigma ``logsource`` mapping selects, in table order (empty when none does)."""
    normalised = {
        key: str(value).lower() if value is not None else None for key, value in logsource.items()
    }
    return tuple(row for row in LOGSOURCES if row.accepts(normalised))


def artifacts_for(logsource: Mapping[str, Any]) -> frozenset[str]:
    """The artifact types a Sigma ``logsource`` mapping selects (empty when none does)."""
    return frozenset(row.artifact for row in variants_for(logsource))


def artifact_fields(table: str) -> ArtifactFields:
    """A field table by name; artifacts without one use native names as they are."""
    return ARTIFACT_FIELDS.get(table, _DEFAULT_FIELDS)
