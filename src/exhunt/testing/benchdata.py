"""Large, realistic Exchange web logs for benchmarks: HttpProxy (hourly, every protocol folder)
and IIS W3SVC1/W3SVC2 (daily), mostly benign, with a handful of attack lines spread in.

Benign lines come from the same organisation model as the example servers: one day of its
traffic is rendered once into line templates (only the time and the request id vary), then
sampled at realistic ratios over a working-day curve. Attack lines are rendered in full and
recorded in the :class:`BenchManifest` with file and line number, so a benchmark can check that
a scanner found them all. Writing runs well above 50 MB/s.

Usage::

    python -m exhunt.testing.benchdata DEST --size-mb 1024
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from exhunt.testing import scenarios as sc
from exhunt.testing.builder import (
    HTTPPROXY_FIELDS,
    HTTPPROXY_PROTOCOLS,
    IIS_FIELDS,
    Row,
    csv_cell,
    exchange_time,
    log_version,
    w3c_cell,
)
from exhunt.testing.generator import iis_back_row, iis_front_row, proxy_row
from exhunt.testing.scenarios import Org, Request

BUILD = "15.1.2106.2"
START = datetime(2021, 3, 1, tzinfo=UTC)
PROXYSHELL_IP = "45.77.212.9"
PROXYSHELL_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/92.0.4515.131 Safari/537.36"
)
# Share of the day's traffic per UTC hour: a European working day with a quiet night.
_HOURLY = (1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 10, 9, 10, 11, 11, 10, 8, 6, 4, 3, 2, 2, 1, 1)
_T0 = datetime(2000, 1, 1, 12, tzinfo=UTC)  # sentinel time inside templates
_RID = "00000000-0000-4000-8000-00000000d1d0"  # sentinel request id inside templates
_MMSS = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]
_MS = [f"{i:03d}" for i in range(1000)]


@dataclass(frozen=True, slots=True)
class BenchAttack:
    """One planted attack line: what it is and where it was written (1-based line)."""

    kind: str
    path: str
    line: int
    time: datetime


@dataclass(frozen=True, slots=True)
class BenchManifest:
    """What :func:`write_bench_logs` wrote."""

    root: Path
    size_bytes: int
    files: int
    requests: int
    first: datetime
    last: datetime
    attacks: tuple[BenchAttack, ...]


@dataclass(frozen=True, slots=True)
class _Template:
    """A request pre-rendered into its three lines, with ``%s`` for time and request id."""

    protocol: str
    proxy: str  # % (time, request id, begin time, time)
    front: str  # % (date and time, request id)
    back: str | None  # % (date and time, request id)
    elapsed_ms: int
    size: int


@dataclass
class _Hour:
    """Lines of one hour, per output file, and the attacks placed in them."""

    proxy: dict[str, list[str]] = field(default_factory=dict)
    front: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    attacks: list[tuple[str, str, int, datetime]] = field(default_factory=list)


def write_bench_logs(dest: Path, size_mb: int, seed: int = 7) -> BenchManifest:
    """Write about ``size_mb`` MiB of HttpProxy and IIS logs under ``dest`` (drive ``C/``).

    Args:
        dest: evidence root to create.
        size_mb: approximate total size in MiB.
        seed: same seed, same bytes.

    Returns:
        Where the attack lines are, and totals.
    """
    rng = random.Random(f"bench:{seed}")
    org = sc.make_org(rng, users=120)
    probes, templates = _templates(org, rng)
    days = max(1, min(30, round(size_mb / 50)))
    mean = sum(t.size for t in templates) / len(templates)
    headers = days * 24 * len(HTTPPROXY_PROTOCOLS) * 2 * (len(",".join(HTTPPROXY_FIELDS)) + 40)
    total = max(len(HTTPPROXY_PROTOCOLS) * 24 * days, int((size_mb * 2**20 - headers) / mean))
    writer = _Writer(Path(dest), org, rng.getrandbits(128))
    attacks = _attacks(org, rng, START, START + timedelta(days=days))
    count = 0
    for day in range(days):
        for hour in range(24):
            start = START + timedelta(days=day, hours=hour)
            n = total * _HOURLY[hour] // (sum(_HOURLY) * days)
            due = [a for a in attacks if start <= a.time < start + timedelta(hours=1)]
            events = _fill(rng, templates, n, probes)
            writer.hour(start, events, due)
            count += len(events) + len(due)
    writer.close()
    return BenchManifest(
        root=Path(dest), size_bytes=writer.size, files=writer.files, requests=count,
        first=START, last=START + timedelta(days=days), attacks=tuple(writer.attacks),
    )  # fmt: skip


# -- templates --------------------------------------------------------------------------------


def _templates(org: Org, rng: random.Random) -> tuple[dict[str, list[_Template]], list[_Template]]:
    """A weekday of the organisation's traffic as line templates: probes per protocol, users."""
    day = datetime(2021, 3, 2, tzinfo=UTC)
    probes: dict[str, list[_Template]] = {}
    for probe in sc.iter_probes(org, rng, day, day + timedelta(days=1)):
        probes.setdefault(probe.protocol, []).append(_template(org, probe))
    requests: list[Request] = []
    for user in org.users:
        requests += sc.iter_user_day(org, user, day.date(), rng, 1.0)
    requests += sc.iter_admin(org, random.Random(1), day.date())
    return probes, [_template(org, r) for r in requests]


