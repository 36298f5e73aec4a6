"""The server's Exchange build over time, the CVEs it was exposed to, and its mitigations.

Builds are observed in the logs (the version columns of HttpProxy and Rps rows, the
``#Version:`` line of Exchange log preambles: timed) and on disk (OWA version folders, where old
versions linger, ExSetup.exe's version resource and the SOFTWARE hive's Setup key: the install
at collection time, untimed). The build at a moment is the latest logged one at or before it;
without logs, the disk sources decide (ExSetup.exe first). Disagreements are reported.

Exposure at collection time, the end of the evidence's logs, decides the verdict (design.md
section 3): a build is exposed to a CVE when it lacks the fix, the fix had been released by then
and no mitigation in place stops that CVE. During the logs, the build and the mitigations in
place when a record was written say whether an attempt on it could have worked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from exhunt.detect.builds import PRODUCT_NAMES, Build, facts_for, format_build, parse_build
from exhunt.detect.builds import to_datetime as to_datetime
from exhunt.detect.cves import family_of, tracked
from exhunt.document import (
    BuildConflict,
    BuildPeriod,
    BuildSource,
    ExchangeInfo,
    Exposure,
    MitigationInfo,
)
from exhunt.evidence.winpath import key as path_key
from exhunt.findings.mitigations import Mitigation, MitigationState
from exhunt.model import Record

DISK_PRIORITY = (
    "ExSetup.exe version resource",
    "SOFTWARE hive Setup OwaVersion",
    "OWA version folder",
    "SOFTWARE hive Setup MsiBuild values",
)


@dataclass(frozen=True, slots=True)
class Observation:
    build: Build
    time: datetime | None
    source: str
    path: str | None = None
    precision: str = "build"
    """``build`` (all four parts) or ``cu`` (the revision is the CU's, not the update's)."""


class BuildHistory:
    """Which build ran when, from observations with times; disk sources fill in the rest."""

    def __init__(
        self,
        observations: Sequence[Observation],
        mitigations: MitigationState | None = None,
        registry_install_path: str | None = None,
    ) -> None:
        self.observations = list(observations)
        self.mitigations = mitigations or MitigationState()
        self.registry_install_path = registry_install_path
        """``MsiInstallPath`` of the SOFTWARE hive, where the evidence has it."""
        self.timed = sorted((o for o in observations if o.time is not None), key=_when)
        self.untimed = [o for o in observations if o.time is None]

    def current(self) -> Observation | None:
        """The build at collection time: the latest logged one, else the best disk source."""
        if self.timed:
            return self.timed[-1]
        for source in (*DISK_PRIORITY, None):
            found = [o for o in self.untimed if source is None or o.source == source]
            if found:
                return max(found, key=lambda o: o.build)
        return None

    def at(self, moment: datetime | None) -> Build | None:
        if moment is None or not self.timed:
            current = self.current()
            return current.build if current else None
        before = [o for o in self.timed if _when(o) <= moment]
        return (before[-1] if before else self.timed[0]).build

    def periods(self) -> list[BuildPeriod]:
        periods: list[BuildPeriod] = []
        for obs in self.timed:
            text = format_build(obs.build)
            if periods and periods[-1].build == text:
                periods[-1].last = obs.time
            else:
                periods.append(
                    BuildPeriod(build=text, first=obs.time, last=obs.time, source=obs.source)
                )
        return periods

    def exposed(self, cve: str, record: Record) -> bool | None:
        """Whether an attempt on ``cve`` could have worked when ``record`` was written: the
        build then lacked the fix and no mitigation known to be in place stopped it."""
        build = self.at(record.time)
        lacks = facts_for(build).lacks_fix(cve) if build else None
        if lacks and record.time is not None and self.mitigations.covering(cve, record.time):
            return False
        return lacks

    def conflicts(self) -> list[BuildConflict]:
        """Disk sources that disagree with the build taken as current."""
        current = self.current()
        if current is None:
            return []
        found = []
        for obs in self._disk_views():
            if obs is current or _agrees(obs, current):
                continue
            found.append(
                BuildConflict(
                    message=_conflict_text(obs, current),
                    sources=[_source(current), _source(obs)],
                )
            )
        return found

    def _disk_views(self) -> list[Observation]:
        """One observation per disk source (the highest OWA folder: old ones linger)."""
        best: dict[str, Observation] = {}
        for obs in self.untimed:
            if obs.source not in best or obs.build > best[obs.source].build:
                best[obs.source] = obs
        return list(best.values())


def observe(text: str, time: datetime | None, source: str, path: str | None) -> Observation | None:
    """An observation from a version text; generic preamble values (``15.0.0.0``) are ignored."""
    build = parse_build(text)
    if build is None or build[2] == 0:
        return None
    return Observation(build, time, source, path)


def exchange_info(
    history: BuildHistory,
    collected: datetime | None,
    logs_start: datetime | None,
    install_path: str | None,
) -> ExchangeInfo:
    current = history.current()
    info = ExchangeInfo(install_path=install_path, build_sources=_sources(history))
    info.build_history = history.periods()
    info.build_conflicts = history.conflicts()
    info.mitigation_state = [_info(m) for m in history.mitigations.mitigations]
    _install_path(info, history.registry_install_path)
    if current is None:
        return info
    facts = facts_for(current.build)
    info.build = format_build(current.build)
    info.product = PRODUCT_NAMES.get(facts.product or "", None)
    info.cu = facts.cu.name if facts.cu else None
    info.su = facts.su_text
    info.value_sources["build"] = current.source
    for cve in tracked():
        exposure = _exposure(history, cve, collected, logs_start)
        if exposure is None:
            continue
        info.exposure.append(exposure)
        if exposure.exposed_at_collection:
            info.vulnerable_to.append(cve)
        elif exposure.mitigated_by and facts.lacks_fix(cve):
            info.mitigated.append(cve)
    return info


def _exposure(
    history: BuildHistory, cve: str, collected: datetime | None, logs_start: datetime | None
) -> Exposure | None:
    current = history.current()
    assert current is not None
    facts = facts_for(current.build)
    lacking_builds = {b for b in {o.build for o in history.timed} if facts_for(b).lacks_fix(cve)}
    lacking = [o for o in history.timed if o.build in lacking_builds]
    now_lacks = facts.lacks_fix(cve)
    released = facts.fix_released(cve)
    released_at = to_datetime(released) if released else None
    if (not lacking and not now_lacks) or not _out_by(released_at, collected):
        return None  # judged by fix release: no fix by collection time, no known exposure
    fix = facts.first_fix(cve)
    fix_out = bool(now_lacks)
    shield = history.mitigations.covering(cve, None) if fix_out else None
    first_seen = lacking[0].time if lacking else None
    return Exposure(
        cve=cve,
        campaign=family_of(cve) or "",
        fixed_by=fix.label if fix else None,
        fix_released=released_at,
        exposed_at_collection=fix_out and shield is None,
        exposed_from=first_seen,
        exposed_until=None if now_lacks else (lacking[-1].time if lacking else None),
        before_logs=bool(lacking) and logs_start is not None and lacking[0] is history.timed[0],
        mitigated_by=shield.name if shield else None,
        mitigated_since=shield.since if shield else None,
        mitigation_leaves=shield.leaves if shield else None,
    )


def _install_path(info: ExchangeInfo, registry: str | None) -> None:
    """Say where the install path came from; the registry's ``MsiInstallPath`` fills it in
    when the evidence has no install folder, and a disagreement is reported."""
    if info.install_path:
        info.value_sources["install_path"] = "install folder found in the evidence"
    elif registry:
        info.install_path = registry
        info.value_sources["install_path"] = "SOFTWARE hive Setup MsiInstallPath"
        return
    if registry and info.install_path and path_key(registry) != path_key(info.install_path):
        info.build_conflicts.append(
            BuildConflict(
                message=f"the SOFTWARE hive's MsiInstallPath is {registry}; the install "
                f"folder found in the evidence is {info.install_path}"
            )
        )


def _out_by(released: datetime | None, collected: datetime | None) -> bool:
    return released is not None and (collected is None or released <= collected)


def _agrees(obs: Observation, current: Observation) -> bool:
    if obs.source == "OWA version folder":
        return obs.build <= current.build  # older folders stay behind after an update
    if obs.precision == "cu" or current.precision == "cu":
        return obs.build[:3] == current.build[:3]
    return obs.build == current.build


def _conflict_text(obs: Observation, current: Observation) -> str:
    said, taken = format_build(obs.build), format_build(current.build)
    if obs.build > current.build and current.time is not None:
        why = "an update installed after the last log line, or logs from another server"
    elif obs.build > current.build:
        why = "the sources disagree"
    else:
        why = "files left from an older install, or logs from another server"
    return f"{obs.source} says {said}, {current.source} says {taken}: {why}"


def _source(obs: Observation) -> BuildSource:
    return BuildSource(
        source=obs.source,
        build=format_build(obs.build),
        path=obs.path,
        time=obs.time,
        precision=obs.precision,
    )


def _sources(history: BuildHistory) -> list[BuildSource]:
    seen: dict[tuple[str, str], BuildSource] = {}
    for obs in history.observations:
        key = (obs.source, format_build(obs.build))
        if key not in seen:
            seen[key] = _source(obs)
    return list(seen.values())


def _info(mitigation: Mitigation) -> MitigationInfo:
    return MitigationInfo(
        kind=mitigation.kind,
        name=mitigation.name,
        covers=sorted(mitigation.covers),
        leaves=mitigation.leaves or None,
        since=mitigation.since,
        path=mitigation.path,
        effective=mitigation.effective,
        detail=mitigation.detail or None,
    )


def _when(obs: Observation) -> datetime:
    assert obs.time is not None
    return obs.time
