"""Which rules can apply to an event, judged from its channel and event id before decoding.

Almost every Windows Sigma rule reads one channel, and often a few event ids (its log source's
record condition, :mod:`exhunt.detect.sigma.logsources`). Both values sit in the ``System``
part of the record's JSON text, which the parser writes before any event data, so they can be
read with two string searches. A rule whose conditions the event fails is not evaluated on it,
and an event no rule can apply to is not decoded at all. The gate is only ever a shortcut: a
rule it lets through still checks its whole condition, and any doubt lets every rule through.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from exhunt.artifacts.evtx import EvtxLog
from exhunt.detect.rules import RecordRule
from exhunt.detect.sigma.logsources import variants_for
from exhunt.detect.sigmarule import SigmaRecordRule

SystemKeys = tuple[str, str]
"""An event's channel (lower case) and event id (decimal text, qualifiers dropped)."""

_CHANNEL = '"Channel":'
_EVENT_ID = '"EventID":'
_TEXT = '"#text":'
_EVENT_ID_OBJECT = 80


@dataclass(frozen=True, slots=True)
class Gate:
    """The channels and event ids one log source variant of a rule requires (None: any)."""

    channels: frozenset[str] | None
    event_ids: frozenset[str] | None

    def admits(self, keys: SystemKeys) -> bool:
        channel, event_id = keys
        if self.channels is not None and channel not in self.channels:
            return False
        return self.event_ids is None or event_id in self.event_ids


def gates_of(rule: RecordRule) -> tuple[Gate, ...] | None:
    """The gates of a rule's variants for event logs; None when it may apply to any event."""
    if not isinstance(rule, SigmaRecordRule):
        return None
    source = rule.compiled.logsource
    return _gates(tuple(sorted((str(k), None if v is None else str(v)) for k, v in source.items())))


@lru_cache(maxsize=1024)
def _gates(logsource: tuple[tuple[str, str | None], ...]) -> tuple[Gate, ...] | None:
    """Gates by log source: thousands of rules share a few dozen log sources."""
    gates: list[Gate] = []
    for variant in variants_for(dict(logsource)):
        if variant.artifact != EvtxLog.type:
            continue
        where = dict(variant.where)
        channels, event_ids = where.get("Channel"), where.get("EventID")
        if channels is None and event_ids is None:
            return None  # a variant without a condition reads every event
        gates.append(
            Gate(
                frozenset(c.lower() for c in channels) if channels else None,
                frozenset(event_ids) if event_ids else None,
            )
        )
    return tuple(gates) or None


def admitted(gates: tuple[Gate, ...] | None, keys: SystemKeys | None) -> bool:
    """Whether a rule with ``gates`` may match an event with ``keys`` (unknown keys: yes)."""
    return gates is None or keys is None or any(gate.admits(keys) for gate in gates)


def system_keys(text: str) -> SystemKeys | None:
    """The channel and event id of a record's JSON text; None when either is not plain.

    The first ``"Channel":`` and ``"EventID":`` keys are the ``System`` ones: the parser writes
    ``System`` first, and event data names come from the provider's template, not the event.
    """
    channel = _string_after(text, _CHANNEL)
    event_id = _event_id(text)
    if channel is None or event_id is None:
        return None
    return channel.lower(), event_id


def _string_after(text: str, key: str) -> str | None:
    """The plain string value after ``key``; ``""`` for null, None when escaped or absent."""
    start = text.find(key)
    if start < 0:
        return None
    start += len(key)
    if text.startswith("null", start):
        return ""
    if not text.startswith('"', start):
        return None
    end = text.find('"', start + 1)
    value = text[start + 1 : end]
    return None if end < 0 or "\\" in value else value


def _event_id(text: str) -> str | None:
    """The event id as the record's fields give it: ``4688``, ``{"#text":7036,...}``, ``"1"``."""
    start = text.find(_EVENT_ID)
    if start < 0:
        return None
    start += len(_EVENT_ID)
    if text.startswith("{", start):
        # {"#attributes":{"Qualifiers":16384},"#text":7036}: a few dozen characters at most.
        inner = text.find(_TEXT, start, start + _EVENT_ID_OBJECT)
        if inner < 0:
            return None
        start = inner + len(_TEXT)
    if text.startswith('"', start):
        start += 1
    end = start
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return text[start:end] if end > start else None