def _template(org: Org, req: Request) -> _Template:
    req = replace(req, time=_T0, request_id=_RID)
    begin = exchange_time(_T0 - timedelta(milliseconds=req.elapsed_ms))
    raw = [_csv_line(proxy_row(org, req, BUILD)), _w3c_line(iis_front_row(org, req))]
    if req.proxied:
        raw.append(_w3c_line(iis_back_row(org, req)))
    proxy = _slots(raw[0], (exchange_time(_T0), _RID, begin), 4)
    front = _slots(raw[1], (" ".join(_w3c(_T0)), _RID), 2)
    # The back end logs 2 ms earlier, in the previous second of the sentinel.
    back_time = " ".join(_w3c(_T0 - timedelta(milliseconds=2)))
    back = _slots(raw[2], (back_time, _RID), 2) if req.proxied else None
    size = sum(len(line) + 2 for line in raw)  # sentinels are as long as real values
    return _Template(req.protocol, proxy, front, back, req.elapsed_ms, size)


def _csv_line(row: Row) -> str:
    return ",".join(csv_cell(name, row.get(name)) for name in HTTPPROXY_FIELDS)


def _w3c_line(row: Row) -> str:
    when = row["time"]
    assert isinstance(when, datetime)
    date, time = _w3c(when)
    cells = {**row, "date": date, "time": time}
    return " ".join(w3c_cell(cells.get(name)) for name in IIS_FIELDS)


def _w3c(when: datetime) -> tuple[str, str]:
    return when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S")


def _slots(line: str, sentinels: Sequence[str], expected: int) -> str:
    """Escape ``%`` and turn each sentinel into ``%s`` (they appear in a known order)."""
    line = line.replace("%", "%%")
    for sentinel in sentinels:
        line = line.replace(sentinel, "%s")
    if line.count("%s") != expected:
        raise ValueError(f"template has {line.count('%s')} slots, expected {expected}: {line}")
    return line


def _fill(
    rng: random.Random, templates: list[_Template], count: int, probes: dict[str, list[_Template]]
) -> list[tuple[int, _Template]]:
    """An hour: ``count`` sampled user requests and one probe per protocol (no folder gaps)."""
    chosen = rng.choices(templates, k=count) + [rng.choice(p) for p in probes.values()]
    offsets = rng.choices(range(3_600_000), k=len(chosen))
    return sorted(zip(offsets, chosen, strict=True), key=lambda event: event[0])


# -- attacks ----------------------------------------------------------------------------------


