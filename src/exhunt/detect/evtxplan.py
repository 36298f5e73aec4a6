"""Which event-log records are worth decoding, and which rules each one is worth.

Two cheap tests run before any JSON is decoded (design.md section 6):

* the literal automaton of every rule that names literals runs once over a whole batch of
  records, their texts joined one per line; a match maps back to its record by offset. The
  JSON keys are searched too: blanking them out cost more than the few rules it saved once
  the second test runs;
* the channel and event id, read from the text (:mod:`exhunt.detect.evtxgate`), leave out the
  rules whose log source cannot apply.

A record is decoded only if a rule is left for it; rules naming no literal are left for every
record of their channels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from exhunt.artifacts.evtx import EvtxLog, RawEvent
from exhunt.detect.engine import LogPlan
from exhunt.detect.evtxgate import Gate, SystemKeys, admitted, gates_of, system_keys
from exhunt.detect.prefilter import LiteralMatcher, Pattern, build_matcher
from exhunt.detect.rules import RecordRule

MAX_CACHED = 1 << 16
"""Rule lists kept per (literals, channel, event id) seen; hostile input cannot grow it more."""

Candidate = tuple[RawEvent, list[RecordRule]]


class EvtxPlan:
    """The rules reading event logs, indexed by literal and by channel and event id."""

    def __init__(self, rules: Sequence[RecordRule]) -> None:
        self.rules = list(rules)
        self.gates: list[tuple[Gate, ...] | None] = [gates_of(rule) for rule in self.rules]
        self.literals: list[str] = []
        self._by_literal: list[list[int]] = []
        self.always: tuple[int, ...] = self._index()
        self.matcher: LiteralMatcher = build_matcher(self.literals)
        self._by_channel, self._any_channel = self._channels()
        self._admitted: dict[SystemKeys, frozenset[int]] = {}
        self._chosen: dict[tuple[frozenset[int], SystemKeys | None], list[RecordRule]] = {}

    def _index(self) -> tuple[int, ...]:
        """Index the rules by literal; return the rules that name none."""
        ids: dict[str, int] = {}
        always: list[int] = []
        for index, rule in enumerate(self.rules):
            literals = rule.literals(EvtxLog.type)
            if literals is None:
                always.append(index)
                continue
            for literal in sorted(literals):  # one order in every process: the cache key
                key = literal if isinstance(literal, Pattern) else literal.lower()
                if key not in ids:
                    ids[key] = len(self.literals)
                    self.literals.append(key)
                    self._by_literal.append([])
                self._by_literal[ids[key]].append(index)
        return tuple(always)

    def _channels(self) -> tuple[dict[str, list[int]], list[int]]:
        """Rules by the channels their gates name; and the rules open to any channel."""
        by_channel: dict[str, list[int]] = {}
        any_channel: list[int] = []
        for index, gates in enumerate(self.gates):
            if gates is None or any(gate.channels is None for gate in gates):
                any_channel.append(index)
                continue
            for channel in {c for gate in gates for c in gate.channels or ()}:
                by_channel.setdefault(channel, []).append(index)
        return by_channel, any_channel

    def admitted(self, keys: SystemKeys) -> frozenset[int]:
        """Indexes of the rules whose gates let an event with ``keys`` through."""
        found = self._admitted.get(keys)
        if found is None:
            pool = [*self._by_channel.get(keys[0], ()), *self._any_channel]
            found = frozenset(i for i in pool if admitted(self.gates[i], keys))
            if len(self._admitted) >= MAX_CACHED:
                self._admitted.clear()
            self._admitted[keys] = found
        return found

    def rules_for(self, ids: frozenset[int], keys: SystemKeys | None) -> list[RecordRule]:
        """The rules an event holding the literals ``ids`` and with ``keys`` may match, in rule
        order (``keys`` None: the gate is unknown and lets every rule through)."""
        chosen = self._chosen.get((ids, keys))
        if chosen is None:
            indexes = set(self.always).union(*(self._by_literal[i] for i in ids))
            if keys is not None:
                indexes &= self.admitted(keys)
            chosen = [self.rules[i] for i in sorted(indexes)]
            if len(self._chosen) >= MAX_CACHED:
                self._chosen.clear()
            self._chosen[(ids, keys)] = chosen
        return chosen

    def candidates(self, batch: Sequence[RawEvent]) -> Iterator[Candidate]:
        """The events of a batch worth decoding, each with the rules to evaluate on it."""
        if self.always:
            found = dict(select(batch, self.matcher)) if self.literals else {}
            pairs: Iterator[tuple[int, frozenset[int]]] = (
                (index, found.get(index, frozenset())) for index in range(len(batch))
            )
        elif self.literals:
            pairs = select(batch, self.matcher)
        else:
            return
        for index, ids in pairs:
            event = batch[index]
            rules = self.rules_for(ids, system_keys(event.text))
            if rules:
                yield event, rules


@cache
def evtx_plan(plan: LogPlan) -> EvtxPlan:
    """The event-log plan of a scan's rules for ``evtx``, made once per process."""
    return EvtxPlan(plan.rules)


def select(
    batch: Sequence[RawEvent], matcher: LiteralMatcher
) -> Iterator[tuple[int, frozenset[int]]]:
    """(index in the batch, ids of the literals found) of the events holding any literal.

    One automaton pass covers the whole batch: the texts are joined one per line (the parser
    writes compact JSON; a line break inside a record can only be layout and is blanked), and
    a selected line's start offset names its event.
    """
    texts = []
    for event in batch:
        text = event.text.encode("utf-8", "replace")
        texts.append(text.replace(b"\n", b" ") if b"\n" in text else text)
    starts: dict[int, int] = {}
    offset = 0
    for index, text in enumerate(texts):
        starts[offset] = index
        offset += len(text) + 1
    block = b"\n".join(texts)
    for start, ids in matcher.select(block):
        found = starts.get(start)
        if found is not None:
            yield found, ids
