"""Schema version 1: organisations, hosts, scans with their documents, findings, evidence
locations, indicators, exposures, hashed files, and the fleet's jobs. Frozen: do not edit."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
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
    UniqueConstraint,
)

DESCRIPTION = "initial schema"


def apply(connection: Connection) -> None:
    _tables().create_all(connection)


def _time(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True) -> Column[str]:
    return Column(name, Text, nullable=nullable)


def _int(name: str, key: bool = False, nullable: bool = True) -> Column[int]:
    return Column(
        name, Integer, primary_key=key, autoincrement=False, nullable=nullable and not key
    )


def _scan_fk() -> Column[int]:
    return Column("scan_id", Integer, ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True)


def _finding_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["scan_id", "number"], ["findings.scan_id", "findings.number"], ondelete="CASCADE"
    )


def _tables() -> MetaData:
    m = MetaData()
    # fmt: off
    Table("organisations", m, Column("id", Integer, primary_key=True),
          Column("name", Text, nullable=False, unique=True))
    Table("hosts", m, Column("id", Integer, primary_key=True),
          Column("organisation_id", Integer, ForeignKey("organisations.id"), nullable=False),
          _text("name", False),
          UniqueConstraint("organisation_id", "name", name="uq_hosts_organisation_name"))
    Table("scans", m, Column("id", Integer, primary_key=True),
          Column("host_id", Integer, ForeignKey("hosts.id"), nullable=False),
          Column("evidence_sha256", String(64), nullable=False),
          _text("evidence_path", False), _text("evidence_kind", False), _text("evidence_host"),
          _text("verdict", False), _text("build"), _text("product"), _text("cu"),
          _text("install_path"), _time("first_malicious"), _time("last_malicious"),
          _time("logs_from"), _time("logs_until"), _int("finding_count", nullable=False),
          _text("max_severity"), _int("error_count", nullable=False), _time("started"),
          _time("finished"), Column("seconds", Float), _text("tool_version", False),
          _text("rules_version", False), _int("document_schema", nullable=False),
          _text("labels", False), _time("stored_at", False),
          UniqueConstraint("host_id", "evidence_sha256", name="uq_scans_host_evidence"),
          Index("ix_scans_verdict", "verdict"), Index("ix_scans_build", "build"))
    Table("documents", m, _scan_fk(), _text("encoding", False),
          Column("body", LargeBinary, nullable=False))
    Table("findings", m, _scan_fk(), _int("number", key=True), _text("finding_id", False),
          _text("rule", False), _text("title", False), _text("severity", False),
          _text("category", False), _text("cves", False), _text("attack", False),
          _time("first_seen"), _time("last_seen"), _int("count", nullable=False),
          Index("ix_findings_rule", "rule"))
    Table("evidence_locations", m, _int("scan_id", key=True), _int("number", key=True),
          _int("seq", key=True), _text("path", False), _text("windows_path"), _int("line"),
          _int("record"), _time("time"), _text("artifact"), _text("rule"), _finding_fk())
    Table("indicators", m, _int("scan_id", key=True), _int("number", key=True),
          Column("kind", Text, primary_key=True), Column("digest", String(64), primary_key=True),
          _text("value", False), _text("category", False), _time("first_seen"),
          _time("last_seen"), _finding_fk(), Index("ix_indicators_kind_digest", "kind", "digest"))
    Table("exposures", m, _scan_fk(), Column("cve", Text, primary_key=True),
          _text("campaign", False), _text("fixed_by"),
          Column("exposed_at_collection", Boolean, nullable=False),
          Column("before_logs", Boolean, nullable=False))
    Table("files", m, _scan_fk(), Column("path", Text, primary_key=True),
          Column("sha256", String(64), nullable=False),
          Column("size", BigInteger, nullable=False))
    Table("jobs", m, Column("id", Integer, primary_key=True), _text("organisation", False),
          _text("host", False), _text("evidence", False), _int("line"), _text("labels", False),
          _text("status", False), _int("attempts", nullable=False), _text("error"),
          Column("scan_id", Integer, ForeignKey("scans.id", ondelete="SET NULL")),
          _time("updated_at", False),
          UniqueConstraint("organisation", "host", "evidence", name="uq_jobs_key"),
          Index("ix_jobs_status", "status"))
    # fmt: on
    return m
