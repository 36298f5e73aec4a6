"""Database engines for the store: SQLite with WAL and immediate write locks, or PostgreSQL.

Many writers may share one store: several ``exhunt scan --store`` runs, fleet runs, a
dashboard reading. SQLite runs in WAL mode (readers never wait for the writer) and every write
transaction starts with ``BEGIN IMMEDIATE``, so two writers queue on the lock (for up to
:data:`BUSY_SECONDS`) instead of failing half-way when one of them tries to upgrade a read lock.
PostgreSQL needs nothing special: row locks and unique constraints do the work.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

BUSY_SECONDS = 120
"""How long an SQLite writer waits for another one before the store reports it locked."""
CONNECT_SECONDS = 10


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (from :func:`exhunt.store.url.store_url`), set up for the store."""
    if url.startswith("sqlite"):
        engine = create_engine(url)
        _sqlite_events(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_SECONDS})


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun explicitly below, not by the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        _wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("exhunt_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _wal(cursor: Any) -> None:
    """Switch a new database to WAL (the mode stays with the file).

    The switch needs the database to itself and SQLite does not wait for that (no busy
    timeout applies), so writers opening a new store together retry it for a while.
    """
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.01
    while str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction: committed on leaving, rolled back on an error."""
    with engine.connect() as connection:
        connection = connection.execution_options(exhunt_write=True)
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction (one consistent snapshot)."""
    with engine.connect() as connection, connection.begin():
        yield connection
