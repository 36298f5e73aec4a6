"""Seeded example servers: a folder copy of one Exchange server, clean or compromised.

:func:`write_server` writes about two weeks of a small organisation's IIS (front end W3SVC1,
back end W3SVC2), HttpProxy, ECP Server, OAB generator and Remote PowerShell logs, the stock web
folders, applicationHost.config and web.config, and returns a :class:`ServerManifest` of what it
planted so tests can assert against it.

* ``clean``: Exchange 2016 CU19 (15.1.2176.2); the March 2021 SU (15.1.2176.9) is installed on
  2021-03-03 (IIS restarts mid-file, HttpProxy rolls to a ``-2`` file). No attack, no probe.
* ``compromised``: Exchange 2016 CU18 unpatched (15.1.2106.2), attacked the ProxyLogon way on
  2021-03-03 from a published HAFNIUM address (SSRF, ``proxyLogon.ecp``, a script in the OAB
  virtual directory's ``ExternalUrl``, a reset that dumps it into ``owa\\auth``), then web-shell
  commands on the following days, an LSASS dump and an exfiltration archive.

Both carry the same near misses: a legitimate ``Set-OwaVirtualDirectory`` URL change, a failed
OAB download under ``ClientAccess\\OAB``, and an antivirus archive under ``ProgramData``.
"""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from exhunt.testing import scenarios as sc
from exhunt.testing.builder import (
    DEFAULT_INSTALL,
    IIS_FIELDS,
    EcpRow,
    EvidenceBuilder,
    IisRestart,
    Row,
    exchange_time,
    parse_build,
)
from exhunt.testing.scenarios import EcpCall, Org, Request

Profile = Literal["clean", "compromised"]

