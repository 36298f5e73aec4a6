"""The store's tables as the queries see them (the current schema version).

Every :class:`~exhunt.document.ScanDocument` is kept whole (``documents``, zlib-compressed JSON)
beside normalised tables for the fleet's questions: ``organisations`` and their ``hosts``;
``scans`` (one row per stored document, unique per host and evidence hash); the ``findings`` of
each scan with their ``evidence_locations`` and ``indicators``; the CVE ``exposures``; the
``files`` of the evidence tree each scan hashed (the peer baseline's input); the fleet's
``jobs``.

The tables are created and changed only by :mod:`exhunt.store.migrations`; a change here goes
with a new migration, and a test checks that the migrated database matches these definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

SCHEMA_VERSION = 2
"""The schema version these definitions describe (the last migration's number)."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps.

    PostgreSQL keeps ``timestamptz``; SQLite keeps text without a zone, so times are converted
    to UTC before they are written and marked UTC when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # an aggregate over SQLite text
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"not a time: {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()


def _scan_fk(primary_key: bool = True) -> Column[int]:
    return Column(
        "scan_id",
        Integer,
        ForeignKey("scans.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
)

hosts = Table(
    "hosts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("organisation_id", "name", name="uq_hosts_organisation_name"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
    Column("evidence_sha256", String(64), nullable=False),
    Column("evidence_path", Text, nullable=False),
    Column("evidence_kind", Text, nullable=False),
    Column("evidence_host", Text),
    Column("verdict", Text, nullable=False),
    Column("build", Text),
    Column("product", Text),
    Column("cu", Text),
    Column("install_path", Text),
    Column("first_malicious", UtcDateTime),
    Column("last_malicious", UtcDateTime),
    Column("logs_from", UtcDateTime),
    Column("logs_until", UtcDateTime),
    Column("finding_count", Integer, nullable=False),
    Column("max_severity", Text),
    Column("error_count", Integer, nullable=False),
    Column("started", UtcDateTime),
    Column("finished", UtcDateTime),
    Column("seconds", Float),
    Column("tool_version", Text, nullable=False),
    Column("rules_version", Text, nullable=False),
    Column("document_schema", Integer, nullable=False),
    Column("labels", Text, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    UniqueConstraint("host_id", "evidence_sha256", name="uq_scans_host_evidence"),
    Index("ix_scans_verdict", "verdict"),
    Index("ix_scans_build", "build"),
)

documents = Table(
    "documents",
    metadata,
    _scan_fk(),
    Column("encoding", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
)

findings = Table(
    "findings",
    metadata,
    _scan_fk(),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("finding_id", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("cves", Text, nullable=False),
    Column("attack", Text, nullable=False),
    Column("first_seen", UtcDateTime),
    Column("last_seen", UtcDateTime),
    Column("count", Integer, nullable=False),
    Index("ix_findings_rule", "rule"),
)


def _finding_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["scan_id", "number"], ["findings.scan_id", "findings.number"], ondelete="CASCADE"
    )


evidence_locations = Table(
    "evidence_locations",
    metadata,
    Column("scan_id", Integer, primary_key=True, autoincrement=False),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("path", Text, nullable=False),
    Column("windows_path", Text),
    Column("line", Integer),
    Column("record", Integer),
    Column("time", UtcDateTime),
    Column("artifact", Text),
    Column("rule", Text),
    _finding_fk(),
)

indicators = Table(
    "indicators",
    metadata,
    Column("scan_id", Integer, primary_key=True, autoincrement=False),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("kind", Text, primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("first_seen", UtcDateTime),
    Column("last_seen", UtcDateTime),
    _finding_fk(),
    Index("ix_indicators_kind_digest", "kind", "digest"),
)

exposures = Table(
    "exposures",
    metadata,
    _scan_fk(),
    Column("cve", Text, primary_key=True),
    Column("campaign", Text, nullable=False),
    Column("fixed_by", Text),
    Column("exposed_at_collection", Boolean, nullable=False),
    Column("before_logs", Boolean, nullable=False),
    # A mitigation in place at collection time stops the exposure (NULL: stored before v2).
    Column("mitigated", Boolean),
)

files = Table(
    "files",
    metadata,
    _scan_fk(),
    Column("path", Text, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("line", Integer),
    Column("labels", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("scan_id", Integer, ForeignKey("scans.id", ondelete="SET NULL")),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("organisation", "host", "evidence", name="uq_jobs_key"),
    Index("ix_jobs_status", "status"),
)
