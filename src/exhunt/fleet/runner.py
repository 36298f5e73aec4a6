"""Running a manifest's servers into the store, exactly once, resumable at any moment.

Every manifest row is registered as a job in the store first. Jobs already done are skipped;
the others go to a pool, a bounded number at a time. A finished scan is stored and its job
marked done in one transaction; the scan is unique per (organisation, host, evidence hash). So
a run killed at any moment loses at most the scans in flight (their jobs stay pending and run
next time) and never stores one twice, even when two runs overlap.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from exhunt.exceptions import RuleError, StoreError
from exhunt.fleet.job import JobSpec, Outcome, Scanner
from exhunt.fleet.manifest import BadRow, Manifest, ManifestRow
from exhunt.fleet.pools import LocalPool, Pool
from exhunt.options import ScanOptions
from exhunt.store import DONE, FAILED, Job, NewJob, Store

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class FleetOptions:
    workers: int | None = None
    """Local worker processes (default: every core)."""
    dask: str | None = None
    """Dask scheduler address (``tcp://host:8786``) to run the jobs there instead."""
    ship: bool = False
    """Send archive and file evidence to the Dask workers instead of a shared path."""
    retry_failed: bool = False
    rescan: bool = False
    """Run every job again, done or failed (unchanged evidence is still stored once)."""
    scan: ScanOptions = field(default_factory=ScanOptions)
    log_level: int = logging.ERROR
    """Log level inside local workers."""


@dataclass(frozen=True, slots=True)
class FleetProgress:
    total: int
    """Jobs to run in this run."""
    done: int
    failed: int


@dataclass(frozen=True, slots=True)
class JobFailure:
    line: int | None
    organisation: str
    host: str
    evidence: str
    error: str
    earlier: bool = False
    """Failed in an earlier run and not retried now (``--retry-failed`` retries it)."""


@dataclass(frozen=True, slots=True)
class FleetReport:
    rows: int
    bad_rows: tuple[BadRow, ...]
    skipped: int
    """Jobs done in an earlier run."""
    stored: int
    unchanged: int
    """Scanned, but this host's same evidence was already stored: nothing written."""
    failures: tuple[JobFailure, ...]
    verdicts: Mapping[str, int]
    seconds: float
    workers: int

    @property
    def ran(self) -> int:
        return self.stored + self.unchanged + sum(1 for f in self.failures if not f.earlier)

    @property
    def rate(self) -> float:
        """Servers per second in this run."""
        return self.ran / self.seconds if self.seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        return not self.bad_rows and not self.failures


Progress = Callable[[FleetProgress], None]


@dataclass
class _Tally:
    total: int
    stored: int = 0
    unchanged: int = 0
    failures: list[JobFailure] = field(default_factory=list)
    verdicts: Counter[str] = field(default_factory=Counter)

    @property
    def progress(self) -> FleetProgress:
        failed = sum(1 for f in self.failures if not f.earlier)
        return FleetProgress(self.total, self.stored + self.unchanged + failed, failed)


def run_fleet(
    manifest: Manifest,
    store: Store,
    options: FleetOptions | None = None,
    progress: Progress | None = None,
    scanner: Scanner | None = None,
) -> FleetReport:
    """Scan every server of ``manifest`` not yet in ``store`` and store the results.

    Raises:
        RuleError: the rules in ``options.scan`` are invalid; the run stops at the first job
            that says so and leaves every unfinished job pending.
        StoreError: the store fails (a job's results could not be kept).
        FleetError: the Dask scheduler cannot be reached or its workers cannot run exhunt.
    """
    options = options or FleetOptions()
    clock = time.perf_counter()
    store.register_jobs([_new_job(row) for row in manifest.rows])
    jobs = {job.key: job for job in store.jobs()}
    todo, skipped, earlier = _plan(manifest.rows, jobs, options)
    tally = _Tally(len(todo), failures=earlier)
    workers = 0
    if todo:
        pool = _pool(options, scanner, len(todo))
        workers = pool.workers
        _drive(pool, todo, store, tally, progress)
    return FleetReport(
        rows=len(manifest.rows) + len(manifest.bad),
        bad_rows=manifest.bad,
        skipped=skipped,
        stored=tally.stored,
        unchanged=tally.unchanged,
        failures=tuple(tally.failures),
        verdicts=dict(tally.verdicts),
        seconds=time.perf_counter() - clock,
        workers=workers,
    )


def _new_job(row: ManifestRow) -> NewJob:
    return NewJob(row.organisation, row.host, row.evidence, row.line, row.labels)


def _plan(
    rows: Sequence[ManifestRow], jobs: Mapping[tuple[str, str, str], Job], options: FleetOptions
) -> tuple[list[JobSpec], int, list[JobFailure]]:
    todo: list[JobSpec] = []
    skipped = 0
    earlier: list[JobFailure] = []
    for row in rows:
        job = jobs[_new_job(row).key]
        if job.status == DONE and not options.rescan:
            skipped += 1
        elif job.status == FAILED and not (options.retry_failed or options.rescan):
            earlier.append(_failure(job, row.line, job.error or "failed", earlier=True))
        else:
            todo.append(JobSpec(job.id, row.line, job.organisation, job.host, job.evidence,
                                dict(row.labels)))  # fmt: skip
    return todo, skipped, earlier


def _failure(job: Job | JobSpec, line: int | None, error: str, earlier: bool) -> JobFailure:
    return JobFailure(line, job.organisation, job.host, job.evidence, error, earlier)


def _pool(options: FleetOptions, scanner: Scanner | None, jobs: int) -> Pool:
    scan_options = replace(options.scan, jobs=1)  # the fleet spreads servers, not files
    if options.dask:
        from exhunt.fleet.cluster import DaskPool

        return DaskPool(options.dask, scan_options, scanner, options.ship)
    workers = min(options.workers or os.cpu_count() or 1, jobs)
    return LocalPool(workers, scan_options, scanner, options.log_level)


def _drive(
    pool: Pool,
    todo: list[JobSpec],
    store: Store,
    tally: _Tally,
    progress: Progress | None,
) -> None:
    queue = deque(todo)
    cancel = True
    try:
        while queue or pool.busy:
            while queue and pool.busy < pool.capacity:
                pool.submit(queue.popleft())
            outcomes = pool.collect(POLL_SECONDS)
            if outcomes:
                _record(store, outcomes, tally)
                if progress:
                    progress(tally.progress)
        cancel = False
    finally:
        pool.close(cancel=cancel)


def _record(store: Store, outcomes: list[Outcome], tally: _Tally) -> None:
    """Store the scans and failures of finished jobs, one transaction for the lot."""
    invalid = next((o for o in outcomes if o.rules_invalid), None)
    if invalid is not None:
        raise RuleError(invalid.error or "invalid rules")
    done = [o for o in outcomes if o.prepared is not None]
    failed = [(o.job, o.error or "failed") for o in outcomes if o.prepared is None]
    results = store.save_many([(o.prepared, o.job.id) for o in done if o.prepared])
    for outcome, result in zip(done, results, strict=True):
        if isinstance(result, StoreError):
            # One document the database refuses fails its job; a store that is down fails
            # the next write too, and that ends the run.
            log.warning("line %s: could not store the result: %s", outcome.job.line, result)
            failed.append((outcome.job, f"StoreError: {result}"))
            continue
        tally.stored += result.created
        tally.unchanged += not result.created
        tally.verdicts[outcome.prepared.verdict] += 1  # type: ignore[union-attr]
    if failed:
        store.fail_jobs([(job.id, error) for job, error in failed])
        tally.failures += [_failure(job, job.line, error, earlier=False) for job, error in failed]
