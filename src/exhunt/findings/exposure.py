"""The server's Exchange build over time and the campaign CVEs it was exposed to.

Builds are observed in the logs (the version columns of HttpProxy and Rps rows, the
``#Version:`` line of Exchange log preambles) and on disk (OWA version folders, where old
versions linger, so only the highest counts). Exposure at collection time, the end of the
evidence's logs, decides the verdict (design.md section 3): a build is exposed to a CVE when it
lacks the fix and the fix had been released by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from exhunt.detect.builds import (
    CAMPAIGN_OF,
    PRODUCT_NAMES,
    Build,
    facts_for,
    format_build,
    parse_build,
    to_datetime,
)
from exhunt.document import BuildPeriod, BuildSource, ExchangeInfo, Exposure
from exhunt.model import Record


@dataclass(frozen=True, slots=True)
class Observation:
    build: Build
    time: datetime | None
    source: str
    path: str | None = None


class BuildHistory:
    """Which build ran when, from observations with times; disk folders fill in the rest."""

    def __init__(self, observations: Sequence[Observation]) -> None:
        self.observations = list(observations)
        self.timed = sorted((o for o in observations if o.time is not None), key=_when)
        self.untimed = [o for o in observations if o.time is None]

    def current(self) -> Observation | None:
        """The build at collection time: the latest logged one, else the highest on disk."""
        if self.timed:
            return self.timed[-1]
        if self.untimed:
            return max(self.untimed, key=lambda o: o.build)
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
        """Whether the build running when ``record`` was written lacked the fix for ``cve``."""
        build = self.at(record.time)
        return facts_for(build).lacks_fix(cve) if build else None


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
    if current is None:
        return info
    facts = facts_for(current.build)
    info.build = format_build(current.build)
    info.product = PRODUCT_NAMES.get(facts.product or "", None)
    info.cu = facts.cu.name if facts.cu else None
    for cve, campaign in CAMPAIGN_OF.items():
        exposure = _exposure(history, cve, campaign, collected, logs_start)
        if exposure is not None:
            info.exposure.append(exposure)
            if exposure.exposed_at_collection:
                info.vulnerable_to.append(cve)
    return info


def _exposure(
    history: BuildHistory,
    cve: str,
    campaign: str,
    collected: datetime | None,
    logs_start: datetime | None,
) -> Exposure | None:
    current = history.current()
    assert current is not None
    facts = facts_for(current.build)
    lacking_builds = {b for b in {o.build for o in history.timed} if facts_for(b).lacks_fix(cve)}
    lacking = [o for o in history.timed if o.build in lacking_builds]
    now_lacks = facts.lacks_fix(cve)
    if not lacking and not now_lacks:
        return None
    released = facts.fix_released(cve)
    fix = facts.first_fix(cve)
    released_at = to_datetime(released) if released else None
    at_collection = (
        bool(now_lacks)
        and released_at is not None
        and (collected is None or released_at <= collected)
    )
    first_seen = lacking[0].time if lacking else None
    return Exposure(
        cve=cve,
        campaign=campaign,
        fixed_by=format_build(fix.build) + f" ({fix.name})" if fix else None,
        fix_released=released_at,
        exposed_at_collection=at_collection,
        exposed_from=first_seen,
        exposed_until=None if now_lacks else (lacking[-1].time if lacking else None),
        before_logs=bool(lacking) and logs_start is not None and lacking[0] is history.timed[0],
    )


def _sources(history: BuildHistory) -> list[BuildSource]:
    seen: dict[tuple[str, str], BuildSource] = {}
    for obs in history.observations:
        key = (obs.source, format_build(obs.build))
        if key not in seen:
            seen[key] = BuildSource(source=obs.source, build=key[1], path=obs.path, time=obs.time)
    return list(seen.values())


def _when(obs: Observation) -> datetime:
    assert obs.time is not None
    return obs.time
