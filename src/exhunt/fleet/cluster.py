"""Fleet jobs on a Dask cluster: ``--dask tcp://scheduler:8786``.

The only module that imports ``dask.distributed`` (an optional dependency). Each worker runs
:func:`exhunt.fleet.job.run_job` and needs exhunt installed, the same version as here. The
evidence must be reachable from the workers: either on a path every worker sees (a shared
filesystem mounted at the same place), or shipped by this process when ``ship`` is set (archives
and single files only). A worker that dies is Dask's to handle: it reruns the task elsewhere, and
after repeated deaths the task fails with Dask's ``KilledWorker``. Small servers are sent in
batches sized to about half a second of work; a batch that fails runs again one job per task,
so only the server that kills its worker fails. Dask also blames the tasks that were waiting on
a worker when it died: a lone job whose worker died is run once more on its own, with nothing
else handed out meanwhile, before it counts as failed.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from exhunt import __version__
from exhunt.exceptions import ExhuntError, FleetError
from exhunt.fleet.job import JobSpec, Outcome, Scanner, read_payload, run_batch, worker_version
from exhunt.fleet.pools import BatchSizer
from exhunt.options import ScanOptions

log = logging.getLogger(__name__)

CONNECT_SECONDS = 30


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise FleetError(
            "--dask needs dask.distributed: pip install 'dask[distributed]' (or exhunt[dask])"
        ) from None
    return distributed


class DaskPool:
    """Jobs on the workers of a Dask scheduler (or of a :class:`distributed.LocalCluster`)."""

    def __init__(
        self, address: Any, options: ScanOptions, scanner: Scanner | None, ship: bool = False
    ) -> None:
        self._distributed = _distributed()
        self._options = options
        self._scanner = scanner
        self._ship = ship
        try:
            self._client = self._distributed.Client(address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise FleetError(f"cannot reach the Dask scheduler {address}: {exc}") from exc
        self.workers = int(max(1, sum(w["nthreads"] for w in self._workers().values())))
        self._check_versions()
        self._futures: dict[Any, list[JobSpec]] = {}
        self._pending: list[JobSpec] = []
        self._ready: list[Outcome] = []
        self._sizer = BatchSizer()
        self._solo: deque[JobSpec] = deque()
        """Lone jobs whose worker died, to run once more with nothing beside them."""
        self._solo_future: Any = None
        self._retried: set[int] = set()

    def _workers(self) -> dict[str, Any]:
        workers: dict[str, Any] = self._client.scheduler_info()["workers"]
        if not workers:
            try:
                self._client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise FleetError(
                    f"no Dask worker joined the scheduler within {CONNECT_SECONDS} s"
                ) from None
            workers = self._client.scheduler_info()["workers"]
        return workers

    def _check_versions(self) -> None:
        try:
            versions = self._client.run(worker_version)
        except Exception as exc:
            raise FleetError(
                f"the Dask workers cannot run exhunt ({type(exc).__name__}: {exc}): install "
                "exhunt on every worker"
            ) from exc
        others = {v for v in versions.values() if v != __version__}
        if others:
            log.warning(
                "Dask workers run exhunt %s, this is %s", ", ".join(sorted(others)), __version__
            )

    @property
    def busy(self) -> int:
        return (
            sum(len(jobs) for jobs in self._futures.values())
            + len(self._pending)
            + len(self._ready)
            + len(self._solo)
        )

    @property
    def capacity(self) -> int:
        """Jobs to hand over ahead: two batches per worker thread."""
        return self.workers * 2 * self._sizer.batch

    def submit(self, job: JobSpec) -> None:
        self._pending.append(job)
        if len(self._pending) >= self._sizer.batch:
            self._flush()

    def _flush(self) -> None:
        if self._solo or self._solo_future is not None:
            return  # a suspect runs alone: nothing else may die with its worker
        jobs, self._pending = self._pending, []
        payloads: list[Any] | None = [] if self._ship else None
        if payloads is not None:
            jobs = [job for job in jobs if self._ship_one(job, payloads)]
        if jobs:
            future = self._client.submit(
                run_batch, jobs, self._options, self._scanner, payloads, pure=False, retries=0
            )
            self._futures[future] = jobs

    def _ship_one(self, job: JobSpec, payloads: list[Any]) -> bool:
        try:
            payloads.append(self._client.scatter(read_payload(job), hash=False))
        except (ExhuntError, OSError) as exc:  # this job fails, the fleet goes on
            self._ready.append(Outcome(job, None, f"{type(exc).__name__}: {exc}"))
            return False
        return True

    def collect(self, timeout: float) -> list[Outcome]:
        self._run_solo()
        self._flush()
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        if not self._futures:
            return []
        try:
            done = self._distributed.wait(
                list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED"
            ).done
        except TimeoutError:
            return []
        return [outcome for future in done for outcome in self._outcomes(future)]

    def _run_solo(self) -> None:
        """Start the next lone rerun once nothing else is running."""
        if self._solo_future is not None or not self._solo or self._futures:
            return
        job = self._solo.popleft()
        self._solo_future = self._client.submit(
            run_batch, [job], self._options, self._scanner, None, pure=False, retries=0
        )
        self._futures[self._solo_future] = [job]

    def _outcomes(self, future: Any) -> list[Outcome]:
        jobs = self._futures.pop(future)
        if future is self._solo_future:
            self._solo_future = None
        try:
            outcomes: list[Outcome] = future.result()
        except Exception as exc:  # KilledWorker, a lost connection, ...
            self._check_connected()
            outcomes = self._failed(jobs, exc)
        finally:
            future.release()
        self._sizer.learn(outcomes)
        return outcomes

    def _check_connected(self) -> None:
        """Without the scheduler every job would fail: stop, leaving them pending."""
        if self._client.status != "running":
            raise FleetError(
                "lost the Dask scheduler; the unfinished jobs stay pending: run the same "
                "command again when it is back"
            )

    def _failed(self, jobs: list[JobSpec], exc: Exception) -> list[Outcome]:
        """A lone job fails with the error; a batch runs again one job per task to find it."""
        if len(jobs) == 1:
            job = jobs[0]
            if type(exc).__name__ == "KilledWorker" and job.id not in self._retried:
                self._retried.add(job.id)
                self._solo.append(job)
                return []
            return [Outcome(job, None, f"{type(exc).__name__}: {exc}")]
        log.warning("a batch of %d jobs failed (%s); running them one by one", len(jobs), exc)
        for job in jobs:
            self._futures[self._client.submit(run_batch, [job], self._options, self._scanner,
                                              None, pure=False, retries=0)] = [job]  # fmt: skip
        return []

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self._client.cancel(list(self._futures))
        self._client.close()
