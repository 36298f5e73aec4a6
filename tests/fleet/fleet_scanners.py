"""Scanners for the fleet tests: the real scan, except on servers named to fail.

Workers import this module by name, so it must stay importable from ``tests/fleet``.
"""

from __future__ import annotations

import os

from exhunt.document import ScanDocument
from exhunt.fleet import JobSpec, scan_evidence
from exhunt.options import ScanOptions

RAISES = "RAISES"
"""A host whose scan hits a bug: an exception nobody expected."""
DIES = "DIES"
"""A host whose scan kills its worker process (as a crash in native code would)."""


def scan_or_crash(job: JobSpec, options: ScanOptions) -> ScanDocument:
    if job.host == RAISES:
        raise RuntimeError("parser bug on this server")
    if job.host == DIES:
        os._exit(70)
    return scan_evidence(job, options)
