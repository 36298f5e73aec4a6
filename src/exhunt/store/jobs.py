"""The fleet's jobs: one per manifest row, kept in the store beside the results.

A job is known by (organisation, host, evidence location) and is ``pending`` until its scan is
stored (``done``, in the same transaction as the scan) or it failed (``failed``, with the
error). A run that is killed leaves its unfinished jobs pending; the next run picks them up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, select, update

from exhunt.store import schema
from exhunt.store.prepare import clean
from exhunt.store.save import upsert

PENDING = "pending"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewJob:
    """A manifest row to register."""

    organisation: str
    host: str
    evidence: str
    line: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (clean(self.organisation), clean(self.host), clean(self.evidence))


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    organisation: str
    host: str
    evidence: str
    line: int | None
    labels: Mapping[str, str]
    status: str
    attempts: int
    error: str | None
    scan_id: int | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.organisation, self.host, self.evidence)


def register_jobs(connection: Connection, jobs: Sequence[NewJob]) -> None:
    """Record new jobs; jobs already known (by their key) keep their state."""
    if not jobs:
        return
    now = datetime.now(UTC)
    rows = [_new_row(job, now) for job in jobs]
    statement = upsert(connection, schema.jobs).on_conflict_do_nothing(
        index_elements=["organisation", "host", "evidence"]
    )
    connection.execute(statement, rows)


def _new_row(job: NewJob, now: datetime) -> dict[str, object]:
    organisation, host, evidence = job.key
    return {
        "organisation": organisation,
        "host": host,
        "evidence": evidence,
        "line": job.line,
        "labels": json.dumps({clean(k): clean(v) for k, v in job.labels.items()}, sort_keys=True),
        "status": PENDING,
        "attempts": 0,
        "error": None,
        "scan_id": None,
        "updated_at": now,
    }


def load_jobs(
    connection: Connection, status: str | None = None, organisations: Iterable[str] | None = None
) -> list[Job]:
    """Jobs in manifest order, optionally of one status or of some organisations only."""
    jobs = schema.jobs
    query = select(jobs).order_by(jobs.c.line, jobs.c.id)
    if status is not None:
        query = query.where(jobs.c.status == status)
    if organisations is not None:
        query = query.where(jobs.c.organisation.in_(list(organisations)))
    return [_job(row._mapping) for row in connection.execute(query)]


def _job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        organisation=row["organisation"],
        host=row["host"],
        evidence=row["evidence"],
        line=row["line"],
        labels=json.loads(row["labels"]),
        status=row["status"],
        attempts=row["attempts"],
        error=row["error"],
        scan_id=row["scan_id"],
    )


def finish_job(connection: Connection, job_id: int, scan_id: int) -> None:
    """Mark a job done with the scan it stored (or found stored)."""
    _set(connection, job_id, status=DONE, scan_id=scan_id, error=None)


def fail_job(connection: Connection, job_id: int, error: str) -> None:
    """Mark a job failed with its error; ``--retry-failed`` runs it again."""
    _set(connection, job_id, status=FAILED, error=clean(error))


def _set(connection: Connection, job_id: int, **values: object) -> None:
    jobs = schema.jobs
    connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(attempts=jobs.c.attempts + 1, updated_at=datetime.now(UTC), **values)
    )
