"""From an Exchange build number to the CVEs it lacks, by the data in ``data/builds.csv``.

A build belongs to the cumulative update (CU, or service pack for Exchange 2010) whose release
build is the highest at or below it. It is fixed for a CVE when its CU row lists the CVE (a CU
row lists every tracked fix it contains, those of earlier updates included), or when a security
or hotfix update (SU/HU, or a 2010 update rollup) of the same CU at or below the build fixes it.
A CVE that no update of a product ever fixed is not judged for that product (Microsoft did not
ship a build fix for it there: the product was not affected, out of support, or the fix is a
configuration change). See ``docs/builds.md``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from importlib import resources

from exhunt.detect.cves import tracked

CAMPAIGNS: dict[str, tuple[str, ...]] = {
    "ProxyLogon": ("CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"),
    "ProxyShell": ("CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"),
    "ProxyNotShell": ("CVE-2022-41040", "CVE-2022-41082"),
    "OWASSRF": ("CVE-2022-41080",),
}
CAMPAIGN_OF = {cve: name for name, cves in CAMPAIGNS.items() for cve in cves}
PRODUCT_NAMES = {
    "2010": "Exchange Server 2010",
    "2013": "Exchange Server 2013",
    "2016": "Exchange Server 2016",
    "2019": "Exchange Server 2019",
    "SE": "Exchange Server Subscription Edition",
}
SUPPORT_ENDED = {
    "2010": date(2020, 10, 13),
    "2013": date(2023, 4, 11),
    "2016": date(2025, 10, 14),
    "2019": date(2025, 10, 14),
}
"""End of extended support (Health Checker's ``extendedSupportDate``; 2010: Microsoft lifecycle)."""

Build = tuple[int, int, int, int]

_ADMIN_DISPLAY = re.compile(r"^Version (\d+)\.(\d+) \(Build (\d+)\.(\d+)\)$", re.IGNORECASE)
_MAX_PART = 65535  # each part of a Windows file version is 16 bits


@lru_cache(maxsize=4096)
def parse_build(text: str) -> Build | None:
    """A build from ``15.1.2106.2``, ``15.01.2106.002``, ``15.1.2106`` (revision 0) or
    ``Version 15.1 (Build 2106.2)`` (AdminDisplayVersion); None for anything else."""
    text = text.strip()
    shown = _ADMIN_DISPLAY.match(text)
    parts = list(shown.groups()) if shown else text.split(".")
    if len(parts) == 3:
        parts.append("0")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 5 for p in parts):
        return None
    major, minor, build, revision = (int(p) for p in parts)
    if max(major, minor, build, revision) > _MAX_PART:
        return None
    return major, minor, build, revision


def format_build(build: Build) -> str:
    return ".".join(str(part) for part in build)


def product_of(build: Build) -> str | None:
    major, minor, number, _ = build
    if major == 14:
        return "2010"
    if major != 15:
        return None
    if minor == 2 and number >= 2562:
        return "SE"
    return {0: "2013", 1: "2016", 2: "2019"}.get(minor)


