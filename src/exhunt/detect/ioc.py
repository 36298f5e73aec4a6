"""Indicator packs (CSV: type, value, source, reference[, confidence, note, valid_from,
valid_until]) as record rules.

STIX 2.1 bundles and MISP exports load as packs too (:mod:`exhunt.detect.feeds`).

Web logs are matched on the client address, user agent and URL; files on their hashes, names
and paths. Indicator values are data, so a detection engineer adds a pack without Python:
drop a CSV into ``rules/iocs`` or pass ``--iocs FILE``.

Addresses, user agents and URLs stand for a period: an attacker's VPS address goes to someone
else once the campaign moves on. A web log match outside an indicator's ``valid_from`` /
``valid_until`` is still shown, as informational, and does not make a verdict.
"""

from __future__ import annotations

import csv
import ipaddress
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import describe, make_hit, request_view
from exhunt.detect.rules import RecordRule
from exhunt.exceptions import RuleError
from exhunt.model import Category, Hit, Record, RuleInfo, Severity
from exhunt.timeutil import format_time, parse_time

log = logging.getLogger(__name__)

WEB_LOGS = frozenset({"iis.w3c", "exchange.httpproxy", "exchange.rps_http"})
FILES = frozenset({"fs.file"})
TYPES = frozenset(
    {"ipv4", "ipv6", "user-agent", "sha256", "sha1", "md5", "filename", "path", "url-fragment"}
)
_HEX = {"sha256": 64, "sha1": 40, "md5": 32}
_UNSAFE = re.compile(r"[\s+,;()\"'?=&%<>]+|[^\x20-\x7e]+")
_SCRIPT_EXT = (".aspx", ".ashx", ".asmx", ".asp", ".asax", ".cshtml", ".config", ".svc")
_FEEDS = (".csv", ".json")


@dataclass(frozen=True, slots=True)
class Indicator:
    type: str
    value: str
    source: str
    reference: str
    confidence: str
    note: str
    origin: str
    """``file:line`` the indicator came from."""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    """End of the period the indicator stands for (exclusive)."""

    @property
    def label(self) -> str:
        return self.source or self.origin

    def outside(self, time: datetime | None) -> str | None:
        """Why a match at ``time`` does not count (outside the indicator's period), or None.

        A record without a time counts: the period cannot rule it out."""
        if time is None:
            return None
        if self.valid_until is not None and time >= self.valid_until:
            return f"listed until {format_time(self.valid_until)}"
        if self.valid_from is not None and time < self.valid_from:
            return f"listed from {format_time(self.valid_from)}"
        return None


def load_indicators(paths: Iterable[Path]) -> list[Indicator]:
    """Read every indicator file under ``paths`` (files, or folders of ``.csv`` and ``.json``).

    Raises:
        RuleError: a row with an unknown type or a malformed value, named by file and line.
    """
    indicators: list[Indicator] = []
    for path in _csv_files(paths):
        indicators.extend(_read_feed(path))
    return indicators


