"""Small Exchange servers for the fleet benchmark: many organisations, one shared campaign.

Each server is six hours of one organisation's Exchange 2016 logs on 2021-03-03 (HttpProxy for
OWA and ECP, the IIS front and back end, the ECP server log), the stock web folders and the IIS
configuration: the shape of a real triage collection, cut down so that tens of thousands fit on
one disk. Profiles:

* ``clean``: the March 2021 security update (15.1.2176.9) installed; no attack.
* ``vulnerable``: CU18 unpatched (15.1.2106.2); no attack.
* ``compromised``: CU18 unpatched and attacked by the same campaign as every other compromised
  server: the ProxyLogon chain from one address, then the same web shell (same name, same
  bytes) checked from that address. A fleet pivot should find the address, the shell's hash and
  name, and the user agents at every compromised organisation.

Rows come from :mod:`exhunt.testing.generator`'s renderers and :mod:`exhunt.testing.scenarios`,
so the logs are the same formats the tests use.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from exhunt.testing import scenarios as sc
from exhunt.testing.builder import EcpRow, EvidenceBuilder, Row
from exhunt.testing.generator import (
    STOCK_WEB,
    iis_back_row,
    iis_front_row,
    proxy_row,
    stock_content,
)

Profile = Literal["clean", "vulnerable", "compromised"]
START = datetime(2021, 3, 3, 4, 0, tzinfo=UTC)
END = START + timedelta(hours=6)
PATCHED = "15.1.2176.9"
UNPATCHED = "15.1.2106.2"
PROTOCOLS = {"Owa", "Ecp"}
"""Health-probe protocols kept: each adds a folder of hourly HttpProxy files."""
CAMPAIGN_KEY = "k8rz2ux7"
"""The web shell's parameter: one campaign, one shell, one hash on every victim."""
INSTALLED = datetime(2020, 11, 3, 18, 40, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SmallServer:
    root: Path
    organisation: str
    host: str
    profile: Profile


def profile_for(index: int, vulnerable_every: int = 8, compromised_every: int = 40) -> Profile:
    """Mostly clean, every eighth vulnerable, every fortieth compromised (deterministic)."""
    if index % compromised_every == compromised_every - 1:
        return "compromised"
    if index % vulnerable_every == vulnerable_every - 1:
        return "vulnerable"
    return "clean"


def write_small_server(dest: Path, profile: Profile, seed: int) -> SmallServer:
    """Write one small server's evidence folder under ``dest``."""
    rng = random.Random(f"fleet:{profile}:{seed}")
    org = sc.make_org(rng, users=3, host=f"EX{seed:05d}")
    build = PATCHED if profile == "clean" else UNPATCHED
    builder = EvidenceBuilder(dest, host=org.host, build=build)
    requests = [r for r in sc.iter_probes(org, rng, START, END) if r.protocol in PROTOCOLS]
    requests += _user_sessions(org, rng)
    calls: list[sc.EcpCall] = []
    if profile == "compromised":
        chain = sc.proxylogon_chain(org, rng, builder.install)
        requests += [*chain.steps, chain.shell[0]]
        calls += chain.ecp
        _plant_shell(builder, chain.reset_time - timedelta(milliseconds=700))
    requests = sc.with_ids(rng, [_ms(r) for r in requests if START <= r.time < END])
    _write_logs(builder, org, rng, requests, calls, build)
    _write_stock(builder, build)
    return SmallServer(builder.root, f"org{seed:05d}.{org.email_domain}", org.host, profile)


def _user_sessions(org: sc.Org, rng: random.Random) -> list[sc.Request]:
    day = START.date()
    out = [r for user in org.users for r in sc.iter_user_day(org, user, day, rng, 0.05)]
    return [r for r in out if r.protocol in PROTOCOLS]


def _ms(request: sc.Request) -> sc.Request:
    when = request.time
    return replace(request, time=when.replace(microsecond=when.microsecond // 1000 * 1000))


def _plant_shell(builder: EvidenceBuilder, written: datetime) -> None:
    """The campaign's shell: the same bytes on every victim, written by the vdir reset."""
    shell = builder.exchange("FrontEnd", "HttpProxy", "owa", "auth", sc.WEBSHELL_NAME)
    content = f'<%@ Page Language="Jscript"%>\r\n{sc.webshell_script(CAMPAIGN_KEY)}\r\n'
    builder.file(shell, content, written)


def _write_logs(
    builder: EvidenceBuilder,
    org: sc.Org,
    rng: random.Random,
    requests: list[sc.Request],
    calls: list[sc.EcpCall],
    build: str,
) -> None:
    proxy: defaultdict[tuple[str, datetime], list[Row]] = defaultdict(list)
    front: list[Row] = []
    back: list[Row] = []
    for req in sorted(requests, key=lambda r: r.time):
        if req.front:
            proxy[(req.protocol, req.time.replace(minute=0, second=0, microsecond=0))].append(
                proxy_row(org, req, build)
            )
            front.append(iis_front_row(org, req))
        if req.proxied:
            back.append(iis_back_row(org, req))
    for (protocol, hour), rows in sorted(proxy.items()):
        builder.httpproxy(protocol, hour, rows, build=build)
    builder.iis(1, START.date(), front)
    builder.iis(2, START.date(), sorted(back, key=lambda r: r["time"]))  # type: ignore[arg-type,return-value]
    if calls:
        builder.ecp_server(START.date(), list(_ecp_rows(org, rng, calls, build)))


def _ecp_rows(
    org: sc.Org, rng: random.Random, calls: list[sc.EcpCall], build: str
) -> Iterator[EcpRow]:
    for call in sorted(calls, key=lambda c: c.time):
        pairs = [("S:TIME", str(rng.randrange(8, 300))), ("S:CMD", call.cmd), ("S:URL", call.url),
                 ("S:BLD", build)]  # fmt: skip
        yield {"TimeStamp": call.time, "ServerName": org.host, "EventData": pairs}


def _write_stock(builder: EvidenceBuilder, build: str) -> None:
    version = ".".join(build.split(".")[:3])
    for name in STOCK_WEB:
        rel = name.format(v=version)
        builder.file(builder.exchange(rel), stock_content(rel), INSTALLED)
    builder.app_host_config(mtime=INSTALLED)
    builder.web_config(mtime=INSTALLED)