LOG_START = datetime(2021, 2, 24, tzinfo=UTC)
LOG_END = datetime(2021, 3, 11, tzinfo=UTC)  # exclusive: the logs cover 2021-02-24..2021-03-10
MCAFEE_ZIP = r"%ProgramData%\McAfee\Common Framework\Current\VSCANENG1000\Engine\0000\engmin.zip"
NEAR_MISSES = (
    "Set-OwaVirtualDirectory ExternalUrl change by the administrator (no markup)",
    "OAB download failure under ClientAccess\\OAB\\Temp",
    "antivirus archive under ProgramData",
)
# Stock files of the web folders, relative to the install folder (Microsoft's per-build
# baselines, see exhunt/data/README.md); {v} is the major.minor.build folder.
_FE = "FrontEnd\\HttpProxy\\"
STOCK_WEB = (
    *(f"{_FE}owa\\auth\\{n}" for n in ("errorFE.aspx", "expiredpassword.aspx", "frowny.aspx",
                                       "GetIdToken.htm", "logoff.aspx", "logon.aspx",
                                       "OutlookCN.aspx", "RedirSuiteServiceProxy.aspx",
                                       "signout.aspx")),
    *(f"{_FE}owa\\auth\\{d}\\{n}" for d in ("{v}", "Current")
      for n in ("themes\\resources\\logon.css", "themes\\resources\\owafont_ja.css",
                "themes\\resources\\lgnbotl.gif", "scripts\\premium\\flogon.js")),
    f"{_FE}ecp\\auth\\TimeoutLogout.aspx",
    *(f"{_FE}{app}\\{n}" for app in ("owa", "ecp", "oab") for n in ("global.asax", "web.config")),
    "ClientAccess\\OAB\\web.config",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlantedFile:
    """A file placed on purpose: attacker output or a benign look-alike."""

    kind: str
    windows_path: str
    path: str
    mtime: datetime
    sha256: str
    malicious: bool


@dataclass(frozen=True, slots=True)
class AttackStep:
    """One ProxyLogon request as logged in HttpProxy\\Ecp (and W3SVC1 via ``cafeReqId``)."""

    name: str
    time: datetime
    request_id: str
    anchor_mailbox: str
    status: int
    user_agent: str


@dataclass(frozen=True, slots=True)
class AttackManifest:
    """The planted ProxyLogon chain and what followed it."""

    attacker_ip: str
    webshell_ip: str
    ssrf_url_stem: str
    canary: str
    backend_user: str
    steps: tuple[AttackStep, ...]
    ecp_commands: tuple[tuple[datetime, str], ...]
    reset_time: datetime
    webshell_url: str
    webshell_key: str
    webshell_requests: tuple[datetime, ...]

    @property
    def markers(self) -> tuple[str, ...]:
        """Strings found only in a compromised server's evidence."""
        return (self.attacker_ip, self.webshell_ip, self.canary, self.ssrf_url_stem,
                "X-BEResource-Cookie", "ServerInfo~", "proxyLogon.ecp", "ResetOABVirtualDirectory",
                "<script", sc.SSRF_UA, "ExchangeServicesClient/0.0.0.0", "antSword",
                sc.WEBSHELL_NAME, "lsass", "it.zip")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ServerManifest:
    """What :func:`write_server` wrote; ``files`` are relative to ``root`` with ``/``."""

    root: Path
    profile: str
    seed: int
    host: str
    fqdn: str
    netbios_domain: str
    email_domain: str
    server_ip: str
    drive: str
    install_path: str
    build: str
    build_history: tuple[tuple[datetime, str], ...]
    first_log: datetime
    last_log: datetime
    files: tuple[str, ...]
    planted: tuple[PlantedFile, ...]
    attack: AttackManifest | None
    near_misses: tuple[str, ...] = NEAR_MISSES


@dataclass(frozen=True, slots=True)
class _Plan:
    """Per-profile facts: builds over time, update downtime, IIS restarts, install date."""

    builds: tuple[tuple[datetime, str], ...]
    downtime: tuple[datetime, datetime] | None
    restarts: dict[int, tuple[IisRestart, ...]]
    installed: datetime

    def build_at(self, when: datetime) -> str:
        return [b for t, b in self.builds if t <= when][-1]

    def seq(self, when: datetime) -> int:
        """Exchange starts a new ``-N`` file when its service restarts within the hour."""
        hour = when.replace(minute=0, second=0, microsecond=0)
        return 1 + sum(1 for t, _ in self.builds[1:] if hour <= t <= when)


def _plan(profile: Profile) -> _Plan:
    if profile == "clean":
        su_start = datetime(2021, 3, 3, 20, 5, tzinfo=UTC)
        su_end = datetime(2021, 3, 3, 20, 41, tzinfo=UTC)
        restart = (IisRestart(su_end),)
        builds = ((LOG_START, "15.1.2176.2"), (su_end, "15.1.2176.9"))
        return _Plan(builds, (su_start, su_end), {1: restart, 2: restart},
                     datetime(2021, 1, 12, 9, 14, tzinfo=UTC))  # fmt: skip
    # Incident responders turned on X-Forwarded-For logging on the front end.
    xff = IisRestart(datetime(2021, 3, 8, 9, 12, 5, tzinfo=UTC), (*IIS_FIELDS, "X-Forwarded-For"))
    installed = datetime(2020, 11, 3, 18, 40, tzinfo=UTC)
    return _Plan(((LOG_START, "15.1.2106.2"),), None, {1: (xff,)}, installed)


def write_server(
    dest: Path,
    profile: Profile,
    seed: int = 1,
    *,
    drive: str = "C",
    install: str = DEFAULT_INSTALL,
    users: int = 30,
    density: float = 1.0,
    host: str | None = None,
) -> ServerManifest:
    """Write one server's evidence folder under ``dest`` (drive folders ``C/``, ...).

    Args:
        dest: evidence root to create.
        profile: ``clean`` or ``compromised``.
        seed: same seed, same bytes.
        drive: system drive letter (IIS logs, inetpub, Windows, ProgramData).
        install: Exchange install path; may be on another drive.
        users: number of mailboxes (20-50 for a small organisation).
        density: scale of user traffic (health probes are not scaled).
        host: server name; chosen from the seed when omitted.

    Returns:
        The manifest of everything written and planted.

    Raises:
        FileExistsError: ``dest`` exists and is not empty (the manifest would not match it).
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"not empty: {dest}")
    rng = random.Random(f"{profile}:{seed}")
    org = sc.make_org(rng, users, host)
    plan = _plan(profile)
    b = EvidenceBuilder(dest, drive, install, org.host, plan.builds[-1][1])
    admin_request, admin_call = sc.admin_vdir_change(org, rng)
    requests, calls = [*_benign(org, rng, density), admin_request], [admin_call]
    chain = sc.proxylogon_chain(org, rng, b.install) if profile == "compromised" else None
    if chain is not None:
        requests += [*chain.steps, *chain.shell]
        calls += chain.ecp
    if plan.downtime:  # probes resume as soon as the services are back after the update
        back = plan.downtime[1]
        requests += sc.iter_probes(org, rng, back, back + timedelta(minutes=1), spacing_min=1.2)
    requests = _drop_downtime(sc.with_ids(rng, [_to_ms(r) for r in requests]), plan.downtime)
    _write_logs(b, org, plan, rng, requests, calls)
    _write_oab_log(b, org, plan, rng)
    _write_stock(b, plan, profile)
    planted = [_plant_benign_archive(b)]
    if chain is not None:
        planted += _plant_compromise(b, org, chain)
    return ServerManifest(
        root=b.root, profile=profile, seed=seed, host=org.host, fqdn=org.fqdn,
        netbios_domain=org.netbios, email_domain=org.email_domain, server_ip=org.server_ip,
        drive=b.drive, install_path=b.install, build=plan.builds[-1][1],
        build_history=plan.builds, first_log=min(r.time for r in requests),
        last_log=max(r.time for r in requests), files=b.files, planted=tuple(planted),
        attack=_attack_manifest(chain) if chain else None,
    )  # fmt: skip


def _benign(org: Org, rng: random.Random, density: float) -> list[Request]:
    out = list(sc.iter_probes(org, rng, LOG_START, LOG_END))
    out += sc.iter_backend_probes(org, rng, LOG_START, LOG_END)
    for day in sc.iter_days(LOG_START, LOG_END):
        for user in org.users:
            out += sc.iter_user_day(org, user, day, rng, density)
        out += sc.iter_admin(org, rng, day)
    return [r for r in out if LOG_START <= r.time < LOG_END]


def _to_ms(request: Request) -> Request:
    """Exchange logs keep milliseconds: the manifest should hold the same times as the logs."""
    when = request.time
    return replace(request, time=when.replace(microsecond=when.microsecond // 1000 * 1000))


def _drop_downtime(
    requests: list[Request], downtime: tuple[datetime, datetime] | None
) -> list[Request]:
    if downtime is None:
        return requests
    return [r for r in requests if not downtime[0] <= r.time < downtime[1]]


def _attack_manifest(chain: sc.Chain) -> AttackManifest:
    steps = tuple(
        AttackStep(name, r.time, r.request_id, r.anchor, r.status, r.user_agent)
        for name, r in zip(sc.CHAIN_STEPS, chain.steps, strict=True)
    )
    return AttackManifest(
        attacker_ip=sc.ATTACKER_IP, webshell_ip=sc.WEBSHELL_IP, ssrf_url_stem=chain.stem,
        canary=chain.canary, backend_user=chain.backend_user, steps=steps,
        ecp_commands=tuple((c.time, c.cmd) for c in chain.ecp), reset_time=chain.reset_time,
        webshell_url=f"/owa/auth/{sc.WEBSHELL_NAME}", webshell_key=chain.key,
        webshell_requests=tuple(r.time for r in chain.shell),
    )  # fmt: skip


# -- requests to log rows -------------------------------------------------------------------


@dataclass
class _Logs:
    """Rows collected per output file before writing."""

    proxy: defaultdict[tuple[str, datetime, int], list[Row]] = field(
        default_factory=lambda: defaultdict(list)
    )
    iis: defaultdict[tuple[int, datetime], list[Row]] = field(
        default_factory=lambda: defaultdict(list)
    )
    ecp: defaultdict[datetime, list[EcpRow]] = field(default_factory=lambda: defaultdict(list))
    rps_http: defaultdict[datetime, list[Row]] = field(default_factory=lambda: defaultdict(list))
    rps_cmdlet: defaultdict[datetime, list[Row]] = field(default_factory=lambda: defaultdict(list))


def _hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def _day(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def _render(
    org: Org, plan: _Plan, rng: random.Random, requests: list[Request], calls: list[EcpCall]
) -> _Logs:
    logs = _Logs()
    for req in sorted(requests, key=lambda r: r.time):
        build = plan.build_at(req.time)
        if req.front:
            key = (req.protocol, _hour(req.time), plan.seq(req.time))
            logs.proxy[key].append(proxy_row(org, req, build))
            logs.iis[(1, _day(req.time))].append(iis_front_row(org, req))
        if req.proxied:
            logs.iis[(2, _day(req.time))].append(iis_back_row(org, req))
        if req.protocol == "Ecp" and req.proxied and req.method == "GET":
            calls.append(EcpCall(req.time, req.stem + (f"?{req.query}" if req.query else ""), ""))
        if req.protocol == "PowerShell" and req.proxied:
            _rps(org, rng, req, build, logs)
    for call in sorted(calls, key=lambda c: c.time):
        logs.ecp[_day(call.time)].append(_ecp_row(org, rng, call, plan.build_at(call.time)))
    return logs


def proxy_row(org: Org, req: Request, build: str) -> Row:
    """The HttpProxy row the front end logs for ``req``."""
    major, minor, bld, rev = parse_build(build)
    info = f"BeginRequest={exchange_time(req.time - timedelta(milliseconds=req.elapsed_ms))};"
    info += "CorrelationID=<empty>;"
    row: dict[str, str | int | datetime] = {
        "DateTime": req.time, "RequestId": req.request_id, "MajorVersion": major,
        "MinorVersion": minor, "BuildVersion": bld, "RevisionVersion": rev,
        "Protocol": req.protocol, "UrlHost": req.url_host, "UrlStem": req.stem,
        "ProtocolAction": req.action, "AuthenticationType": req.auth,
        "IsAuthenticated": "true" if req.user else "false", "AuthenticatedUser": req.user,
        "AnchorMailbox": req.anchor, "UserAgent": req.user_agent,
        "ClientIpAddress": req.client_ip, "ServerHostName": org.host, "HttpStatus": req.status,
        "Method": req.method, "RequestBytes": req.request_bytes,
        "ActivityContextLifeTime": req.elapsed_ms, "CoreLatency": 0,
        "HttpProxyOverhead": min(req.elapsed_ms, 3), "TotalRequestTime": req.elapsed_ms,
        "UrlQuery": f"?{req.query}" if req.query else "",
    }  # fmt: skip
    if req.proxied:
        backend = max(req.elapsed_ms - 3, 0)
        row.update({
            "BackEndStatus": req.status, "ProxyAction": "Proxy",
            "TargetServer": req.target or org.fqdn,
            "TargetServerVersion": f"{major:02d}.{minor:02d}.{bld:04d}.000",
            "RoutingType": "IntraForest", "RoutingHint": req.routing_hint,
            "ResponseBytes": req.response_bytes, "HttpPipelineLatency": 0,
            "CalculateTargetBackEndLatency": 0, "BackendProcessingLatency": backend,
            "ProxyTime": backend, "RequestHandlerLatency": req.elapsed_ms, "RoutingLatency": 1,
            "RoutingStatus": "CafeV1",
        })  # fmt: skip
        info += "ProxyState-Run=None;FEAuth=BEVersion-1942062522;"
        info += "ProxyState-Complete=ProxyResponseData;"
    row["GenericInfo"] = info + f"SharedCacheGuard=0;EndRequest={exchange_time(req.time)};"
    return row


def _cafe_tail(req: Request) -> str:
    """What Exchange appends to cs-uri-query (OWA adds ``&encoding=;``)."""
    tail = f"&CorrelationID=<empty>;&cafeReqId={req.request_id};"
    return tail + "&encoding=;" if req.stem.lower().startswith("/owa") else tail


def iis_front_row(org: Org, req: Request) -> Row:
    """The front end's IIS (W3SVC1, port 443) row for ``req``."""
    sub, win32 = req.substatus
    local = req.client_ip in ("127.0.0.1", "::1")
    return {
        "time": req.time, "s-ip": req.client_ip if local else org.server_ip,
        "cs-method": req.method, "cs-uri-stem": req.stem,
        "cs-uri-query": req.query + _cafe_tail(req), "s-port": 443,
        "cs-username": req.iis_user, "c-ip": req.client_ip, "cs(User-Agent)": req.user_agent,
        "cs(Referer)": req.referer, "sc-status": req.status, "sc-substatus": sub,
        "sc-win32-status": win32, "time-taken": req.elapsed_ms,
    }  # fmt: skip


def iis_back_row(org: Org, req: Request) -> Row:
    """The back end's IIS (W3SVC2, port 444) row for a proxied ``req``."""
    query = (
        req.backend_query or req.query
    ) + f"&CorrelationID=<empty>;&cafeReqId={req.request_id};"
    return {
        "time": req.time - timedelta(milliseconds=2), "s-ip": org.server_ip,
        "cs-method": req.method, "cs-uri-stem": req.backend_stem or req.stem,
        "cs-uri-query": query, "s-port": 444, "cs-username": req.backend_user or req.user,
        "c-ip": org.server_ip, "cs(User-Agent)": req.user_agent, "sc-status": req.status,
        "sc-substatus": 0, "sc-win32-status": 0, "time-taken": max(req.elapsed_ms - 3, 0),
    }  # fmt: skip


def _ecp_row(org: Org, rng: random.Random, call: EcpCall, build: str) -> EcpRow:
    pairs = [
        ("S:TIME", str(rng.randrange(8, 300))), ("S:SID", sc.guid(rng)), ("S:CMD", call.cmd),
        ("S:REQID", ""), ("S:URL", call.url), ("S:REFERRER", ""), ("S:EX", ""),
        ("S:ACTID", sc.guid(rng)), ("S:RS", "0"), ("S:BLD", build), ("S:TNAME", "<null>"),
        ("S:TID", ""), ("S:USID", sc.guid(rng)), ("S:EDOID", ""), ("S:ACID", ""),
    ]  # fmt: skip
    return {"TimeStamp": call.time, "ServerName": org.host, "EventData": pairs}


def _rps(org: Org, rng: random.Random, req: Request, build: str, logs: _Logs) -> None:
    """Remote PowerShell back-end rows: Rps_Http for every request, Rps_Cmdlet for commands."""
    major, minor, bld, rev = parse_build(build)
    versions: dict[str, str | int] = {"MajorVersion": major, "MinorVersion": minor,
                                      "BuildVersion": bld, "RevisionVersion": rev,
                                      "ServerHostName": org.host}  # fmt: skip
    began = req.time - timedelta(milliseconds=req.elapsed_ms)
    command = req.action.removesuffix(":Command") if req.action.endswith(":Command") else ""
    probe = req.user == org.health_user
    logs.rps_http[_hour(req.time)].append({
        "DateTime": req.time, "StartTime": began, "RequestId": req.request_id, **versions,
        "UrlHost": org.fqdn, "UrlStem": "/PowerShell/", "AuthenticationType": "Kerberos",
        "IsAuthenticated": "true", "AuthenticatedUser": req.user,
        "ClientIpAddress": req.client_ip, "FrontEndServer": org.fqdn if req.front else "",
        "HttpStatus": 200, "SubStatus": 0, "Action": "Command" if command else "Receive",
        "CommandName": command,
        "RequestBytes": rng.randrange(900, 6000), "ClientInfo": req.user_agent,
        "ActivityContextLifeTime": req.elapsed_ms, "TotalTime": req.elapsed_ms,
        "UrlQuery": f"?{req.query}",
    })  # fmt: skip
    if command or probe:
        logs.rps_cmdlet[_hour(req.time)].append({
            "DateTime": req.time, "StartTime": began, "RequestId": sc.guid(rng), **versions,
            "ProcessId": 15756, "ProcessName": "w3wp#MSExchangePowerShellAppPool",
            "ThreadId": rng.randrange(20, 120), "AuthenticatedUser": req.user.split("\\")[-1],
            "IsAdmin": str(not probe), "Cmdlet": command or "Get-Mailbox",
            "ClientApplication": "ActiveMonitor" if probe else "ExchangeShell",
            "Parameters": '-ResultSize "1"' if probe else "", "ExecutionResult": "Success",
            "TotalTime": req.elapsed_ms,
        })  # fmt: skip


# -- writing ----------------------------------------------------------------------------------


def _write_logs(
    b: EvidenceBuilder,
    org: Org,
    plan: _Plan,
    rng: random.Random,
    requests: list[Request],
    calls: list[EcpCall],
) -> None:
    logs = _render(org, plan, rng, requests, calls)
    for (protocol, hour, seq), rows in sorted(logs.proxy.items()):
        build = plan.build_at(_time(rows[0]["DateTime"]))
        b.httpproxy(protocol, hour, rows, build=build, seq=seq)
    for (site, day), rows in sorted(logs.iis.items()):
        rows.sort(key=lambda r: _time(r["time"]))
        cuts = tuple(c for c in plan.restarts.get(site, ()) if _day(c.at) == day)
        b.iis(site, day.date(), rows, restarts=cuts)
    for day, ecp_rows in sorted(logs.ecp.items()):
        b.ecp_server(day.date(), ecp_rows)
    for hour, rows in sorted(logs.rps_http.items()):
        b.rps_http(hour, rows, build=plan.build_at(_time(rows[0]["DateTime"])))
    for hour, rows in sorted(logs.rps_cmdlet.items()):
        b.rps_cmdlet(hour, rows, build=plan.build_at(_time(rows[0]["DateTime"])))


def _time(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value


def _write_oab_log(b: EvidenceBuilder, org: Org, plan: _Plan, rng: random.Random) -> None:
    """Daily OAB generation, and once a failed download under ClientAccess\\OAB\\Temp."""
    days = list(sc.iter_days(LOG_START, LOG_END))
    failed_day = rng.choice(days[2:-2])
    oab = "OABGeneratorAssistant: generation of OAB 'Default Offline Address Book'"
    for day in days:
        t = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=rng.uniform(1, 3))
        lines = [
            (t, f"{oab} started."),
            (t + timedelta(seconds=rng.uniform(20, 90)), f"{oab} completed."),
        ]
        if day == failed_day:
            temp = b.exchange("ClientAccess", "OAB", "Temp", org.oab_guid, "data-1.lzx")
            message = f"Download failed and temporary file '{temp}' needs to be removed."
            lines.append((t + timedelta(minutes=5), message))
        b.oab_generator(day, lines, build=plan.build_at(lines[0][0]))


def stock_content(name: str) -> str:
    """Short benign content for a stock web file, by extension."""
    if name.endswith(".asax"):
        return '<%@ Application Inherits="Microsoft.Exchange.HttpProxy.Global" %>\r\n'
    if name.endswith(".aspx"):
        return (
            '<%@ Page language="c#" AutoEventWireup="false" '
            'Inherits="Microsoft.Exchange.HttpProxy.Logon" %>\r\n<html><body></body></html>\r\n'
        )
    if name.endswith((".htm", ".html")):
        return "<!DOCTYPE html>\r\n<html><head><title></title></head><body></body></html>\r\n"
    if name.endswith(".css"):
        return "body{font-family:'Segoe UI',Tahoma,sans-serif;margin:0}\r\n"
    if name.endswith(".js"):
        return "function init(){var f=document.forms[0];if(f){f.username.focus();}}\r\n"
    if name.endswith(".config"):
        return '<?xml version="1.0" encoding="utf-8"?>\r\n<configuration />\r\n'
    return "GIF89a\x01\x00\x01\x00"


def _write_stock(b: EvidenceBuilder, plan: _Plan, profile: Profile) -> None:
    version = ".".join(str(p) for p in parse_build(plan.builds[0][1])[:3])
    for name in STOCK_WEB:
        rel = name.format(v=version)
        b.file(b.exchange(rel), stock_content(rel), plan.installed)
    iis_setup = plan.installed - timedelta(days=40)
    for name in ("iisstart.htm", "iisstart.png"):
        b.file(f"%SystemDrive%\\inetpub\\wwwroot\\{name}", stock_content(name), iis_setup)
    b.directory("%SystemDrive%\\inetpub\\wwwroot\\aspnet_client\\system_web\\4_0_30319", iis_setup)
    config_time = plan.builds[-1][0] if profile == "clean" else plan.installed
    b.app_host_config(mtime=config_time)
    b.web_config(mtime=plan.installed)


def _plant(
    b: EvidenceBuilder, kind: str, path: str, data: bytes, mtime: datetime, malicious: bool
) -> PlantedFile:
    written = b.file(path, data, mtime)
    digest = hashlib.sha256(data).hexdigest()
    return PlantedFile(kind, b.windows_path(path), b.relative(written), mtime, digest, malicious)


def _plant_benign_archive(b: EvidenceBuilder) -> PlantedFile:
    when = datetime(2020, 12, 2, 5, 20, 39, tzinfo=UTC)
    return _plant(b, "benign-archive", MCAFEE_ZIP, _zip("engmin.dat", b"VSCANENG"), when, False)


def _plant_compromise(b: EvidenceBuilder, org: Org, chain: sc.Chain) -> list[PlantedFile]:
    """The web shell (written by the reset), then an LSASS dump and an archive via the shell."""
    session = {d: [r.time for r in chain.shell if r.time.day == d] for d, _ in sc.SHELL_SESSIONS}
    shell = b.exchange("FrontEnd", "HttpProxy", "owa", "auth", sc.WEBSHELL_NAME)
    dump = b"MDMP\x93\xa7\x00\x00" + bytes(24)
    return [
        _plant(b, "webshell", shell, _oab_dump(org, b.install, chain),
               chain.reset_time - timedelta(milliseconds=700), True),
        _plant(b, "lsass-dump", "%windir%\\Temp\\lsass.dmp", dump,
               session[4][1] + timedelta(seconds=21), True),
        _plant(b, "archive", "%ProgramData%\\it.zip", _zip("lsass.dmp", dump),
               session[5][-1] + timedelta(seconds=35), True),
    ]  # fmt: skip


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name, (2021, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _oab_dump(org: Org, install: str, chain: sc.Chain) -> bytes:
    """The OAB virtual directory's settings as the reset saved them, script included."""
    t = chain.reset_time
    hour12, noon = (t.hour - 1) % 12 + 1, "AM" if t.hour < 12 else "PM"
    dn = (
        f"CN=OAB (Default Web Site),CN=HTTP,CN=Protocols,CN={org.host},CN=Servers,"
        "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,"
        f"CN={org.netbios},CN=Microsoft Exchange,CN=Services,CN=Configuration,"
        + ",".join(f"DC={p}" for p in org.ad_domain.split("."))
    )
    fields = [
        ("Name", "OAB (Default Web Site)"), ("PollInterval", "480"), ("OfflineAddressBooks", ""),
        ("RequireSSL", "True"), ("BasicAuthentication", "False"),
        ("WindowsAuthentication", "True"), ("OAuthAuthentication", "True"),
        ("MetabasePath", f"IIS://{org.fqdn}/W3SVC/1/ROOT/OAB"),
        ("Path", f"{install}\\FrontEnd\\HttpProxy\\OAB"),
        ("ExtendedProtectionTokenChecking", "None"),
        ("AdminDisplayVersion", "Version 15.1 (Build 2106.2)"), ("Server", org.host),
        ("InternalUrl", f"https://{org.fqdn}/OAB"),
        ("InternalAuthenticationMethods", "{WindowsIntegrated}"),
        ("ExternalUrl", sc.webshell_script(chain.key)),
        ("ExternalAuthenticationMethods", "{WindowsIntegrated}"), ("DistinguishedName", dn),
        ("Identity", f"{org.host}\\OAB (Default Web Site)"), ("Guid", org.oab_vdir_guid),
        ("WhenChanged", f"{t.month}/{t.day}/{t.year} {hour12}:{t:%M:%S} {noon}"),
        ("IsValid", "True"), ("ObjectState", "Unchanged"),
    ]  # fmt: skip
    text = "\r\n".join(f"{key:<32}: {value}" for key, value in fields)
    return ("\r\n" + text + "\r\n\r\n").encode("utf-8")
