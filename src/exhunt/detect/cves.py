"""The CVEs exhunt judges a build by, from ``data/cves.csv``: the campaign family and the later
critical or exploited Exchange remote code execution CVEs, each with its public references.

Which update fixes which CVE is in ``data/builds.csv``; this table says what each CVE is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class CveInfo:
    """One tracked CVE.

    Attributes:
        cve: the CVE id.
        family: ``ProxyLogon``, ``ProxyShell``, ``ProxyNotShell``, ``OWASSRF`` or ``Exchange RCE``.
        title: what the flaw is, in a few words.
        severity: Microsoft's rating (``Critical``, ``Important``).
        exploited: when CISA listed it as exploited in the wild; None if not listed.
        fixed_in: the updates that fix it, as Microsoft names them.
        references: public sources (MSRC advisory first).
    """

    cve: str
    family: str
    title: str
    severity: str
    exploited: date | None
    fixed_in: str
    references: tuple[str, ...]


@cache
def load_cves() -> tuple[CveInfo, ...]:
    """Every tracked CVE, in the order of the table (campaigns first)."""
    text = (resources.files("exhunt") / "data" / "cves.csv").read_text("utf-8")
    return tuple(_info(row) for row in csv.DictReader(text.splitlines()))


def _info(row: dict[str, str]) -> CveInfo:
    exploited = row["exploited"].strip()
    return CveInfo(
        cve=row["cve"].strip(),
        family=row["family"].strip(),
        title=row["title"].strip(),
        severity=row["severity"].strip(),
        exploited=date.fromisoformat(exploited) if exploited else None,
        fixed_in=row["fixed_in"].strip(),
        references=tuple(r.strip() for r in row["reference"].split(";") if r.strip()),
    )


@cache
def tracked() -> tuple[str, ...]:
    """Every tracked CVE id, in table order."""
    return tuple(info.cve for info in load_cves())


@cache
def family_of(cve: str) -> str | None:
    """The family a tracked CVE belongs to; None for a CVE the table does not track."""
    return next((info.family for info in load_cves() if info.cve == cve), None)


@cache
def cve_info(cve: str) -> CveInfo | None:
    return next((info for info in load_cves() if info.cve == cve), None)
