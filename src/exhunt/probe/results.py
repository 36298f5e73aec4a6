"""What a probe found out about one host: frozen values, no behaviour beyond small helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from exhunt.probe.targets import Target

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
MAX_TEXT = 300


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Server-supplied ``text`` made safe to show: one line, no control characters, bounded."""
    shown = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class ErrorKind(StrEnum):
    """Why a host (or one request) gave no usable answer."""

    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    TIMEOUT = "timeout"
    UNREADABLE = "unreadable"
    REDIRECT = "redirect"
    NOT_EXCHANGE = "not-exchange"
    NO_VERSION = "no-version"
    INTERNAL = "internal"


class Status(StrEnum):
    """The verdict on one host."""

    EXPOSED = "exposed"
    """The build lacks the fix of at least one CVE."""
    NOT_EXPOSED = "not-exposed"
    """The build has the fix of every CVE the builds table knows."""
    UNKNOWN = "unknown"
    """A build was read, but the exposure cannot be told (CU level only, or an unknown build)."""
    ERROR = "error"
    """No build could be read."""


@dataclass(frozen=True, slots=True)
class ProbeError:
    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request sent and what came back."""

    url: str
    status: int | None
    error: ProbeError | None
    body_bytes: int
    attempts: int
    seconds: float
    method: str = "GET"


class Source(StrEnum):
    """Where a version was read."""

    HEADER = "x-owa-version"
    """The ``X-OWA-Version`` response header: the full build."""
    OWA_PATH = "owa-path"
    """The version in the OWA page's resource paths (``/owa/auth/15.1.2176/...``)."""
    EXPORTTOOL = "exporttool"
    """The ``assemblyIdentity`` version of the eDiscovery export tool manifest: the full build."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One version read from one answer."""

    source: Source
    url: str
    version: str
    build: tuple[int, int, int, int]
    full: bool
    """False when only ``major.minor.build`` was shown (the CU level)."""


@dataclass(frozen=True, slots=True)
class Exposure:
    """One CVE the build lacks the fix for, and the update that brings it."""

    cve: str
    family: str
    """``ProxyLogon``, ``ProxyShell``, ``ProxyNotShell``, ``OWASSRF`` or ``Exchange RCE``."""
    certain: bool
    """False when only the CU is known and one of its security updates fixes the CVE."""
    fix_build: str | None
    fix_name: str | None
    fix_cu: str | None
    fix_released: date | None


@dataclass(frozen=True, slots=True)
class Sign:
    """Something a harmless answer shows about mitigations or publishing."""

    id: str
    detail: str


@dataclass(frozen=True, slots=True)
class HostResult:
    """Everything the probe learnt about one host."""

    target: Target
    status: Status
    build: str | None = None
    full_build: bool = False
    build_source: Sighting | None = None
    product: str | None = None
    cu: str | None = None
    su: str | None = None
    """The newest security update of the CU at or below a full build (``Mar21SU``)."""
    exposures: tuple[Exposure, ...] = ()
    sightings: tuple[Sighting, ...] = ()
    signs: tuple[Sign, ...] = ()
    notes: tuple[str, ...] = ()
    requests: tuple[RequestRecord, ...] = ()
    error: ProbeError | None = None
    tls_verified: bool | None = None
    address: str | None = None
    seconds: float = 0.0

    @property
    def vulnerable_to(self) -> list[str]:
        return [e.cve for e in self.exposures if e.certain]

    @property
    def possibly_vulnerable_to(self) -> list[str]:
        return [e.cve for e in self.exposures if not e.certain]
