"""The fleet's questions, asked of the store: summary, campaign pivots, peer web files.

A server is a host; its state is its latest stored scan. Every query takes a :class:`Scope`:
the organisations whose data the reader may see. Pivots still count the organisations outside
the scope that share an indicator, without naming them, so an organisation's analyst learns
that an address also hit others but not whom.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from exhunt.model import Category, VerdictStatus
from exhunt.store import schema
from exhunt.store.prepare import (
    KIND_ACCOUNT,
    KIND_FILE_NAME,
    KIND_IP,
    KIND_SHA256,
    KIND_TOOL,
    KIND_USER_AGENT,
    KIND_WEBSHELL_NAME,
)

PIVOT_KINDS = (KIND_IP, KIND_SHA256, KIND_WEBSHELL_NAME, KIND_FILE_NAME, KIND_USER_AGENT,
               KIND_TOOL, KIND_ACCOUNT)  # fmt: skip
"""Indicator kinds pivoted by default (URLs and paths are mostly unique to one server)."""
MALICIOUS = tuple(c.value for c in Category if c.malicious)
VERDICTS = tuple(v.value for v in VerdictStatus)

_s, _h, _o = schema.scans, schema.hosts, schema.organisations


@dataclass(frozen=True, slots=True)
class Scope:
    """The organisations a reader may see; ``None`` is all of them."""

    organisations: frozenset[str] | None = None

    def allows(self, organisation: str) -> bool:
        return self.organisations is None or organisation in self.organisations


EVERYTHING = Scope()


@dataclass(frozen=True, slots=True)
class Count:
    """Servers of one group (a build, an organisation) by verdict."""

    name: str
    total: int
    verdicts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ExposureCount:
    cve: str
    campaign: str
    servers: int
    """Servers exposed to the CVE at collection time."""
    mitigated: int = 0
    """Of those, servers where a mitigation stopped it (scans stored before schema 2 do not
    say, and count as not mitigated)."""


@dataclass(frozen=True, slots=True)
class FleetSummary:
    servers: int
    organisations: int
    scans: int
    verdicts: Mapping[str, int]
    exposures: tuple[ExposureCount, ...]
    builds: tuple[Count, ...]
    by_organisation: tuple[Count, ...]


@dataclass(frozen=True, slots=True)
class Pivot:
    """An indicator seen at more than one organisation: the campaign view."""

    kind: str
    value: str
    organisations: tuple[str, ...]
    """The organisations in scope that saw it, by name."""
    others: int
    """Organisations outside the scope that saw it too (not named)."""
    hosts: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class WebFile:
    path: str
    """Relative to the evidence root, with ``/`` (as in ``evidence.files``)."""
    sha256: str
    size: int
    install_rel: str | None = None
    """The path inside the Exchange install folder (``FrontEnd/HttpProxy/owa/auth/x.aspx``),
    the same on every server of a build wherever it was installed; None outside it."""


@dataclass(frozen=True, slots=True)
class WebFileManifest:
    """The files one stored server hashed, for comparing it with its same-build peers."""

    scan_id: int
    organisation: str
    host: str
    build: str
    install_path: str | None
    files: tuple[WebFile, ...] = field(default=())


def latest_scans(scope: Scope = EVERYTHING) -> Select[Any]:
    """Each host's latest scan id (the highest), within ``scope``."""
    query = select(func.max(_s.c.id).label("id")).join(_h, _h.c.id == _s.c.host_id)
    return _in_scope(query, scope).group_by(_s.c.host_id)


def _in_scope(query: Select[Any], scope: Scope) -> Select[Any]:
    if scope.organisations is None:
        return query
    names = sorted(scope.organisations)
    return query.where(_h.c.organisation_id.in_(select(_o.c.id).where(_o.c.name.in_(names))))


def summary(connection: Connection, scope: Scope = EVERYTHING) -> FleetSummary:
    """Servers (latest scans) by verdict, exposure, build and organisation."""
    latest = latest_scans(scope).subquery()
    rows = connection.execute(
        select(_o.c.name, _s.c.build, _s.c.verdict, func.count())
        .select_from(_s.join(latest, latest.c.id == _s.c.id).join(_h).join(_o))
        .group_by(_o.c.name, _s.c.build, _s.c.verdict)
    ).all()
    verdicts: dict[str, int] = defaultdict(int)
    builds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    orgs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for organisation, build, verdict, count in rows:
        verdicts[verdict] += count
        builds[build or "unknown"][verdict] += count
        orgs[organisation][verdict] += count
    scans = select(func.count()).select_from(_s.join(_h))
    return FleetSummary(
        servers=sum(verdicts.values()),
        organisations=len(orgs),
        scans=int(connection.execute(_in_scope(scans, scope)).scalar_one()),
        verdicts={v: verdicts.get(v, 0) for v in VERDICTS},
        exposures=tuple(_exposures(connection, latest)),
        builds=_counts(builds),
        by_organisation=_counts(orgs),
    )


