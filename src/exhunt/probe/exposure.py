"""From the versions a host showed to its build, product, CU and the CVEs it is exposed to.

When answers disagree (several servers behind one name, a proxy answering for some paths),
the lowest version is judged: one exposed server behind the name is enough. A CU-level version
(the OWA paths of 2013 and later show no security update) is judged at both ends of its CU: a CVE
that even the CU's newest security update in the table leaves open is certain; one that a
security update of the CU fixes is only possible, since the update may be installed.

The CVEs judged are those the builds table tracks (``exhunt.detect.cves``), as ``exhunt build``
judges them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from exhunt.detect.builds import CAMPAIGN_OF, PRODUCT_NAMES, BuildFacts, facts_for
from exhunt.detect.cves import family_of
from exhunt.probe.results import Exposure, Sighting, Status

Build = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Assessment:
    status: Status
    product: str | None
    cu: str | None
    exposures: tuple[Exposure, ...]
    notes: tuple[str, ...]


def choose(sightings: Iterable[Sighting]) -> Sighting | None:
    """The version to judge: the lowest CU; within it a full build over a CU level."""
    return min(sightings, key=lambda s: (s.build[:3], not s.full, s.build[3]), default=None)


def conflicts(sightings: Iterable[Sighting], chosen: Sighting) -> list[str]:
    """A note for each version that contradicts ``chosen``."""
    notes = []
    for sighting in sightings:
        same_cu = sighting.build[:3] == chosen.build[:3]
        if same_cu and (not sighting.full or not chosen.full or sighting.build == chosen.build):
            continue
        notes.append(
            f"{sighting.source} of {sighting.url} shows {sighting.version}, not "
            f"{chosen.version}: more than one server may answer; the lowest is judged"
        )
    return notes


def assess(
    sighting: Sighting, cves: frozenset[str] | None = None, today: date | None = None
) -> Assessment:
    """Product, CU and exposure to ``cves`` (default: all tracked) of the build shown."""
    low, high = _bounds(sighting)
    product = PRODUCT_NAMES.get(low.product) if low.product else None
    cu = low.cu.name if low.cu else None
    if not low.known:
        note = f"the builds table does not know build {sighting.version}: exposure unknown"
        return Assessment(Status.UNKNOWN, product, cu, (), (note,))
    at = today or date.today()
    certain = set(high.vulnerable_to(at))
    exposures = tuple(
        _exposure(low, cve, cve in certain)
        for cve in low.vulnerable_to(at)
        if cves is None or cve in cves
    )
    if any(e.certain for e in exposures):
        status = Status.EXPOSED
    else:
        status = Status.UNKNOWN if exposures else Status.NOT_EXPOSED
    return Assessment(status, product, cu, exposures, ())


def _bounds(sighting: Sighting) -> tuple[BuildFacts, BuildFacts]:
    """Facts of the lowest and highest build the sighting can stand for."""
    facts = facts_for(sighting.build)
    if sighting.full:
        return facts, facts
    known = [u.build for u in facts.updates if u.build[:3] == sighting.build[:3]]
    if not known:
        return facts, facts
    return facts_for(min(known)), facts_for(max(known))


def _exposure(facts: BuildFacts, cve: str, certain: bool) -> Exposure:
    family = CAMPAIGN_OF.get(cve) or family_of(cve) or ""
    fix = facts.first_fix(cve)
    if fix is None:
        return Exposure(cve, family, certain, None, None, None, None)
    build = ".".join(str(part) for part in fix.build)
    return Exposure(cve, family, certain, build, fix.name, fix.cu, fix.released)


def su_name(sighting: Sighting) -> str | None:
    """The security update level of a full build: ``Mar21SU``, ``Mar21SU+ (build not listed)``;
    None at a CU's release build or for a CU level."""
    return facts_for(sighting.build).su_text if sighting.full else None