def load_ioc_rules(paths: Iterable[Path]) -> list[RecordRule]:
    indicators = load_indicators(paths)
    by_type: dict[str, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        by_type[indicator.type].append(indicator)
    rules: list[RecordRule] = []
    if by_type["ipv4"] or by_type["ipv6"]:
        rules.append(IpRule(by_type["ipv4"] + by_type["ipv6"]))
    if by_type["user-agent"]:
        rules.append(UserAgentRule(by_type["user-agent"]))
    if by_type["url-fragment"]:
        rules.append(UrlRule(by_type["url-fragment"]))
    hashes = by_type["sha256"] + by_type["sha1"] + by_type["md5"]
    if hashes:
        rules.append(HashRule(hashes))
    if by_type["filename"] or by_type["path"]:
        rules.append(FileNameRule(by_type["filename"], by_type["path"]))
    return rules


def normalise_user_agent(value: str) -> str:
    """One form for IIS (``+`` for space) and HttpProxy (commas dropped) user agents."""
    return " ".join(value.replace("+", " ").replace(",", " ").lower().split())


def literal_of(value: str) -> str | None:
    """The longest run of ``value`` that any log writes as is; None if shorter than 3."""
    best = max(_UNSAFE.split(value.lower()), key=len, default="")
    return best if len(best) >= 3 else None


class _IndicatorRule(RecordRule):
    def __init__(self, indicators: Sequence[Indicator]) -> None:
        self.indicators = list(indicators)

    def _web_hit(
        self, record: Record, indicator: Indicator, what: str, severity: Severity | None = None
    ) -> Hit:
        """A web log hit; informational when the record is outside the indicator's period."""
        summary = f"{_describe(record)} [{what} listed by {indicator.label}]"
        stale = indicator.outside(record.time)
        if stale is not None:
            return make_hit(
                self.info,
                record,
                tags=("ioc", f"ioc:{indicator.origin}", "ioc:outside-period"),
                severity=Severity.INFO,
                category=Category.INFORMATIONAL,
                summary=f"{summary[:-1]}, {stale}: not counted]",
            )
        return make_hit(
            self.info,
            record,
            tags=("ioc", f"ioc:{indicator.origin}"),
            severity=severity,
            summary=summary,
        )

    def literals(self, artifact: str) -> frozenset[str] | None:
        found = {literal_of(i.value) for i in self.indicators}
        if None in found:
            return None
        return frozenset(lit for lit in found if lit is not None)


class IpRule(_IndicatorRule):
    info = RuleInfo(
        id="exhunt.ioc.ip",
        title="Request from a published attacker address",
        severity=Severity.MEDIUM,
        category=Category.ATTEMPT,
        attack=("T1190",),
        description="The client address is on a published list of addresses that attacked "
        "Exchange servers. Addresses are short-lived VPS and VPN exits: treat as a lead.",
    )
    artifacts = WEB_LOGS

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        super().__init__(indicators)
        self._by_ip = {_canonical_ip(i.value): i for i in indicators}

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        view = request_view(record)
        for address in _addresses(record, view.client_ip):
            indicator = self._by_ip.get(_canonical_ip(address))
            if indicator is not None:
                low = indicator.confidence == "low"
                yield self._web_hit(record, indicator, "address", Severity.LOW if low else None)
                return


class UserAgentRule(_IndicatorRule):
    info = RuleInfo(
        id="exhunt.ioc.user-agent",
        title="Request with a user agent published for Exchange exploitation",
        severity=Severity.MEDIUM,
        category=Category.ATTEMPT,
        attack=("T1190",),
        description="Low-confidence user agents (crawler names the attackers borrowed) count "
        "only on POST requests, as published.",
    )
    artifacts = WEB_LOGS

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        super().__init__(indicators)
        self._agents = [(normalise_user_agent(i.value), i) for i in indicators]

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        view = request_view(record)
        if not view.user_agent:
            return
        agent = normalise_user_agent(view.user_agent)
        for value, indicator in self._agents:
            if agent.startswith(value):
                low = indicator.confidence == "low"
                if low and (view.method or "").upper() != "POST":
                    return
                yield self._web_hit(record, indicator, "user agent", Severity.LOW if low else None)
                return


class UrlRule(_IndicatorRule):
    info = RuleInfo(
        id="exhunt.ioc.url",
        title="Request for a URL published in attacks on Exchange",
        severity=Severity.MEDIUM,
        category=Category.ATTEMPT,
        attack=("T1190",),
    )
    artifacts = WEB_LOGS

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        url = request_view(record).url.lower()
        for indicator in self.indicators:
            if indicator.value.lower() in url:
                yield self._web_hit(record, indicator, "URL", None)
                return


class HashRule(_IndicatorRule):
    info = RuleInfo(
        id="exhunt.ioc.hash",
        title="File matches a published web shell or tool hash",
        severity=Severity.CRITICAL,
        category=Category.WEBSHELL,
        attack=("T1505.003",),
    )
    artifacts = FILES

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        super().__init__(indicators)
        self._by_hash = {i.value.lower(): i for i in indicators}

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        for kind in ("sha256", "sha1", "md5"):
            indicator = self._by_hash.get(record.fields.get(kind, "").lower())
            if indicator is not None:
                path = record.fields.get("path", "")
                category = Category.WEBSHELL if path.lower().endswith(_SCRIPT_EXT) else None
                yield make_hit(
                    self.info,
                    record,
                    paths=(path,),
                    sha256=(record.fields.get("sha256", ""),),
                    category=category or Category.POST_EXPLOITATION,
                    summary=f"{path} has {kind} {indicator.value} [{indicator.label}]",
                    link=path.lower(),
                )
                return


class FileNameRule(_IndicatorRule):
    info = RuleInfo(
        id="exhunt.ioc.file",
        title="File at a path or with a web shell name published for Exchange attacks",
        severity=Severity.HIGH,
        category=Category.WEBSHELL,
        attack=("T1505.003",),
        description="Names match only inside web-reachable folders; full paths match anywhere.",
    )
    artifacts = FILES

    def __init__(self, names: Sequence[Indicator], paths: Sequence[Indicator]) -> None:
        super().__init__([*names, *paths])
        self._names = {i.value.lower(): i for i in names}
        self._paths = {i.value.lower().replace("/", "\\"): i for i in paths}

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        fields = record.fields
        path = fields.get("path", "")
        indicator = self._paths.get(path.lower())
        if indicator is None and fields.get("web") == "true":
            indicator = self._names.get(fields.get("name", "").lower())
        if indicator is None:
            return
        script = path.lower().endswith(_SCRIPT_EXT)
        yield make_hit(
            self.info,
            record,
            paths=(path,),
            category=None if script else Category.POST_EXPLOITATION,
            summary=f"{path} [{indicator.type} listed by {indicator.label}]",
            link=path.lower(),
        )


def _describe(record: Record) -> str:
    return describe(record)


def _addresses(record: Record, client: str | None) -> Iterator[str]:
    if client:
        yield client
    chain = record.fields.get("ClientIpAddress", "")
    yield from chain.split()[1:]
    direct = record.fields.get("c-ip")
    if direct and direct != client:
        yield direct


def _canonical_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        return value.strip().lower()


def _csv_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.suffix.lower() in _FEEDS and p.is_file())
            yield from sorted(found)
        elif path.exists():
            yield path
        else:
            raise RuleError("indicator file not found", str(path))


