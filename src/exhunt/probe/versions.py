"""Exchange versions in harmless answers: a header, the OWA page's paths, the export tool manifest.

* ``X-OWA-Version`` (any answer): the full build, ``15.1.2176.2``.
* The OWA logon page's resource paths, ``/owa/auth/15.1.2176/themes/...`` (2013 and later) or
  ``/owa/14.3.513.0/themes/...`` (2010): ``major.minor.build`` only, the CU level, from 2013 on.
* ``/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application``: a ClickOnce
  manifest whose first ``<assemblyIdentity version="...">`` is the full build.

Sources: ``righel/ms-exchange-version-nse`` (the three methods),
``stbuehler/exchange-version-check`` (the header on AutoDiscover.xml),
``microsoft/CSS-Exchange#107`` (a logon page).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from exhunt.detect.builds import parse_build
from exhunt.probe.fetch import Answer
from exhunt.probe.results import Sighting, Source, clean

HEADER = "x-owa-version"
_OWA_PATH = re.compile(rb"/owa/(?:auth/)?(\d{1,2}\.\d{1,2}\.\d{1,5}(?:\.\d{1,5})?)/", re.IGNORECASE)
_ASSEMBLY = re.compile(rb"<(?:[\w.-]{1,40}:)?assemblyIdentity\b([^<>]{0,4000})", re.IGNORECASE)
_VERSION = re.compile(rb"\bversion\s*=\s*[\"'](\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})[\"']")
_MARKER_HEADERS = (
    "x-owa-version",
    "x-feserver",
    "x-beserver",
    "x-calculatedbetarget",
    "x-owa-error",
)
_MARKER_BODY = (b"OwaPage", b"/owa/auth/", b"microsoft.exchange.ediscovery")


def header_sightings(answers: Iterable[Answer]) -> tuple[list[Sighting], list[str]]:
    """The ``X-OWA-Version`` of each answer, and notes on values that are no build."""
    sightings, notes = [], []
    for answer in answers:
        for value in answer.headers.get_list(HEADER):
            text = value.strip()
            build = parse_build(text) if len(text) < 40 else None
            if build is None:
                notes.append(f"unreadable {HEADER} '{clean(text, 60)}' from {clean(answer.url)}")
                continue
            sightings.append(Sighting(Source.HEADER, answer.url, text, build, True))
    return sightings, notes


def owa_path_sighting(answers: Iterable[Answer]) -> Sighting | None:
    """The version most often named in the resource paths of an OWA page answered with 200."""
    for answer in answers:
        if answer.status != 200:
            continue
        found = Counter(m.group(1).decode("ascii") for m in _OWA_PATH.finditer(answer.body))
        if not found:
            continue
        text = found.most_common(1)[0][0]
        build = parse_build(text)
        if build is not None:
            return Sighting(Source.OWA_PATH, answer.url, text, build, text.count(".") == 3)
    return None


def exporttool_sighting(answers: Iterable[Answer]) -> Sighting | None:
    """The version of the export tool manifest's first ``assemblyIdentity``."""
    for answer in answers:
        if answer.status != 200:
            continue
        element = _ASSEMBLY.search(answer.body)
        version = _VERSION.search(element.group(1)) if element else None
        if version is None:
            continue
        text = version.group(1).decode("ascii")
        build = parse_build(text)
        if build is not None:
            return Sighting(Source.EXPORTTOOL, answer.url, text, build, True)
    return None


def looks_like_exchange(answers: Iterable[Answer]) -> bool:
    """True when an answer carries a header or a page marker that only Exchange sends."""
    for answer in answers:
        if any(name in answer.headers for name in _MARKER_HEADERS):
            return True
        if answer.status == 200 and any(marker in answer.body for marker in _MARKER_BODY):
            return True
    return False
