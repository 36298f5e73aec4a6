"""Where fleet jobs run: a local process pool, or a Dask cluster (:mod:`exhunt.fleet.cluster`).

Both take jobs with :meth:`submit` and hand back :class:`~exhunt.fleet.job.Outcome` values with
:meth:`collect`. A job's own failure is already an outcome; what a pool adds is surviving a
worker that dies (a crash in native code, the kernel's out-of-memory killer). When the local
pool breaks, the jobs it held are suspects: each runs again alone in a one-process pool, and
only the one that kills that pool too is failed. The others finish normally.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from exhunt.fleet.job import JobSpec, Outcome, Scanner, init_worker, run_batch
from exhunt.options import ScanOptions

log = logging.getLogger(__name__)

IN_FLIGHT = 2
"""Batches handed to each local worker ahead: it never waits, and few are lost in a crash."""
TASK_SECONDS = 0.5
MAX_BATCH = 32
CRASHED = (
    "the worker process died while scanning this server (a crash in native code or the "
    "out-of-memory killer); the other servers went on"
)


class Pool(Protocol):
    workers: int

    def submit(self, job: JobSpec) -> None: ...

    def collect(self, timeout: float) -> list[Outcome]:
        """Outcomes of finished jobs, waiting up to ``timeout`` seconds for the first."""
        ...

    @property
    def busy(self) -> int:
        """Jobs submitted and not yet collected."""
        ...

    @property
    def capacity(self) -> int:
        """How many jobs to keep submitted, so no worker waits for its next one."""
        ...

    def close(self, cancel: bool = False) -> None: ...


class BatchSizer:
    """How many servers to send a worker at once: about :data:`TASK_SECONDS` of work.

    One task per small server would spend as much on messages and scheduling as on scanning;
    big servers still go one by one, so no worker idles at the end holding a long batch.
    """

    def __init__(self) -> None:
        self.batch = 1
        self._mean: float | None = None

    def learn(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            seconds = outcome.seconds
            self._mean = seconds if self._mean is None else 0.8 * self._mean + 0.2 * seconds
        if self._mean is not None:
            self.batch = max(1, min(MAX_BATCH, int(TASK_SECONDS / max(self._mean, 1e-3))))


@dataclass(frozen=True, slots=True)
class _Task:
    jobs: list[JobSpec]
    pool: ProcessPoolExecutor
    alone: bool


class LocalPool:
    """Jobs in worker processes on this machine (spawned: no state inherited by accident)."""

    def __init__(
        self, workers: int, options: ScanOptions, scanner: Scanner | None, log_level: int
    ) -> None:
        self.workers = workers
        self._options = options
        self._scanner = scanner
        self._init = (log_level,)
        self._main = self._new_pool(workers)
        self._solo: ProcessPoolExecutor | None = None
        self._tasks: dict[Future[list[Outcome]], _Task] = {}
        self._pending: list[JobSpec] = []
        self._suspects: deque[JobSpec] = deque()
        self._sizer = BatchSizer()

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=self._init,
        )

    @property
    def busy(self) -> int:
        held = sum(len(task.jobs) for task in self._tasks.values())
        return held + len(self._pending) + len(self._suspects)

    @property
    def capacity(self) -> int:
        return self.workers * IN_FLIGHT * self._sizer.batch

    def submit(self, job: JobSpec) -> None:
        self._pending.append(job)
        if len(self._pending) >= self._sizer.batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._start(self._pending, self._main, alone=False)
            self._pending = []

    def _start(self, jobs: list[JobSpec], pool: ProcessPoolExecutor, alone: bool) -> None:
        future = pool.submit(run_batch, jobs, self._options, self._scanner)
        self._tasks[future] = _Task(jobs, pool, alone)

    def collect(self, timeout: float) -> list[Outcome]:
        self._flush()
        self._run_next_suspect()
        done, _ = wait(self._tasks, timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in done:
            task = self._tasks.pop(future)
            outcomes += self._outcomes(future, task)
        self._sizer.learn(outcomes)
        self._run_next_suspect()
        return outcomes

    def _outcomes(self, future: Future[list[Outcome]], task: _Task) -> list[Outcome]:
        try:
            return future.result()
        except BrokenProcessPool:
            return self._broken(task)
        except Exception as exc:  # the outcomes could not come back (e.g. not picklable)
            error = f"unexpected error: {type(exc).__name__}: {exc}"
            return [Outcome(job, None, error) for job in task.jobs]

    def _broken(self, task: _Task) -> list[Outcome]:
        if task.alone:
            job = task.jobs[0]
            log.warning("job %s (line %s) killed its worker", job.id, job.line)
            self._replace_solo(task.pool)
            return [Outcome(job, None, CRASHED)]
        if task.pool is self._main:
            log.warning("a worker process died; restarting the pool, rerunning its jobs alone")
            self._main.shutdown(wait=False, cancel_futures=True)
            self._main = self._new_pool(self.workers)
        self._suspects.extend(task.jobs)
        return []

    def _replace_solo(self, pool: ProcessPoolExecutor) -> None:
        pool.shutdown(wait=False, cancel_futures=True)
        if self._solo is pool:
            self._solo = None

    def _run_next_suspect(self) -> None:
        """One suspect at a time runs alone, so a crash there names its job."""
        if not self._suspects or any(t.alone for t in self._tasks.values()):
            return
        if self._solo is None:
            self._solo = self._new_pool(1)
        self._start([self._suspects.popleft()], self._solo, alone=True)

    def close(self, cancel: bool = False) -> None:
        """Stop the workers: after their jobs, or at once when cancelling (an interrupted
        run: the jobs they held are still pending in the store and run next time)."""
        for pool in (self._main, self._solo):
            if pool is None:
                continue
            if cancel:
                _terminate(pool)
            pool.shutdown(wait=not cancel, cancel_futures=cancel)


def _terminate(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop a running job (Python 3.14 adds one); without it
    # an interrupted run would wait for every scan in progress.
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()
