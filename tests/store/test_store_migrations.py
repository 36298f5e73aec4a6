"""Versioned migrations: a new store is created at the current version, once, and a store of
a newer exhunt is refused; the migrated tables are exactly the schema the queries use."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import Connection, Integer, Text, inspect

from exhunt.exceptions import StoreError
from exhunt.store import open_store, store_url
from exhunt.store.engine import make_engine, writing
from exhunt.store.migrations import MIGRATIONS, Migration, current_version, migrate
from exhunt.store.schema import SCHEMA_VERSION, metadata

TABLES = {"schema_migrations", "organisations", "hosts", "scans", "documents", "findings",
          "evidence_locations", "indicators", "exposures", "files", "jobs"}  # fmt: skip


def test_a_new_store_is_at_the_current_version(target: str) -> None:
    with open_store(target) as store:
        assert store.version == SCHEMA_VERSION == MIGRATIONS[-1].version == 2
        engine = make_engine(store_url(target))
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT version, description FROM schema_migrations"
            ).all()
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "initial schema"),
        (2, "exposures: mitigated at collection time"),
    ]


def test_the_migrated_tables_are_the_schema_the_queries_use(target: str) -> None:
    open_store(target).close()
    engine = make_engine(store_url(target))
    found = inspect(engine)
    assert set(found.get_table_names()) == TABLES
    for table in metadata.sorted_tables:
        columns = {c["name"]: c for c in found.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
        primary = found.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [c.name for c in table.primary_key.columns], table.name
        uniques = {tuple(u["column_names"]) for u in found.get_unique_constraints(table.name)}
        expected = {tuple(c.name for c in u.columns) for u in table.constraints
                    if isinstance(u, sqlalchemy.UniqueConstraint)}  # fmt: skip
        assert uniques == expected, table.name
        indexes = {tuple(i["column_names"]) for i in found.get_indexes(table.name)
                   if not i.get("unique")}  # fmt: skip
        assert indexes == {tuple(c.name for c in i.columns) for i in table.indexes}, table.name
    engine.dispose()


def test_reopening_applies_nothing_again(target: str) -> None:
    for _ in range(3):
        open_store(target).close()
    engine = make_engine(store_url(target))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM schema_migrations").scalar() == 2
    engine.dispose()


def _add_notes(connection: Connection) -> None:
    table = sqlalchemy.Table(
        "notes",
        sqlalchemy.MetaData(),
        sqlalchemy.Column("id", Integer, primary_key=True),
        sqlalchemy.Column("text", Text),
    )
    table.create(connection)


def test_later_migrations_apply_in_order_on_an_existing_store(target: str) -> None:
    open_store(target).close()
    engine = make_engine(store_url(target))
    later = (*MIGRATIONS, Migration(3, "notes", _add_notes))
    assert migrate(engine, later) == 3
    assert migrate(engine, later) == 3
    with engine.connect() as connection:
        versions = (
            connection.exec_driver_sql("SELECT version FROM schema_migrations ORDER BY version")
            .scalars()
            .all()
        )
        assert versions == [1, 2, 3]
        assert "notes" in inspect(connection).get_table_names()
    engine.dispose()


def test_a_store_of_a_newer_exhunt_is_refused(target: str) -> None:
    open_store(target).close()
    engine = make_engine(store_url(target))
    with writing(engine) as connection:
        connection.exec_driver_sql(
            "INSERT INTO schema_migrations (version, description, applied_at) "
            "VALUES (7, 'from the future', CURRENT_TIMESTAMP)"
        )
        assert current_version(connection) == 7
    engine.dispose()
    with pytest.raises(StoreError, match=r"schema version 7, newer than this exhunt knows \(2\)"):
        open_store(target)


def test_an_unreachable_store_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"store sqlite:///.*unable to open database file"):
        open_store(tmp_path / "missing-folder" / "store.db")


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://exhunt:s3cret@127.0.0.1:9/none")
    assert "postgresql+psycopg://exhunt:***@127.0.0.1:9/none" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_version_1_store_gains_the_mitigated_column(target: str) -> None:
    engine = make_engine(store_url(target))
    assert migrate(engine, MIGRATIONS[:1]) == 1
    with engine.connect() as connection:
        columns = [c["name"] for c in inspect(connection).get_columns("exposures")]
    assert "mitigated" not in columns
    engine.dispose()
    with open_store(target) as store:
        assert store.version == 2
    engine = make_engine(store_url(target))
    with engine.connect() as connection:
        found = {c["name"]: c for c in inspect(connection).get_columns("exposures")}
    engine.dispose()
    assert found["mitigated"]["nullable"] is True
