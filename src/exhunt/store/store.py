"""The result store: every scan's document and the tables the fleet's questions need.

``open_store("fleet.db")`` (SQLite, created if missing) or
``open_store("postgresql://user@host/db")`` returns a :class:`Store`, migrated to the current
schema. Database errors come out as :class:`~exhunt.exceptions.StoreError` naming the store
(without its password).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from exhunt.document import ScanDocument
from exhunt.exceptions import StoreError
from exhunt.store import jobs as jobstore
from exhunt.store import queries, schema
from exhunt.store.engine import make_engine, reading, writing
from exhunt.store.migrations import migrate
from exhunt.store.prepare import ENCODING, PreparedScan, load_document, prepare
from exhunt.store.save import SaveResult, save_prepared
from exhunt.store.url import redact, store_url

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredScan:
    """One stored scan as listed by :meth:`Store.scans`."""

    id: int
    organisation: str
    host: str
    verdict: str
    build: str | None
    evidence_sha256: str
    evidence_path: str
    finding_count: int
    first_malicious: datetime | None
    stored_at: datetime


def open_store(target: str | os.PathLike[str], create: bool = True) -> Store:
    """Open (and create or migrate) the store at a file path or database URL.

    Args:
        target: an SQLite file path, or a database URL.
        create: make a new SQLite file if there is none (readers say False: a mistyped path
            should not show an empty fleet).

    Raises:
        StoreError: the database cannot be reached, or was written by a newer exhunt, or
            (``create`` False) there is no SQLite file at ``target``.
    """
    url = store_url(target)
    if not create and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise StoreError(f"no store at {os.fspath(target)}")
    return Store(url)


class Store:
    """A store of scan results; open one per process (a fleet's workers never write to it)."""

    def __init__(self, url: str) -> None:
        self.url = redact(url)
        try:
            self._engine = make_engine(url)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc
        self.version = self._guard(lambda: migrate(self._engine))

    # -- writing ------------------------------------------------------------------------------

    def save(
        self,
        document: ScanDocument,
        organisation: str,
        host: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> SaveResult:
        """Store one document under ``organisation`` (and ``host``, default: the evidence's)."""
        return self.save_prepared(prepare(document, organisation, host, labels))

    def save_prepared(self, prepared: PreparedScan, job_id: int | None = None) -> SaveResult:
        """Store a prepared scan and, in the same transaction, mark its fleet job done."""
        return self._write(lambda c: _save(c, prepared, job_id))

    def save_many(
        self, items: Sequence[tuple[PreparedScan, int | None]]
    ) -> list[SaveResult | StoreError]:
        """Store several scans (each with its job) in one transaction; if that fails, each in
        its own, so one document the database refuses fails alone (its error is returned)."""
        try:
            return list(self._write(lambda c: [_save(c, p, job) for p, job in items]))
        except StoreError as exc:
            if len(items) == 1:
                return [exc]
        results: list[SaveResult | StoreError] = []
        for prepared, job_id in items:
            try:
                results.append(self.save_prepared(prepared, job_id))
            except StoreError as exc:
                results.append(exc)
        return results

    def register_jobs(self, jobs: Sequence[jobstore.NewJob]) -> None:
        self._write(lambda c: jobstore.register_jobs(c, jobs))

    def fail_jobs(self, failures: Sequence[tuple[int, str]]) -> None:
        """Mark jobs failed with their errors, in one transaction."""

        def work(connection: Connection) -> None:
            for job_id, error in failures:
                jobstore.fail_job(connection, job_id, error)

        self._write(work)

    # -- reading ------------------------------------------------------------------------------

    def jobs(
        self, status: str | None = None, scope: queries.Scope = queries.EVERYTHING
    ) -> list[jobstore.Job]:
        return self._read(lambda c: jobstore.load_jobs(c, status, scope.organisations))

    def summary(self, scope: queries.Scope = queries.EVERYTHING) -> queries.FleetSummary:
        return self._read(lambda c: queries.summary(c, scope))

    def pivot(
        self,
        scope: queries.Scope = queries.EVERYTHING,
        kinds: Iterable[str] = queries.PIVOT_KINDS,
        min_organisations: int = 2,
    ) -> list[queries.Pivot]:
        return self._read(lambda c: queries.pivot(c, scope, kinds, queries.MALICIOUS,
                                                  min_organisations))  # fmt: skip

    def web_file_manifests(
        self, build: str, scope: queries.Scope = queries.EVERYTHING
    ) -> list[queries.WebFileManifest]:
        """The hashed files of every stored server of ``build``: a peer baseline's input."""
        return self._read(lambda c: list(queries.web_file_manifests(c, build, scope)))

    def scans(self, scope: queries.Scope = queries.EVERYTHING) -> list[StoredScan]:
        """Every stored scan, oldest first."""
        return self._read(lambda c: list(_scans(c, scope)))

    def document(self, scan_id: int) -> ScanDocument:
        """The stored result document of a scan, as it was saved.

        Raises:
            StoreError: no such scan.
        """
        d = schema.documents
        query = select(d.c.encoding, d.c.body).where(d.c.scan_id == scan_id)
        row = self._read(lambda c: c.execute(query).first())
        if row is None:
            raise StoreError(f"store {self.url}: no scan {scan_id}")
        if row.encoding != ENCODING:
            raise StoreError(f"store {self.url}: scan {scan_id} has encoding {row.encoding!r}")
        return load_document(zlib.decompress(row.body))

    # -- plumbing -----------------------------------------------------------------------------

    def _read(self, work: Callable[..., T]) -> T:
        def run() -> T:
            with reading(self._engine) as connection:
                return work(connection)

        return self._guard(run)

    def _write(self, work: Callable[..., T]) -> T:
        def run() -> T:
            with writing(self._engine) as connection:
                return work(connection)

        return self._guard(run)

    def _guard(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except SQLAlchemyError as exc:
            log.debug("store error", exc_info=True)
            raise StoreError(f"store {self.url}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _save(connection: Connection, prepared: PreparedScan, job_id: int | None) -> SaveResult:
    result = save_prepared(connection, prepared)
    if job_id is not None:
        jobstore.finish_job(connection, job_id, result.scan_id)
    return result


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]


def _scans(connection: Connection, scope: queries.Scope) -> Iterator[StoredScan]:
    s, h, o = schema.scans, schema.hosts, schema.organisations
    query = (
        select(s.c.id, o.c.name, h.c.name, s.c.verdict, s.c.build, s.c.evidence_sha256,
               s.c.evidence_path, s.c.finding_count, s.c.first_malicious, s.c.stored_at)
        .select_from(s.join(h).join(o))
        .order_by(s.c.id)
    )  # fmt: skip
    if scope.organisations is not None:
        query = query.where(o.c.name.in_(sorted(scope.organisations)))
    for row in connection.execute(query):
        yield StoredScan(*row)  # type: ignore[call-arg]
