"""From an Exchange build number to the campaign CVEs it lacks, by the data in ``builds.csv``.

A build is fixed for a CVE when its own cumulative update (CU) already contained the fix, or a
security update (SU) for that CU at or below the build fixed it. A CU contains every fix that
its row lists, and every fix released before the CU itself was. A CVE that no update of a
product ever fixed does not affect that product.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources

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

Build = tuple[int, int, int, int]


@cache
def parse_build(text: str) -> Build | None:
    """``15.01.2106.002`` or ``15.1.2106.2`` as numbers; three parts get revision 0."""
    parts = text.strip().split(".")
    if len(parts) == 3:
        parts.append("0")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    major, minor, build, revision = (int(p) for p in parts)
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
    product: str
    cu: str
    build: Build
    kind: str
    name: str
    released: date
    fixes: frozenset[str]
    source: str


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the table says of one build."""

    build: Build
    product: str | None
    cu: Update | None
    fixed: frozenset[str]
    updates: tuple[Update, ...]
    """Every update of the build's product, oldest build first."""

    def lacks_fix(self, cve: str) -> bool | None:
        """True if the build is vulnerable to ``cve``; None when the table cannot tell."""
        if self.product is None or self.cu is None:
            return None
        if not any(cve in u.fixes for u in self.updates):
            return False  # never fixed for this product: not affected
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


@cache
def load_updates() -> tuple[Update, ...]:
    text = (resources.files("exhunt") / "data" / "builds.csv").read_text("utf-8")
    updates = []
    for row in csv.DictReader(text.splitlines()):
        build = parse_build(row["build"])
        if build is None:
            continue
        updates.append(
            Update(
                product=row["product"].strip(),
                cu=row["cu"].strip(),
                build=build,
                kind=row["kind"].strip(),
                name=row["name"].strip(),
                released=date.fromisoformat(row["release_date"].strip()),
                fixes=frozenset(c.strip() for c in row["fixes"].split(";") if c.strip()),
                source=row["source"].strip(),
            )
        )
    return tuple(sorted(updates, key=lambda u: u.build))


@cache
def facts_for(build: Build) -> BuildFacts:
    product = product_of(build)
    updates = tuple(u for u in load_updates() if u.product == product)
    cus = [u for u in updates if u.kind == "cu" and u.build <= build]
    cu = max(cus, key=lambda u: u.build) if cus else None
    if cu is None:
        return BuildFacts(build, product, None, frozenset(), updates)
    fixed = set(cu.fixes)
    fixed.update(c for u in updates if u.released < cu.released for c in u.fixes)
    fixed.update(c for u in updates if u.cu == cu.cu and u.build <= build for c in u.fixes)
    return BuildFacts(build, product, cu, frozenset(fixed), updates)


def to_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