def _attacks(org: Org, rng: random.Random, start: datetime, end: datetime) -> list[Request]:
    """ProxyLogon SSRF chains, web-shell requests and ProxyShell probes, spread over the span."""
    span = (end - start).total_seconds()
    chain = sc.proxylogon_chain(org, rng, r"C:\Program Files\Microsoft\Exchange Server\V15")
    shift = start + timedelta(seconds=span * 0.3) - chain.steps[0].time
    out = [replace(r, time=r.time + shift) for r in chain.steps]
    for i, shell in enumerate(chain.shell[:8]):
        when = start + timedelta(seconds=span * (0.35 + 0.07 * i), milliseconds=rng.randrange(999))
        out.append(replace(shell, time=when))
    for i, backend in enumerate(("/mapi/nspi/", "/powershell", "/EWS/Exchange.asmx")):
        when = start + timedelta(seconds=span * (0.2 + 0.25 * i), milliseconds=rng.randrange(999))
        out.append(_proxyshell(org, when, backend))
    return sorted(sc.with_ids(rng, out), key=lambda r: r.time)


def _proxyshell(org: Org, when: datetime, backend: str) -> Request:
    email = "Email=autodiscover/autodiscover.json%3F@evil.corp"
    rps = "X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&" if backend == "/powershell" else ""
    return Request(
        time=when, protocol="Autodiscover", method="POST", stem="/autodiscover/autodiscover.json",
        query=f"@evil.corp{backend}?{rps}&{email}", client_ip=PROXYSHELL_IP,
        user_agent=PROXYSHELL_UA, url_host=org.mail_host, backend_stem=backend,
        backend_query=f"{rps}{email}", backend_user="NT AUTHORITY\\SYSTEM", elapsed_ms=97,
    )  # fmt: skip


def _kind(req: Request) -> str:
    if req.stem.startswith("/autodiscover/autodiscover.json"):
        return "proxyshell"
    return "proxylogon-ssrf" if req.anchor.startswith("ServerInfo~") else "webshell"


# -- writing ----------------------------------------------------------------------------------


