"""Where Sigma log sources and field names meet exhunt's artifacts and native field names.

This module is the one place that knows how a Sigma rule's ``logsource`` selects artifact types
and how a Sigma field name reads a value from a record. Both are tables: adding a log type (for
example EVTX channels) means adding rows, not code.

* Exchange's own logs use custom log sources (``product: exchange`` with ``service:
  httpproxy | ecp_server | oab_generator | rps_http | rps_cmdlet``) whose Sigma field names are
  the log's native column names, looked up exactly first and case-insensitively second.
* IIS W3C logs are ``category: webserver``. SigmaHQ names the fields after the W3C directives
  (``cs-uri-query``, ``cs-user-agent``); IIS writes ``cs(User-Agent)`` and splits the URL into
  ``cs-uri-stem`` and ``cs-uri-query``. SigmaHQ web rules put URL paths in ``cs-uri-query``
  (for example ``web_exchange_exploitation_hafnium.yml``), so ``cs-uri-query`` and ``cs-uri``
  read ``stem?query`` here. IIS writes an empty value as ``-``.

References:
    https://github.com/SigmaHQ/sigma-specification (log source and taxonomy appendix)
    https://learn.microsoft.com/en-us/windows/win32/http/w3c-logging
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from exhunt.model import Record

FieldGetter = Callable[[Mapping[str, str]], "str | None"]
"""Reads one Sigma field's value from a record's native fields; ``None`` when absent."""

RAW_SEPARATORS = frozenset(" +?,\"'\t;=&%")
"""Characters whose encoding differs between a field value and the raw line (IIS writes spaces
as ``+``, CSV quotes and doubles quotes, URLs percent-encode); literals never span them."""


@dataclass(frozen=True, slots=True)
class LogsourceRule:
    """One row of the log source table: a Sigma ``logsource`` pattern and its artifact type.

    ``None`` in a pattern attribute accepts any value (or none) in the rule.
    """

    artifact: str
    product: str | None = None
    category: str | None = None
    service: str | None = None

    def accepts(self, logsource: Mapping[str, str | None]) -> bool:
        """Whether a rule's log source (lower-cased values) selects this row."""
        wanted = {"product": self.product, "category": self.category, "service": self.service}
        return all(value is None or logsource.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True, slots=True)
class JoinedField:
    """A Sigma field made of two native fields, such as IIS ``stem?query``.

    The second part is left out when it is missing or empty; the whole is absent when the first
    part is.
    """

    first: str
    second: str
    separator: str


@dataclass(frozen=True, slots=True)
class ArtifactFields:
    """How Sigma field names read values from one artifact type's records."""

    renames: Mapping[str, str | JoinedField] = field(default_factory=dict)
    """Lower-cased Sigma field name to native field name, or a composition of native fields."""
    empty_values: frozenset[str] = frozenset({""})
    """Native values that mean "no value"; Sigma ``null`` matches them and a missing field."""
    raw_separators: frozenset[str] = frozenset()
    """Characters, besides :data:`RAW_SEPARATORS`, that this log's raw lines encode differently."""


LOGSOURCES: tuple[LogsourceRule, ...] = (
    LogsourceRule("exchange.httpproxy", product="exchange", service="httpproxy"),
    LogsourceRule("exchange.ecp_server", product="exchange", service="ecp_server"),
    LogsourceRule("exchange.oab_generator", product="exchange", service="oab_generator"),
    LogsourceRule("exchange.rps_http", product="exchange", service="rps_http"),
    LogsourceRule("exchange.rps_cmdlet", product="exchange", service="rps_cmdlet"),
    LogsourceRule("iis.w3c", category="webserver"),
)

_IIS_URI = JoinedField("cs-uri-stem", "cs-uri-query", "?")

ARTIFACT_FIELDS: Mapping[str, ArtifactFields] = {
    "iis.w3c": ArtifactFields(
        renames={
            **{
                name: name
                for name in (
                    "cs-method",
                    "cs-uri-stem",
                    "c-ip",
                    "s-ip",
                    "s-port",
                    "cs-username",
                    "sc-status",
                    "sc-substatus",
                    "sc-win32-status",
                    "time-taken",
                    "cs-host",
                    "cs-version",
                )
            },
            "cs-user-agent": "cs(User-Agent)",
            "cs-referer": "cs(Referer)",
            "cs-referrer": "cs(Referer)",
            "cs-cookie": "cs(Cookie)",
            "cs-uri-query": _IIS_URI,
            "cs-uri": _IIS_URI,
        },
        empty_values=frozenset({"", "-"}),
    ),
}

_DEFAULT_FIELDS = ArtifactFields()


def artifacts_for(logsource: Mapping[str, Any]) -> frozenset[str]:
    """The artifact types a Sigma ``logsource`` mapping selects (empty when none does)."""
    normalised = {
        key: str(value).lower() if value is not None else None for key, value in logsource.items()
    }
    return frozenset(row.artifact for row in LOGSOURCES if row.accepts(normalised))


def artifact_fields(artifact: str) -> ArtifactFields:
    """The field table of an artifact type; artifacts without one use native names as they are."""
    return ARTIFACT_FIELDS.get(artifact, _DEFAULT_FIELDS)


@lru_cache(maxsize=4096)
def field_getter(artifact: str, sigma_field: str) -> FieldGetter:
    """A function reading ``sigma_field`` from records of ``artifact`` (built once, cached)."""
    table = artifact_fields(artifact)
    target = table.renames.get(sigma_field.lower(), sigma_field)
    if isinstance(target, JoinedField):
        return _joined_getter(target, table.empty_values)
    return _native_getter(target)


def field_value(record: Record, sigma_field: str) -> str | None:
    """The value a Sigma field name reads from ``record``, or ``None`` when it has none."""
    return field_getter(record.source.artifact, sigma_field)(record.fields)


def _native_getter(name: str) -> FieldGetter:
    """Exact lookup, then a case-insensitive one whose result is remembered for the next record."""
    lowered = name.lower()
    resolved = [name]

    def get(fields: Mapping[str, str]) -> str | None:
        value = fields.get(name)
        if value is not None:
            return value
        value = fields.get(resolved[0])
        if value is not None:
            return value
        for key, candidate in fields.items():
            if key.lower() == lowered:
                resolved[0] = key
                return candidate
        return None

    return get


def _joined_getter(joined: JoinedField, empty_values: frozenset[str]) -> FieldGetter:
    first = _native_getter(joined.first)
    second = _native_getter(joined.second)
    separator = joined.separator

    def get(fields: Mapping[str, str]) -> str | None:
        head = first(fields)
        if head is None:
            return None
        tail = second(fields)
        if tail is None or tail in empty_values:
            return head
        return head + separator + tail

    return get
