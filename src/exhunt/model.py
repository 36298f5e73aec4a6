"""Small immutable values that flow through a scan: sources, records, hits.

Records keep the log's native field names; a hit is one rule's judgement on one record. Both
carry their provenance (artifact type, path in the evidence, line or record number) so every
finding can be traced back to the byte that supports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Category(StrEnum):
    EXPOSURE = "exposure"
    ATTEMPT = "attempt"
    EXPLOITATION = "exploitation"
    WEBSHELL = "webshell"
    POST_EXPLOITATION = "post-exploitation"
    PERSISTENCE = "persistence"
    MITIGATION = "mitigation"
    COVERAGE = "coverage"
    INFORMATIONAL = "informational"

    @property
    def malicious(self) -> bool:
        """Whether the category counts toward ``first_malicious`` (design.md section 3)."""
        return self in _MALICIOUS

    @property
    def stage(self) -> int:
        """Order of attack stages, used to pick the headline category of a merged finding."""
        return _STAGE.get(self, 0)


_MALICIOUS = frozenset(
    {
        Category.ATTEMPT,
        Category.EXPLOITATION,
        Category.WEBSHELL,
        Category.POST_EXPLOITATION,
        Category.PERSISTENCE,
    }
)
_STAGE = {
    Category.INFORMATIONAL: 1,
    Category.EXPOSURE: 2,
    Category.ATTEMPT: 3,
    Category.POST_EXPLOITATION: 4,
    Category.PERSISTENCE: 5,
    Category.EXPLOITATION: 6,
    Category.WEBSHELL: 7,
}


class VerdictStatus(StrEnum):
    CLEAN = "clean"
    VULNERABLE = "vulnerable"
    ATTEMPTED = "attempted"
    COMPROMISED = "compromised"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Source:
    """One file of the evidence and the artifact type it was read as."""

    artifact: str
    path: str
    """Path relative to the evidence root, ``/`` separated."""
    windows_path: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed log line, event or file, with the log's native field names."""

    source: Source
    line: int | None
    time: datetime | None
    fields: Mapping[str, str]
    raw: str = ""
    record: int | None = None


@dataclass(frozen=True, slots=True)
class Indicators:
    ips: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a finding says about the rule that produced it."""

    id: str
    title: str
    severity: Severity
    category: Category
    cves: tuple[str, ...] = ()
    attack: tuple[str, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule's judgement on one record.

    ``keys`` link hits that describe the same request or session across logs (``req:<id>``,
    ``canary:<value>``); hits with the same ``group`` (an attack family, or the rule) and the
    same ``link`` (usually the client address) join into one finding; a hit without ``link``
    joins the group's finding whose time it falls in. ``tags`` carry facts a chain classifier
    needs (for example ``ssrf:proxylogon`` or ``status:241``).
    """

    rule: RuleInfo
    record: Record
    summary: str
    indicators: Indicators = field(default_factory=Indicators)
    keys: frozenset[str] = frozenset()
    group: str = ""
    link: str | None = None
    tags: frozenset[str] = frozenset()
    severity: Severity | None = None
    """Overrides the rule's severity for this hit when set."""
    category: Category | None = None
    """Overrides the rule's category for this hit when set."""

    @property
    def time(self) -> datetime | None:
        return self.record.time

    @property
    def effective_severity(self) -> Severity:
        return self.severity or self.rule.severity

    @property
    def effective_category(self) -> Category:
        return self.category or self.rule.category