class _Writer:
    """Writes hourly HttpProxy files and keeps the two daily IIS files open."""

    def __init__(self, root: Path, org: Org, salt: int) -> None:
        self.root, self.org, self.salt = root, org, salt
        self.size = self.files = self.count = 0
        self.attacks: list[BenchAttack] = []
        self._iis: dict[int, tuple[IO[bytes], str, int]] = {}
        self._day = ""
        self._proxy_header = ",".join(HTTPPROXY_FIELDS)
        self._install = self.root / "C" / "Program Files" / "Microsoft" / "Exchange Server" / "V15"

    def hour(
        self, start: datetime, events: list[tuple[int, _Template]], due: list[Request]
    ) -> None:
        """Write one hour: its HttpProxy files, and its lines of the day's IIS files."""
        org = self.org
        day_text, hh = start.strftime("%Y-%m-%d"), f"{start.hour:02d}:"
        iso, w3c = f"{day_text}T{hh}", f"{day_text} {hh}"
        lines = _Hour()
        pending = [(int((r.time - start).total_seconds() * 1000), r) for r in due]
        for offset, tpl in events:
            while pending and pending[0][0] <= offset:
                self._attack(lines, pending.pop(0)[1], org)
            sec, ms = divmod(offset, 1000)
            bsec, bms = divmod(max(offset - tpl.elapsed_ms, 0), 1000)
            when = iso + _MMSS[sec] + "." + _MS[ms] + "Z"
            self.count += 1
            rid = _rid(self.count, self.salt)
            lines.proxy.setdefault(tpl.protocol, []).append(
                tpl.proxy % (when, rid, iso + _MMSS[bsec] + "." + _MS[bms] + "Z", when)
            )
            stamp = w3c + _MMSS[sec]
            lines.front.append(tpl.front % (stamp, rid))
            if tpl.back is not None:
                lines.back.append(tpl.back % (stamp, rid))
        for _, req in pending:
            self._attack(lines, req, org)
        self._flush(start, lines)

    def _attack(self, lines: _Hour, req: Request, org: Org) -> None:
        proxy = _csv_line(proxy_row(org, req, BUILD))
        lines.proxy.setdefault(req.protocol, []).append(proxy)
        kind = _kind(req)
        lines.attacks.append(
            (kind, f"proxy:{req.protocol}", len(lines.proxy[req.protocol]), req.time)
        )
        lines.front.append(_w3c_line(iis_front_row(org, req)))
        lines.attacks.append((kind, "iis:1", len(lines.front), req.time))
        if req.proxied:
            lines.back.append(_w3c_line(iis_back_row(org, req)))
            lines.attacks.append((kind, "iis:2", len(lines.back), req.time))

    def _flush(self, start: datetime, lines: _Hour) -> None:
        for protocol in HTTPPROXY_PROTOCOLS:
            rows = lines.proxy.get(protocol, [])
            first = rows[0][:24] if rows else exchange_time(start)
            preamble = [self._proxy_header, "#Software: Microsoft Exchange Server",
                        f"#Version: {log_version(BUILD)}", "#Log-type: HttpProxy Logs",
                        f"#Date: {first}", f"#Fields: {self._proxy_header}"]  # fmt: skip
            path = self._install / "Logging" / "HttpProxy" / protocol
            path /= f"HttpProxy_{start:%Y%m%d%H}-1.LOG"
            self._write_file(path, preamble + rows)
        day = start.strftime("%y%m%d")
        if day != self._day:
            self._open_iis(day, start)
        for site, body in ((1, lines.front), (2, lines.back)):
            handle, rel, count = self._iis[site]
            data = ("\r\n".join(body) + "\r\n").encode("utf-8", "surrogateescape") if body else b""
            handle.write(data)
            self.size += len(data)
            self._iis[site] = (handle, rel, count + len(body))
        self._record(start, lines)

    def _record(self, start: datetime, lines: _Hour) -> None:
        for kind, where, index, when in lines.attacks:
            if where.startswith("proxy:"):
                protocol = where.split(":", 1)[1]
                path = self._install / "Logging" / "HttpProxy" / protocol
                rel = self._rel(path / f"HttpProxy_{start:%Y%m%d%H}-1.LOG")
                self.attacks.append(BenchAttack(kind, rel, 6 + index, when))
            else:
                _, rel, count = self._iis[int(where[-1])]
                body = lines.front if where.endswith("1") else lines.back
                self.attacks.append(BenchAttack(kind, rel, count - len(body) + index, when))

    def _open_iis(self, day: str, start: datetime) -> None:
        self.close()
        self._day = day
        for site in (1, 2):
            path = self.root / "C" / "inetpub" / "logs" / "LogFiles" / f"W3SVC{site}"
            path.mkdir(parents=True, exist_ok=True)
            handle = (path / f"u_ex{day}.log").open("wb")
            fields = "#Fields: " + " ".join(IIS_FIELDS)
            preamble = ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
                        f"#Date: {start:%Y-%m-%d %H:%M:%S}", fields]  # fmt: skip
            data = ("\r\n".join(preamble) + "\r\n").encode()
            handle.write(data)
            self.size += len(data)
            self.files += 1
            self._iis[site] = (handle, self._rel(path / f"u_ex{day}.log"), len(preamble))

    def _write_file(self, path: Path, lines: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")
        path.write_bytes(data)
        self.size += len(data)
        self.files += 1

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def close(self) -> None:
        for handle, _, _ in self._iis.values():
            handle.close()
        self._iis = {}


_ODD = 0x9E3779B97F4A7C15F39CC0605CEDC835  # multiplying by an odd number is a bijection mod 2**128


def _rid(counter: int, salt: int) -> str:
    """A request id, unique per line: a seeded permutation of a counter, GUID-shaped."""
    text = f"{(counter * _ODD + salt) & (2**128 - 1):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m exhunt.testing.benchdata DEST --size-mb N [--seed S]``."""
    parser = argparse.ArgumentParser(prog="python -m exhunt.testing.benchdata")
    parser.add_argument("dest", type=Path, help="folder to create (evidence root)")
    parser.add_argument("--size-mb", type=int, default=100, help="approximate size in MiB")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    manifest = write_bench_logs(args.dest, args.size_mb, args.seed)
    sys.stderr.write(
        f"{manifest.root}: {manifest.size_bytes / 2**20:.0f} MiB in {manifest.files} files, "
        f"{manifest.requests} requests, {len(manifest.attacks)} attack lines\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
