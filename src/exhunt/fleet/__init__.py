"""The fleet: many servers' evidence scanned into one store, locally or on a Dask cluster.

A front end (like ``cli``): nothing imports it but the CLI. See ``docs/fleet.md``.
"""

from __future__ import annotations

from exhunt.fleet.job import JobSpec, Outcome, Scanner, run_job, scan_evidence
from exhunt.fleet.manifest import BadRow, Manifest, ManifestRow, load_manifest
from exhunt.fleet.runner import FleetOptions, FleetProgress, FleetReport, JobFailure, run_fleet

__all__ = [
    "BadRow",
    "FleetOptions",
    "FleetProgress",
    "FleetReport",
    "JobFailure",
    "JobSpec",
    "Manifest",
    "ManifestRow",
    "Outcome",
    "Scanner",
    "load_manifest",
    "run_fleet",
    "run_job",
    "scan_evidence",
]
