"""Content analysis of files: one read gives the three hashes and the YARA matches.

Which files are read comes from the file tree (the ``content`` field of ``fs.file`` records):
``scan`` files are hashed and matched, ``sniff`` files only when their first bytes hold
server-side script markers, ``hash`` files are hashed only. Every file has a size limit and a
YARA time limit; what they skip, what cannot be read and what changed while it was read are
reported, never fatal. The evidence is opened read-only.

The work is spread over processes when there is enough of it: each worker deserialises the
compiled rules once and reuses one yara-x scanner.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import yara_x

from exhunt.detect.yara import CompiledYara, YaraMatch, YaraScanner

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 << 20
"""Files larger than this (64 MiB) are neither hashed nor matched; the coverage lists them."""
DEFAULT_TIMEOUT = 30
"""Seconds YARA may spend on one file before it is listed as skipped."""
SNIFF_BYTES = 4096
PARALLEL_MIN_BYTES = 16 << 20
"""Below this much content a scan stays in one process."""
BATCH_MIN_BYTES = 4 << 20
_MARKERS = (b"<%", b"runat", b"<script", b"<?php", b"webhandler", b"webservice")
_MAGIC = (
    (b"MZ", "EXE"), (b"PK\x03\x04", "ZIP"), (b"GIF8", "GIF"), (b"\xff\xd8\xff", "JPG"),
    (b"\x89PNG", "PNG"), (b"%PDF", "PDF"), (b"Rar!", "RAR"), (b"7z\xbc\xaf", "7Z"),
    (b"\x7fELF", "ELF"), (b"MDMP", "MDMP"), (b"\xd0\xcf\x11\xe0", "OLE"), (b"BM", "BMP"),
)  # fmt: skip

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class ContentLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: int = DEFAULT_TIMEOUT


@dataclass(frozen=True, slots=True)
class ContentTask:
    """One file to read: where it is, how much to do, the YARA externals it is matched with."""

    rel: str
    real: str
    size: int
    mode: str
    """``scan``, ``sniff`` or ``hash``."""
    externals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ContentResult:
    """What reading one file gave."""

    rel: str
    hashes: tuple[tuple[str, str], ...] = ()
    """``(("sha256", ...), ("sha1", ...), ("md5", ...))`` when the file was read whole."""
    read_bytes: int = 0
    filetype: str = ""
    scanned: bool = False
    """Matched with YARA."""
    matches: tuple[YaraMatch, ...] = ()
    skipped: str | None = None
    """Why the content was not (fully) analysed: size or time limit."""
    error: str | None = None
    """Why the file could not be read."""
    changed: str | None = None
    """The file's size changed between listing and reading."""
    markers: bool = False
    """Its first bytes hold server-side script markers (``<%``, ``runat``...)."""


@dataclass(slots=True)
class ContentStats:
    files: int = 0
    scanned: int = 0
    hashed_bytes: int = 0
    skipped: list[str] = field(default_factory=list)
    """``<rel>: <reason>`` of every file not fully analysed."""