def _read_feed(path: Path) -> Iterable[Indicator]:
    """An exhunt CSV pack, or a STIX bundle or MISP export recognised by its content."""
    from exhunt.detect.feeds import read_foreign_feed

    foreign = read_foreign_feed(path)
    return _read_pack(path) if foreign is None else foreign


def _read_pack(path: Path) -> Iterator[Indicator]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"type", "value", "source", "reference"} - set(reader.fieldnames or ())
        if missing:
            raise RuleError(f"missing columns: {', '.join(sorted(missing))}", str(path), 1)
        for row in reader:
            yield _indicator(row, path, reader.line_num)


def _indicator(row: dict[str, str], path: Path, line: int) -> Indicator:
    kind = (row.get("type") or "").strip().lower()
    value = (row.get("value") or "").strip()
    if kind not in TYPES:
        raise RuleError(f"unknown indicator type {kind!r}", str(path), line)
    if not value:
        raise RuleError("empty indicator value", str(path), line)
    _validate(kind, value, path, line)
    return Indicator(
        type=kind,
        value=value,
        source=(row.get("source") or "").strip(),
        reference=(row.get("reference") or "").strip(),
        confidence=(row.get("confidence") or "high").strip().lower(),
        note=(row.get("note") or "").strip(),
        origin=f"{path.name}:{line}",
        valid_from=_period_time(row.get("valid_from"), path, line, end=False),
        valid_until=_period_time(row.get("valid_until"), path, line, end=True),
    )


def _period_time(text: str | None, path: Path, line: int, *, end: bool) -> datetime | None:
    """A ``valid_from``/``valid_until`` cell: an ISO-8601 date or time (UTC without a zone).

    A date alone as the end of a period means the end of that day."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = parse_time(text)
    except ValueError:
        column = "valid_until" if end else "valid_from"
        raise RuleError(f"{column} is not an ISO-8601 date: {text!r}", str(path), line) from None
    date_only = len(text) == 10
    return value + timedelta(days=1) if end and date_only else value


def _validate(kind: str, value: str, path: Path, line: int) -> None:
    if kind in _HEX and not re.fullmatch(rf"[0-9A-Fa-f]{{{_HEX[kind]}}}", value):
        raise RuleError(f"{kind} must be {_HEX[kind]} hex digits: {value!r}", str(path), line)
    if kind in ("ipv4", "ipv6"):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise RuleError(f"not an IP address: {value!r}", str(path), line) from None
