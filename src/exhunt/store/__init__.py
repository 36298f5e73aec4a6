"""The result store: scan documents and the fleet's tables in SQLite or PostgreSQL.

Layer: beside ``report``, it imports only the result document and the foundation, so every
front end (the CLI, the fleet, the dashboard) can read and write it. See ``docs/fleet.md``.
"""

from __future__ import annotations

from exhunt.store.jobs import DONE, FAILED, PENDING, Job, NewJob
from exhunt.store.prepare import PreparedScan, evidence_key, prepare
from exhunt.store.queries import (
    EVERYTHING,
    PIVOT_KINDS,
    Count,
    ExposureCount,
    FleetSummary,
    Pivot,
    Scope,
    WebFile,
    WebFileManifest,
)
from exhunt.store.save import SaveResult
from exhunt.store.store import Store, StoredScan, open_store
from exhunt.store.url import redact, store_url

__all__ = [
    "DONE",
    "EVERYTHING",
    "FAILED",
    "PENDING",
    "PIVOT_KINDS",
    "Count",
    "ExposureCount",
    "FleetSummary",
    "Job",
    "NewJob",
    "Pivot",
    "PreparedScan",
    "SaveResult",
    "Scope",
    "Store",
    "StoredScan",
    "WebFile",
    "WebFileManifest",
    "evidence_key",
    "open_store",
    "prepare",
    "redact",
    "store_url",
]