def filetype_of(head: bytes) -> str:
    """A LOKI-style file type from the first bytes (``EXE``, ``ZIP``, ``GIF``...), or ''."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return ""


def has_script_markers(head: bytes) -> bool:
    lowered = head.lower()
    return any(marker in lowered for marker in _MARKERS)


def analyse(task: ContentTask, scanner: YaraScanner | None, limits: ContentLimits) -> ContentResult:
    """Read one file once: hashes, file type and YARA matches, within the limits; never raises."""
    try:
        return _analyse(task, scanner, limits)
    except OSError as exc:
        return ContentResult(task.rel, error=f"could not read: {exc.strerror or exc}")
    except MemoryError:
        return ContentResult(task.rel, skipped="not enough memory to read it")


def _analyse(
    task: ContentTask, scanner: YaraScanner | None, limits: ContentLimits
) -> ContentResult:
    with open(task.real, "rb") as fh:
        if task.mode == "sniff":
            head = fh.read(SNIFF_BYTES)
            if not has_script_markers(head):
                return ContentResult(task.rel, read_bytes=len(head), filetype=filetype_of(head))
            fh.seek(0)
        if task.size > limits.max_bytes:
            return ContentResult(task.rel, skipped=_too_large(task.size, limits))
        data = fh.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        return ContentResult(task.rel, skipped=f"grew past {limits.max_bytes:,} bytes while read")
    changed = None
    if len(data) != task.size:
        changed = f"size changed while scanned (listed {task.size:,} bytes, read {len(data):,})"
    hashes = tuple(
        (name, hashlib.new(name, data).hexdigest()) for name in ("sha256", "sha1", "md5")
    )
    filetype = filetype_of(data[:16])
    markers = has_script_markers(data[:SNIFF_BYTES])
    result = ContentResult(task.rel, hashes, len(data), filetype, changed=changed, markers=markers)
    if task.mode == "hash" or scanner is None:
        return result
    externals = dict(task.externals, filetype=filetype)
    try:
        matches = scanner.scan(data, externals)
    except yara_x.TimeoutError:
        return _replace(result, skipped=f"YARA time limit ({limits.timeout} s) reached")
    except yara_x.ScanError as exc:
        return _replace(result, skipped=f"YARA scan failed: {exc}")
    return _replace(result, scanned=True, matches=tuple(matches))


def _replace(result: ContentResult, **changes: object) -> ContentResult:
    from dataclasses import replace

    return replace(result, **changes)  # type: ignore[arg-type]


def _too_large(size: int, limits: ContentLimits) -> str:
    return (
        f"larger than the {limits.max_bytes:,}-byte limit ({size:,} bytes): not hashed or matched"
    )


@dataclass(slots=True)
class Submitted:
    """A batch of files handed to :meth:`ContentReader.submit`, until it is collected."""

    done: list[ContentResult] = field(default_factory=list)
    pending: list[tuple[Future[list[ContentResult]], list[ContentTask]]] = field(
        default_factory=list
    )


class ContentReader:
    """Reads batches of files, in worker processes when there is enough to do.

    Use as a context manager: the worker pool, once started, serves every batch of a scan.
    """

    def __init__(
        self,
        yara: CompiledYara | None,
        limits: ContentLimits = ContentLimits(),
        jobs: int | None = None,
        progress: Progress | None = None,
        expected_bytes: int = 0,
    ) -> None:
        self.yara = yara
        self.limits = limits
        self.workers = jobs or os.cpu_count() or 1
        self.progress = progress
        self.stats = ContentStats()
        self._pool: Executor | None = None
        self._scanner = YaraScanner(yara, limits.timeout) if yara is not None else None
        self._done = 0
        self._submitted = expected_bytes
        """Bytes known to be coming (a hint) plus bytes submitted: decides on the workers."""

    def __enter__(self) -> ContentReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def read(self, tasks: Sequence[ContentTask]) -> dict[str, ContentResult]:
        """Analyse ``tasks``; the results by evidence path."""
        return self.collect(self.submit(tasks))

    def submit(self, tasks: Sequence[ContentTask]) -> Submitted:
        """Start analysing ``tasks``: in the workers once there is enough to share out, at once
        in this process otherwise. :meth:`collect` gives the results; submitting the next batch
        first lets this process work on one batch's results while the workers read the next."""
        size = sum(min(t.size, self.limits.max_bytes) for t in tasks if t.mode != "sniff")
        self._submitted += size
        parallel = self._pool is not None or self._submitted >= PARALLEL_MIN_BYTES
        if self.workers <= 1 or not parallel or len(tasks) < 2:
            return Submitted(done=list(self._serial(tasks)))
        pool = self._start_pool()
        target = max(size // (self.workers * 4), BATCH_MIN_BYTES)
        return Submitted(
            pending=[(pool.submit(_worker_batch, b), b) for b in _batches(tasks, target)]
        )

    def collect(self, submitted: Submitted) -> dict[str, ContentResult]:
        results = list(submitted.done)
        for future, batch in submitted.pending:
            try:
                results.extend(future.result())
            except Exception as exc:  # a worker died: its files are reported, the rest go on
                log.debug("content worker failed", exc_info=True)
                results.extend(ContentResult(t.rel, error=f"worker failed: {exc}") for t in batch)
            self._report(sum(task.size for task in batch))
        for result in results:
            self._count(result)
        return {result.rel: result for result in results}

    def _serial(self, tasks: Sequence[ContentTask]) -> Iterator[ContentResult]:
        for task in tasks:
            yield analyse(task, self._scanner, self.limits)
            self._report(task.size)

    def _start_pool(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                initializer=_worker_init,
                initargs=(self.yara, self.limits),
            )
        return self._pool

    def _report(self, size: int) -> None:
        self._done += size
        if self.progress:
            self.progress("files", self._done, self._done)

    def _count(self, result: ContentResult) -> None:
        self.stats.files += 1
        self.stats.scanned += result.scanned
        self.stats.hashed_bytes += result.read_bytes if result.hashes else 0
        for note in (result.skipped, result.changed):
            if note:
                self.stats.skipped.append(f"{result.rel}: {note}")


def _batches(tasks: Sequence[ContentTask], target: int) -> list[list[ContentTask]]:
    batches: list[list[ContentTask]] = []
    current: list[ContentTask] = []
    size = 0
    for task in sorted(tasks, key=lambda t: -t.size):
        current.append(task)
        size += task.size if task.mode != "sniff" else SNIFF_BYTES
        if size >= target:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


_WORKER: dict[str, object] = {}


def _worker_init(yara: CompiledYara | None, limits: ContentLimits) -> None:
    _WORKER["scanner"] = YaraScanner(yara, limits.timeout) if yara is not None else None
    _WORKER["limits"] = limits


def _worker_batch(batch: Sequence[ContentTask]) -> list[ContentResult]:
    scanner = _WORKER.get("scanner")
    limits = _WORKER.get("limits")
    assert isinstance(limits, ContentLimits)
    assert scanner is None or isinstance(scanner, YaraScanner)
    return [analyse(task, scanner, limits) for task in batch]
