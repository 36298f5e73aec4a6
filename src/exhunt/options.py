"""Typed options of a scan, parsed once by a front end and passed to :func:`exhunt.scan.scan`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

DEFAULT_GAP_HOURS = 6.0


@dataclass(frozen=True, slots=True)
class ScanOptions:
    sigma_paths: tuple[Path, ...] = ()
    """Extra Sigma rule files or folders (``--sigma``)."""
    ioc_paths: tuple[Path, ...] = ()
    """Extra indicator CSV files or folders (``--iocs``)."""
    bundled_rules: bool = True
    skip_invalid_rules: bool = False
    since: datetime | None = None
    until: datetime | None = None
    jobs: int | None = None
    """Worker processes; None uses every core."""
    gap: timedelta = timedelta(hours=DEFAULT_GAP_HOURS)
    internal_networks: tuple[str, ...] = ()
    """Address ranges of the organisation besides the private ranges (CIDR)."""
    workdir: Path | None = None
    """Where archives are unpacked (a temporary folder by default)."""
    yara_paths: tuple[Path, ...] = ()
    """Third-party YARA rule files or folders (``--yara``)."""
    baseline_path: Path | None = None
    """A baseline of known-good servers' web files (``--baseline``)."""
    max_file_bytes: int = 64 << 20
    """Files larger than this are neither hashed nor matched with YARA (listed in coverage)."""
    file_timeout: int = 30
    """Seconds YARA may spend on one file (listed in coverage when reached)."""
    extra: dict[str, str] = field(default_factory=dict)

    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.internal_networks)
