"""Probe one host: three GETs, the versions they show, and one result with its reasons."""

from __future__ import annotations

import http.cookiejar
import logging
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from exhunt.probe.exposure import assess, choose, conflicts, su_name
from exhunt.probe.fetch import Fetched, Fetcher
from exhunt.probe.options import ProbeOptions
from exhunt.probe.results import ErrorKind, HostResult, ProbeError, Sighting, Status, clean
from exhunt.probe.signs import AUTODISCOVER, EXPORTTOOL, OWA, PATHS, signs_of
from exhunt.probe.targets import Target
from exhunt.probe.versions import (
    exporttool_sighting,
    header_sightings,
    looks_like_exchange,
    owa_path_sighting,
)

log = logging.getLogger(__name__)

_NAMES = {OWA: "OWA", EXPORTTOOL: "export tool", AUTODISCOVER: "AutoDiscover.xml"}
_UNREACHABLE = {ErrorKind.DNS, ErrorKind.TCP, ErrorKind.TLS, ErrorKind.TIMEOUT, ErrorKind.REDIRECT}


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: the probe never sends a cookie back."""

    def extract_cookies(self, response: Any, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


async def probe_host(target: Target, options: ProbeOptions, context: ssl.SSLContext) -> HostResult:
    """What ``target`` shows of its Exchange build; never raises for what the host does."""
    started = time.monotonic()
    try:
        async with _client(options, context) as client:
            fetcher = Fetcher(client, target, options, started + options.deadline)
            steps = await _steps(fetcher)
        return result_of(target, steps, options, _since(started))
    except Exception as exc:  # a bug must not cost the other hosts their results
        message = f"{type(exc).__name__}: {clean(str(exc))}"
        log.warning("probe of %s failed: %s", target.text, message)
        log.debug("probe of %s failed", target.text, exc_info=True)
        error = ProbeError(ErrorKind.INTERNAL, message)
        return HostResult(target, Status.ERROR, error=error, seconds=_since(started))


def _client(options: ProbeOptions, context: ssl.SSLContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=context,
        timeout=options.timeout,
        follow_redirects=False,
        trust_env=False,  # no proxy or CA bundle from the environment: what is sent is documented
        headers={
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "User-Agent": options.user_agent,
        },
        cookies=NoCookies(),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


async def _steps(fetcher: Fetcher) -> dict[str, Fetched]:
    steps: dict[str, Fetched] = {}
    for path in PATHS:
        fetched = await fetcher.get(path)
        steps[path] = fetched
        if not fetched.reached or fetcher.remaining() <= 0:
            break  # DNS, TCP or TLS failed, or no time left: the other paths would fail alike
    return steps


def result_of(
    target: Target, steps: Mapping[str, Fetched], options: ProbeOptions, seconds: float
) -> HostResult:
    """The :class:`HostResult` of the answers in ``steps``."""
    sightings, notes = _sightings(steps)
    chosen = choose(sightings)
    answers = [a for f in steps.values() for a in f.answers]
    exchange = chosen is not None or looks_like_exchange(answers)
    base = HostResult(
        target,
        Status.ERROR,
        sightings=tuple(sightings),
        signs=tuple(signs_of(steps)) if exchange else (),
        requests=tuple(r for f in steps.values() for r in f.records),
        tls_verified=options.verify_tls if _used_tls(target, steps) else None,
        address=next((f.address for f in steps.values() if f.address), None),
        seconds=seconds,
    )
    notes += _tls_notes(_used_tls(target, steps), options)
    if chosen is None:
        return replace(base, notes=tuple(notes), error=_error(steps, exchange))
    found = assess(chosen, options.cves)
    return replace(
        base,
        status=found.status,
        build=chosen.version,
        full_build=chosen.full,
        build_source=chosen,
        product=found.product,
        cu=found.cu,
        su=su_name(chosen),
        exposures=found.exposures,
        notes=(*conflicts(sightings, chosen), *found.notes, *notes),
    )


def _sightings(steps: Mapping[str, Fetched]) -> tuple[list[Sighting], list[str]]:
    """Every version shown, in the order of the requests, and notes on unreadable ones."""
    sightings: list[Sighting] = []
    notes: list[str] = []
    for path, fetched in steps.items():
        found, bad = header_sightings(fetched.answers)
        sightings += found
        notes += bad
        extra = owa_path_sighting(fetched.answers) if path == OWA else None
        if path == EXPORTTOOL:
            extra = exporttool_sighting(fetched.answers)
        if extra is not None:
            sightings.append(extra)
    return sightings, notes


def _error(steps: Mapping[str, Fetched], exchange: bool) -> ProbeError:
    """Why no build was found: the most telling failure."""
    owa = steps.get(OWA)
    if owa is not None and owa.error is not None and owa.error.kind in _UNREACHABLE:
        return owa.error
    if exchange:
        message = "Exchange answered, but none of its answers shows a version"
        return ProbeError(ErrorKind.NO_VERSION, message)
    for fetched in steps.values():
        if fetched.error is not None:
            return fetched.error
    statuses = ", ".join(
        f"{_NAMES[path]} {f.answers[-1].status}" for path, f in steps.items() if f.answers
    )
    return ProbeError(ErrorKind.NOT_EXCHANGE, f"no answer looks like Exchange ({statuses})")


def _used_tls(target: Target, steps: Mapping[str, Fetched]) -> bool:
    """Whether any request went over HTTPS (an http:// target may redirect to https://)."""
    urls = [r.url for f in steps.values() for r in f.records]
    return target.scheme == "https" or any(u.startswith("https://") for u in urls)


def _tls_notes(tls: bool, options: ProbeOptions) -> list[str]:
    if tls and not options.verify_tls:
        return ["TLS certificate not verified (--insecure)"]
    return [] if tls else ["plain HTTP: no TLS"]


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
