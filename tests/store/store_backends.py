"""Real databases for the store tests: an SQLite file, and PostgreSQL when one is reachable.

PostgreSQL comes from ``EXHUNT_TEST_POSTGRES`` (what ``.ci/postgres`` prints) or the address
``.ci/postgres`` uses by default. Each test gets its own schema, dropped afterwards. Without a
server the PostgreSQL tests skip, saying how to start one; with CI=true they fail instead.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgresql://exhunt@127.0.0.1:55432/exhunt_test"
BACKENDS = ("sqlite", "postgresql")


def use_bench_writer() -> None:
    """Make ``bench/fleetdata.py`` (the small-server writer) importable."""
    bench = str(ROOT / "bench")
    if bench not in sys.path:
        sys.path.insert(0, bench)


@cache
def postgres_url() -> str | None:
    """The test server's URL if it answers, else None."""
    import sqlalchemy

    url = os.environ.get("EXHUNT_TEST_POSTGRES") or DEFAULT_POSTGRES
    engine = sqlalchemy.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect():
            return url
    except Exception:
        return None
    finally:
        engine.dispose()


def require_postgres() -> str:
    url = postgres_url()
    if url is not None:
        return url
    message = (
        "no PostgreSQL server reachable at "
        f"{os.environ.get('EXHUNT_TEST_POSTGRES') or DEFAULT_POSTGRES}: start one with "
        'export EXHUNT_TEST_POSTGRES="$(.ci/postgres)"'
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A store URL on a fresh schema of the test database; the schema is dropped after."""
    import sqlalchemy

    base = require_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    try:
        yield f"{base}?options=-csearch_path%3D{name}"
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        engine.dispose()


@contextmanager
def store_target(backend: str, folder: Path) -> Iterator[str]:
    """Where a test's store lives: an SQLite file in ``folder`` or a PostgreSQL schema."""
    if backend == "sqlite":
        yield str(folder / "store.db")
    else:
        with postgres_schema() as url:
            yield url
