"""Writing a prepared scan: organisation and host found or created, then the scan once.

A scan is unique per host and evidence hash. The insert that claims that key and the rows
under it happen in the caller's transaction, so a scan is stored whole or not at all, and two
writers storing the same evidence store it once: the second finds the first one's scan.

The statements are built once per database dialect and take their values as parameters: a
fleet's single writer stores thousands of scans, and building statements would cost more
than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Executable, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from exhunt.store import schema
from exhunt.store.prepare import ENCODING, PreparedScan


@dataclass(frozen=True, slots=True)
class SaveResult:
    scan_id: int
    created: bool
    """False when this host's same evidence was stored before (nothing was written)."""


@dataclass(frozen=True, slots=True)
class _Statements:
    find_organisation: Executable
    add_organisation: Executable
    find_host: Executable
    add_host: Executable
    claim_scan: Executable
    find_scan: Executable


def upsert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT`` (SQLite and PostgreSQL alike)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@cache
def _statements(dialect: str) -> _Statements:
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    o, h, s = schema.organisations, schema.hosts, schema.scans
    return _Statements(
        find_organisation=select(o.c.id).where(o.c.name == bindparam("name")),
        add_organisation=dialect_insert(o).on_conflict_do_nothing().returning(o.c.id),
        find_host=select(h.c.id).where(
            h.c.organisation_id == bindparam("organisation_id"), h.c.name == bindparam("name")
        ),
        add_host=dialect_insert(h).on_conflict_do_nothing().returning(h.c.id),
        claim_scan=dialect_insert(s)
        .on_conflict_do_nothing(index_elements=["host_id", "evidence_sha256"])
        .returning(s.c.id),
        find_scan=select(s.c.id).where(
            s.c.host_id == bindparam("host_id"), s.c.evidence_sha256 == bindparam("key")
        ),
    )


_CHILDREN = (
    (schema.findings, "findings"),
    (schema.evidence_locations, "locations"),
    (schema.indicators, "indicators"),
    (schema.exposures, "exposures"),
    (schema.files, "tree_files"),
)


def save_prepared(connection: Connection, prepared: PreparedScan) -> SaveResult:
    """Store ``prepared`` unless its (organisation, host, evidence hash) is stored already."""
    statements = _statements(connection.dialect.name)
    org_id = _get_or_create(
        connection, statements.find_organisation, statements.add_organisation,
        {"name": prepared.organisation},
    )  # fmt: skip
    host_id = _get_or_create(
        connection, statements.find_host, statements.add_host,
        {"organisation_id": org_id, "name": prepared.host},
    )  # fmt: skip
    values = dict(prepared.scan, host_id=host_id, stored_at=datetime.now(UTC))
    scan_id = connection.execute(statements.claim_scan, values).scalar()
    if scan_id is None:
        found = connection.execute(statements.find_scan, {"host_id": host_id, "key": prepared.key})
        return SaveResult(int(found.scalar_one()), created=False)
    _children(connection, scan_id, prepared)
    return SaveResult(scan_id, created=True)


def _children(connection: Connection, scan_id: int, prepared: PreparedScan) -> None:
    connection.execute(
        insert(schema.documents),
        {"scan_id": scan_id, "encoding": ENCODING, "body": prepared.document},
    )
    for table, name in _CHILDREN:
        rows = getattr(prepared, name)
        if rows:
            connection.execute(insert(table), [dict(row, scan_id=scan_id) for row in rows])


def _get_or_create(
    connection: Connection, find: Executable, add: Executable, key: dict[str, Any]
) -> int:
    """The id of the row with ``key``, inserted if missing; safe when writers race."""
    found = connection.execute(find, key).scalar()
    if found is not None:
        return int(found)
    created = connection.execute(add, key).scalar()
    # None: another writer created it between the two statements.
    return int(created if created is not None else connection.execute(find, key).scalar_one())