@dataclass(frozen=True, slots=True)
class Update:
    """One row of the table: a CU (or SP) release build, or an update on a CU."""

    product: str
    cu: str
    build: Build
    kind: str
    """``cu`` for the release build of a CU (or RTM, or a 2010 service pack), ``su`` for a
    security update, hotfix update or 2010 update rollup on it."""
    name: str
    released: date
    fixes: frozenset[str]
    source: str
    kb: str = ""

    @property
    def label(self) -> str:
        """``15.1.2176.9 (CU19 Mar21SU)``."""
        what = self.name if self.kind == "cu" else f"{self.cu} {self.name}"
        return f"{format_build(self.build)} ({what})"


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the table says of one build."""

    build: Build
    product: str | None
    cu: Update | None
    fixed: frozenset[str]
    updates: tuple[Update, ...]
    """Every update of the build's product, oldest build first."""
    su: Update | None = None
    """The newest update of the build's CU at or below it (None: the CU release build)."""
    exact: Update | None = None
    """The row whose build is exactly this one; None for a build the table does not list."""

    @property
    def known(self) -> bool:
        """Whether the table can place this build (product and CU known)."""
        return self.product is not None and self.cu is not None

    @property
    def level(self) -> Update | None:
        """The update the build is at: its SU, else its CU."""
        return self.su or self.cu

    @property
    def name(self) -> str:
        """``Exchange Server 2016 CU19 Mar21SU``, as far as known."""
        parts = [PRODUCT_NAMES.get(self.product or "", "Unknown Exchange version")]
        if self.cu:
            parts.append(self.cu.name)
        if self.su_text:
            parts.append(self.su_text)
        return " ".join(parts)

    @property
    def su_text(self) -> str | None:
        """The update level: ``Mar21SU``; ``May18SU+`` for a build between two listed ones."""
        if self.exact is not None:
            return self.exact.name if self.exact.kind == "su" else None
        if self.cu is None:
            return None
        if self.su is None:
            return f"newer than {self.cu.name} (build not listed)"
        return f"{self.su.name}+ (build not listed)"

    @property
    def newer_than_table(self) -> bool:
        """The build is above every row of its CU (an update the table does not list yet)."""
        same = [u for u in self.updates if self.cu and u.cu == self.cu.cu]
        return bool(same) and self.build > max(u.build for u in same)

    def lacks_fix(self, cve: str) -> bool | None:
        """True if the build is vulnerable to ``cve``; None when the table cannot tell."""
        if not self.known:
            return None
        if not any(cve in u.fixes for u in self.updates):
            return False  # no build of this product fixes it: not judged by build
        return cve not in self.fixed

    def first_fix(self, cve: str) -> Update | None:
        """The update that fixes ``cve`` for this build: an SU of its CU, else a later CU."""
        same_cu = [u for u in self.updates if self.cu and u.cu == self.cu.cu and cve in u.fixes]
        later = [u for u in self.updates if cve in u.fixes and u.build > self.build]
        for candidates in (same_cu, later):
            if candidates:
                return min(candidates, key=lambda u: u.build)
        return None

    def fix_released(self, cve: str) -> date | None:
        """When a fix for ``cve`` first existed for this product."""
        dates = [u.released for u in self.updates if cve in u.fixes]
        return min(dates) if dates else None

    def vulnerable_to(self, at: date | None = None) -> tuple[str, ...]:
        """Tracked CVEs the build lacks, whose fix was released by ``at`` (default: ever)."""
        found = []
        for cve in tracked():
            released = self.fix_released(cve)
            if self.lacks_fix(cve) and released and (at is None or released <= at):
                found.append(cve)
        return tuple(found)

    def fixed_by(self, at: date | None = None) -> dict[str, Update]:
        """For each CVE of :meth:`vulnerable_to`, the first update that fixes it."""
        fixes = {cve: self.first_fix(cve) for cve in self.vulnerable_to(at)}
        return {cve: fix for cve, fix in fixes.items() if fix is not None}


@cache
def load_updates() -> tuple[Update, ...]:
    """Every row of ``data/builds.csv``, ordered by build."""
    text = (resources.files("exhunt") / "data" / "builds.csv").read_text("utf-8")
    updates = [_update(row) for row in csv.DictReader(text.splitlines())]
    return tuple(sorted((u for u in updates if u), key=lambda u: u.build))


def _update(row: dict[str, str]) -> Update | None:
    build = parse_build(row["build"])
    if build is None:
        return None
    return Update(
        product=row["product"].strip(),
        cu=row["cu"].strip(),
        build=build,
        kind=row["kind"].strip(),
        name=row["name"].strip(),
        released=date.fromisoformat(row["release_date"].strip()),
        fixes=frozenset(c.strip() for c in row["fixes"].split(";") if c.strip()),
        source=row["source"].strip(),
        kb=row.get("kb", "").strip(),
    )


@cache
def facts_for(build: Build) -> BuildFacts:
    """What the table says of ``build`` (cached; builds are few)."""
    product = product_of(build)
    updates = tuple(u for u in load_updates() if u.product == product)
    cus = [u for u in updates if u.kind == "cu" and u.build <= build]
    cu = max(cus, key=lambda u: u.build) if cus else None
    exact = next((u for u in updates if u.build == build), None)
    if cu is None:
        return BuildFacts(build, product, None, frozenset(), updates, exact=exact)
    own = [u for u in updates if u.cu == cu.cu and u.kind == "su" and u.build <= build]
    fixed = set(cu.fixes).union(*(u.fixes for u in own))
    su = max(own, key=lambda u: u.build) if own else None
    return BuildFacts(build, product, cu, frozenset(fixed), updates, su, exact)


def latest_per_cu() -> list[Update]:
    """The newest listed build of every CU, by product and build."""
    newest: dict[tuple[str, str], Update] = {}
    for update in load_updates():
        key = (update.product, update.cu)
        if key not in newest or update.build > newest[key].build:
            newest[key] = update
    return sorted(newest.values(), key=lambda u: (_PRODUCT_ORDER[u.product], u.build))


_PRODUCT_ORDER = {name: i for i, name in enumerate(PRODUCT_NAMES)}


def to_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