def _counts(groups: Mapping[str, Mapping[str, int]]) -> tuple[Count, ...]:
    counts = [
        Count(name, sum(v.values()), {k: v.get(k, 0) for k in VERDICTS})
        for name, v in groups.items()
    ]
    return tuple(sorted(counts, key=lambda c: (-c.total, c.name)))


def _exposures(connection: Connection, latest: Any) -> Iterator[ExposureCount]:
    e = schema.exposures
    query = (
        select(e.c.cve, e.c.campaign, func.count(), func.count().filter(e.c.mitigated.is_(True)))
        .select_from(e.join(latest, latest.c.id == e.c.scan_id))
        .where(e.c.exposed_at_collection.is_(True))
        .group_by(e.c.cve, e.c.campaign)
        .order_by(func.count().desc(), e.c.cve)
    )
    for cve, campaign, count, mitigated in connection.execute(query):
        yield ExposureCount(cve, campaign, count, mitigated)


def pivot(
    connection: Connection,
    scope: Scope = EVERYTHING,
    kinds: Iterable[str] = PIVOT_KINDS,
    categories: Iterable[str] = MALICIOUS,
    min_organisations: int = 2,
) -> list[Pivot]:
    """Indicators of malicious findings seen at ``min_organisations`` or more organisations."""
    i = schema.indicators
    query = (
        select(i.c.kind, i.c.digest, func.max(i.c.value), _o.c.name, func.min(i.c.first_seen),
               func.max(i.c.last_seen), func.count(func.distinct(_h.c.id)))
        .select_from(i.join(_s, _s.c.id == i.c.scan_id).join(_h).join(_o))
        .where(i.c.kind.in_(list(kinds)), i.c.category.in_(list(categories)))
        .group_by(i.c.kind, i.c.digest, _o.c.name)
    )  # fmt: skip
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in connection.execute(query):
        groups[(row[0], row[1])].append(row)
    pivots = [_pivot(rows, scope) for rows in groups.values() if len(rows) >= min_organisations]
    found = [p for p in pivots if p.organisations]
    return sorted(found, key=lambda p: (-len(p.organisations) - p.others, p.kind, p.value))


def _pivot(rows: list[Any], scope: Scope) -> Pivot:
    seen = [row for row in rows if scope.allows(row[3])]
    firsts = [row[4] for row in seen if row[4] is not None]
    lasts = [row[5] for row in seen if row[5] is not None]
    return Pivot(
        kind=rows[0][0],
        value=rows[0][2],
        organisations=tuple(sorted(row[3] for row in seen)),
        others=len(rows) - len(seen),
        hosts=sum(row[6] for row in seen),
        first_seen=min(firsts, default=None),
        last_seen=max(lasts, default=None),
    )


def web_file_manifests(
    connection: Connection, build: str, scope: Scope = EVERYTHING
) -> Iterator[WebFileManifest]:
    """The hashed files of every stored server of ``build`` (each host's latest scan).

    These are the ``fs.file`` entries of each document's ``evidence.files``: paths relative to
    the evidence root with ``/``; ``install_path`` is the Exchange folder to compare servers
    installed in different places. Yields one manifest per server, files sorted by path.
    """
    f, latest = schema.files, latest_scans(scope).subquery()
    query = (
        select(_s.c.id, _o.c.name, _h.c.name, _s.c.install_path, f.c.path, f.c.sha256, f.c.size)
        .select_from(_s.join(latest, latest.c.id == _s.c.id).join(_h).join(_o))
        .outerjoin(f, f.c.scan_id == _s.c.id)
        .where(_s.c.build == build)
        .order_by(_s.c.id, f.c.path)
    )
    current: list[Any] = []
    for row in connection.execute(query):
        if current and row[0] != current[0][0]:
            yield _manifest(current, build)
            current = []
        current.append(row)
    if current:
        yield _manifest(current, build)


def _manifest(rows: list[Any], build: str) -> WebFileManifest:
    scan_id, organisation, host, install = rows[0][:4]
    marker = _install_marker(install)
    files = tuple(
        WebFile(r[4], r[5], r[6], _inside(r[4], marker)) for r in rows if r[4] is not None
    )
    return WebFileManifest(scan_id, organisation, host, build, install, files)


def _install_marker(install: str | None) -> str | None:
    """``/program files/microsoft/exchange server/v15/`` from ``C:\\Program Files\\...``."""
    if not install:
        return None
    tail = install.replace("\\", "/").split(":", 1)[-1].strip("/").lower()
    return f"/{tail}/" if tail else None


def _inside(path: str, marker: str | None) -> str | None:
    """The part of an evidence path below the install folder, whatever the collection's layout
    (``C/Program Files/...``, ``uploads/auto/C%3A/Program Files/...``)."""
    if marker is None:
        return None
    at = ("/" + path.lower()).find(marker)
    return None if at < 0 else path[at + len(marker) - 1 :]
