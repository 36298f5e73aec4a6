"""One fleet job, as a worker process runs it: scan one server, prepare its rows for the store.

Whatever happens inside a job comes back as an :class:`Outcome`, never as an exception: a bad
archive, missing evidence or a bug in a parser fails that server only. Preparing the store's
rows here (not in the process that writes them) keeps the single writer light.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from exhunt import __version__
from exhunt.document import ScanDocument
from exhunt.exceptions import ExhuntError, RuleError
from exhunt.options import ScanOptions
from exhunt.scan import scan
from exhunt.store.prepare import PreparedScan, prepare

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a worker needs to scan one server."""

    id: int
    line: int | None
    organisation: str
    host: str
    evidence: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    job: JobSpec
    prepared: PreparedScan | None
    error: str | None = None
    seconds: float = 0.0
    rules_invalid: bool = False
    """The scan refused its rules: every job would fail alike, so the run stops instead."""


Scanner = Callable[[JobSpec, ScanOptions], ScanDocument]
"""Turns a job into a result document; :func:`scan_evidence` unless a program supplies its own."""


def scan_evidence(job: JobSpec, options: ScanOptions) -> ScanDocument:
    """The standard scanner: :func:`exhunt.scan.scan` on the job's evidence path."""
    return scan([Path(job.evidence)], options)


def run_job(
    job: JobSpec,
    options: ScanOptions,
    scanner: Scanner | None = None,
    payload: bytes | None = None,
) -> Outcome:
    """Scan one server and prepare its rows; failures come back in the outcome.

    Args:
        job: the server.
        options: scan options (one process per server: ``jobs`` is 1).
        scanner: replaces :func:`scan_evidence`.
        payload: the evidence file's bytes when the coordinator shipped it.
    """
    started = time.perf_counter()
    try:
        document = _scan(job, options, scanner or scan_evidence, payload)
        prepared = prepare(document, job.organisation, job.host, job.labels)
        return Outcome(job, prepared, seconds=time.perf_counter() - started)
    except RuleError as exc:
        return Outcome(job, None, str(exc), time.perf_counter() - started, rules_invalid=True)
    except ExhuntError as exc:
        error = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug on one server must not stop the fleet
        log.debug("job %s failed\n%s", job.id, traceback.format_exc())
        error = f"unexpected error: {type(exc).__name__}: {exc}"
    return Outcome(job, None, error, time.perf_counter() - started)


def run_batch(
    jobs: Sequence[JobSpec],
    options: ScanOptions,
    scanner: Scanner | None = None,
    payloads: Sequence[bytes | None] | None = None,
) -> list[Outcome]:
    """:func:`run_job` for several small servers in one task: one message there and back
    instead of one per server, where the scheduling would cost as much as the scan."""
    shipped = payloads if payloads is not None else [None] * len(jobs)
    return [run_job(job, options, scanner, data) for job, data in zip(jobs, shipped, strict=True)]


def _scan(
    job: JobSpec, options: ScanOptions, scanner: Scanner, payload: bytes | None
) -> ScanDocument:
    if payload is None:
        return scanner(job, options)
    with tempfile.TemporaryDirectory(prefix="exhunt-shipped-", dir=options.workdir) as folder:
        local = Path(folder) / (Path(job.evidence).name or "evidence")
        local.write_bytes(payload)
        document = scanner(replace(job, evidence=str(local)), options)
    document.evidence.path = job.evidence  # the location the user knows, not our copy
    return document


def read_payload(job: JobSpec) -> bytes:
    """The evidence file's bytes, for shipping it to a worker that cannot reach its path.

    Raises:
        ExhuntError: the evidence is a folder (only files ship) or cannot be read.
    """
    from exhunt.exceptions import EvidenceNotFoundError, UnsupportedEvidenceError

    path = Path(job.evidence)
    if path.is_dir():
        raise UnsupportedEvidenceError(
            "only archives and single files can be shipped to workers; share folders on a "
            "path every worker reaches, or pack them as .zip or .tar",
            job.evidence,
        )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise EvidenceNotFoundError(f"evidence not found: {path}", job.evidence) from None


def init_worker(level: int) -> None:
    """Set up a local pool worker: its log level, and Ctrl-C left to the coordinator."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logger = logging.getLogger("exhunt")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(f"exhunt[{os.getpid()}]: %(levelname)s: %(message)s")
        )
        logger.addHandler(handler)
        logger.propagate = False


def worker_version() -> str:
    """The exhunt version a (Dask) worker runs, to compare with the coordinator's."""
    return __version__
