"""Versioned schema migrations: each brings the store from one version to the next.

A migration is a numbered function over a connection, in its own module (``v001`` is the
first schema) and frozen once released: later changes are new migrations, never edits. Opening
a store applies the missing ones in one transaction, under a lock, so two processes opening a
new store at once create it once. A store written by a newer exhunt is refused rather than
misread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select

from exhunt.exceptions import StoreError
from exhunt.store.engine import writing
from exhunt.store.migrations import v001, v002
from exhunt.store.schema import schema_migrations

log = logging.getLogger(__name__)

_PG_LOCK = 0x65786875  # an arbitrary application-wide advisory lock number ("exhu")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, v001.DESCRIPTION, v001.apply),
    Migration(2, v002.DESCRIPTION, v002.apply),
)


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the migrations the store lacks and return its schema version.

    Raises:
        StoreError: the store was written by a newer exhunt (its version is unknown here).
    """
    with writing(engine) as connection:
        _lock(connection)
        schema_migrations.create(connection, checkfirst=True)
        current = current_version(connection)
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise StoreError(
                f"the store has schema version {current}, newer than this exhunt knows "
                f"({latest}): upgrade exhunt to read it"
            )
        for migration in migrations:
            if migration.version > current:
                _apply(connection, migration)
    return max(current, latest)


def current_version(connection: Connection) -> int:
    """The highest applied migration (0 for an empty store)."""
    return connection.execute(select(func.max(schema_migrations.c.version))).scalar() or 0


def _apply(connection: Connection, migration: Migration) -> None:
    log.info("store: migrating to schema version %d (%s)", migration.version, migration.description)
    migration.apply(connection)
    connection.execute(
        insert(schema_migrations).values(
            version=migration.version,
            description=migration.description,
            applied_at=datetime.now(UTC),
        )
    )


def _lock(connection: Connection) -> None:
    """Serialise migrations between processes (SQLite's BEGIN IMMEDIATE already does)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
