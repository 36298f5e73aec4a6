"""Reading a Sigma field's value from a record through a field table of :mod:`.logsources`.

A getter is built once per (field table, Sigma field name) and cached; it looks the native name
up exactly first and case-insensitively second, spaces ignored (remembering the spelling it found
for the next record, since one file writes its names one way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from exhunt.detect.sigma.logsources import (
    JoinedField,
    RepeatedField,
    TranslatedField,
    artifact_fields,
)
from exhunt.model import Record

FieldGetter = Callable[[Mapping[str, str]], "str | None"]
"""Reads one Sigma field's value from a record's native fields; ``None`` when absent."""

ValuesGetter = Callable[[Mapping[str, str]], "tuple[str, ...]"]
"""Reads every value of a repeated field (``Data``, ``Data2``...); empty when there is none."""

_MAX_REPEATS = 256


@lru_cache(maxsize=8192)
def field_getter(table: str, sigma_field: str) -> FieldGetter:
    """A function reading ``sigma_field`` through the field table ``table`` (built once).

    A repeated field reads as its first value here; :func:`repeated_getter` reads them all.
    """
    target = artifact_fields(table).renames.get(sigma_field.lower(), sigma_field)
    if isinstance(target, JoinedField):
        return _joined_getter(target, artifact_fields(table).empty_values)
    if isinstance(target, TranslatedField):
        return _translated_getter(target)
    if isinstance(target, RepeatedField):
        return native_getter(target.native)
    return native_getter(target)


@lru_cache(maxsize=1024)
def repeated_getter(table: str, sigma_field: str) -> ValuesGetter | None:
    """A function reading every value of ``sigma_field`` when the table repeats it, else None."""
    target = artifact_fields(table).renames.get(sigma_field.lower())
    if not isinstance(target, RepeatedField):
        return None
    getters = [native_getter(target.native)]
    getters += [native_getter(f"{target.native}{index}") for index in range(2, _MAX_REPEATS)]

    def get(fields: Mapping[str, str]) -> tuple[str, ...]:
        values: list[str] = []
        for getter in getters:
            value = getter(fields)
            if value is None:
                break
            values.append(value)
        return tuple(values)

    return get


def field_value(record: Record, sigma_field: str) -> str | None:
    """The value a Sigma field name reads from ``record`` with its artifact's own field table."""
    return field_getter(record.source.artifact, sigma_field)(record.fields)


def native_getter(name: str) -> FieldGetter:
    """Exact lookup, then a case-insensitive one whose result is remembered for the next record.

    The case-insensitive lookup also ignores spaces in native names: the Sigma specification
    names Windows event data by its ``Name`` without spaces (Defender's ``Threat Name`` is
    ``ThreatName``).
    """
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
            if key.lower() == lowered or key.replace(" ", "").lower() == lowered:
                resolved[0] = key
                return candidate
        return None

    return get


def _joined_getter(joined: JoinedField, empty_values: frozenset[str]) -> FieldGetter:
    first = native_getter(joined.first)
    second = native_getter(joined.second)
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


def _translated_getter(translated: TranslatedField) -> FieldGetter:
    native = native_getter(translated.native)
    table = translated.values

    def get(fields: Mapping[str, str]) -> str | None:
        value = native(fields)
        if value is None:
            return None
        return table.get(value.strip().upper(), value)

    return get
