"""The result document: the one contract between the scan and everything that reads it.

Field names are fixed by design.md section 3; fields may be added, never renamed. Paths inside
the evidence are relative to the evidence root with ``/`` separators; times are UTC with ``Z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from exhunt.model import Category, Severity, VerdictStatus
from exhunt.timeutil import format_time

SCHEMA_VERSION = 1

Time = Annotated[datetime, PlainSerializer(format_time, return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class Tool(_Model):
    name: str = "exhunt"
    version: str
    rules_version: str


class EvidenceFile(_Model):
    """One file exhunt read, with the hash of the bytes it read."""

    path: str
    artifact: str
    size: int
    sha256: str


class EvidenceInfo(_Model):
    path: str
    kind: str
    host: str | None = None
    sha256: str | None = None
    read_bytes: int = 0
    files: list[EvidenceFile] = Field(default_factory=list)


class BuildSource(_Model):
    source: str
    build: str
    path: str | None = None
    time: Time | None = None
    precision: str | None = None
    """``build`` (all four parts), or ``cu`` (the revision is the CU's, not the update's)."""


class BuildPeriod(_Model):
    build: str
    first: Time | None = None
    last: Time | None = None
    source: str


class Exposure(_Model):
    """A CVE the server was exposed to at some point of the evidence."""

    cve: str
    campaign: str
    fixed_by: str | None = None
    fix_released: Time | None = None
    exposed_at_collection: bool
    exposed_from: Time | None = None
    exposed_until: Time | None = None
    before_logs: bool = False
    """The exposed period starts before the logs do: an attack then would not be visible."""
    mitigated_by: str | None = None
    """A mitigation in place at collection time that stops this CVE (the build lacks the fix)."""
    mitigated_since: Time | None = None
    mitigation_leaves: str | None = None
    """What that mitigation does not stop."""


class BuildConflict(_Model):
    """Two sources of the build that disagree."""

    message: str
    sources: list[BuildSource] = Field(default_factory=list)


class MitigationInfo(_Model):
    """A mitigation, or a trace of a mitigation tool, found in the evidence."""

    kind: str
    name: str
    covers: list[str] = Field(default_factory=list)
    leaves: str | None = None
    since: Time | None = None
    path: str | None = None
    effective: bool = True
    detail: str | None = None


class ExchangeInfo(_Model):
    build: str | None = None
    product: str | None = None
    cu: str | None = None
    install_path: str | None = None
    build_sources: list[BuildSource] = Field(default_factory=list)
    build_history: list[BuildPeriod] = Field(default_factory=list)
    vulnerable_to: list[str] = Field(default_factory=list)
    exposure: list[Exposure] = Field(default_factory=list)
    mitigations: list[str] = Field(default_factory=list)
    su: str | None = None
    value_sources: dict[str, str] = Field(default_factory=dict)
    """Which source gave each value (``build``, ``install_path``)."""
    build_conflicts: list[BuildConflict] = Field(default_factory=list)
    mitigated: list[str] = Field(default_factory=list)
    """CVEs the build lacks but a mitigation in place at collection time stops."""
    mitigation_state: list[MitigationInfo] = Field(default_factory=list)


class Verdict(_Model):
    status: VerdictStatus
    reasons: list[str] = Field(default_factory=list)
    first_malicious: Time | None = None
    last_malicious: Time | None = None


class EvidenceLocation(_Model):
    path: str
    windows_path: str | None = None
    line: int | None = None
    record: int | None = None
    time: Time | None = None
    excerpt: str | None = None
    artifact: str | None = None
    rule: str | None = None


class FindingIndicators(_Model):
    ips: list[str] = Field(default_factory=list)
    user_agents: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)
    sha256: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)


class Finding(_Model):
    id: str
    rule: str
    title: str
    severity: Severity
    category: Category
    cves: list[str] = Field(default_factory=list)
    attack: list[str] = Field(default_factory=list)
    first_seen: Time | None = None
    last_seen: Time | None = None
    count: int = 0
    evidence: list[EvidenceLocation] = Field(default_factory=list)
    indicators: FindingIndicators = Field(default_factory=FindingIndicators)
    description: str = ""
    rules: list[str] = Field(default_factory=list)
    """Every rule whose hits were merged into this finding."""


class TimelineEntry(_Model):
    time: Time
    source: str
    summary: str
    finding_ids: list[str] = Field(default_factory=list)
    path: str | None = None
    line: int | None = None


class ArtifactCoverage(_Model):
    type: str
    files: int = 0
    records: int = 0
    bad_records: int = 0
    first: Time | None = None
    last: Time | None = None


class Gap(_Model):
    type: str
    from_: Time | None = Field(default=None, alias="from")
    to: Time | None = None
    reason: str
    path: str | None = None
    expected: bool = False
    """Normal for a live collection (the newest file cut mid-line): noted, not held against it."""


class Coverage(_Model):
    artifacts: list[ArtifactCoverage] = Field(default_factory=list)
    gaps: list[Gap] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


class ScanError(_Model):
    component: str
    path: str | None = None
    line: int | None = None
    message: str


class ScanInfo(_Model):
    started: Time
    finished: Time
    seconds: float
    since: Time | None = None
    until: Time | None = None


class ScanDocument(_Model):
    schema_version: int = SCHEMA_VERSION
    tool: Tool
    evidence: EvidenceInfo
    exchange: ExchangeInfo = Field(default_factory=ExchangeInfo)
    verdict: Verdict
    findings: list[Finding] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    coverage: Coverage = Field(default_factory=Coverage)
    errors: list[ScanError] = Field(default_factory=list)
    scan: ScanInfo | None = None

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ScanDocument:
        return cls.model_validate_json(text)
