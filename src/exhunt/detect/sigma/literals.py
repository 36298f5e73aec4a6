"""Prefilter literals: text that the raw line of every record a rule matches must contain.

For one rule and artifact type the result is a set of lower-case ASCII literals such that a
matching record's raw line, lower-cased, contains at least one of them; or ``None`` when no such
set is known and the rule needs every line. A scanner runs one multi-pattern search for all
rules' literals over the raw bytes and parses only the lines that hit.

Field values are not byte-for-byte the raw line: IIS writes spaces as ``+``, CSV doubles quotes,
URLs percent-encode, JSON escapes backslashes and quotes. A literal is therefore only a fragment
of a value between characters that may be encoded (the field table's ``raw_separators``, by
default :data:`~.logsources.RAW_SEPARATORS`), wildcards, and non-ASCII or control characters; the
longest fragment of each value is kept and must have at least :data:`MIN_LENGTH` characters.
Over the tree: *or* unites its children's sets (``None`` if any is ``None``); *and* keeps its
most selective child's set; *not* knows nothing. A field whose values a table translates (the
raw text holds another spelling) gives no literal.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from exhunt.detect.sigma.ir import (
    AllOf,
    Alternatives,
    AnyOf,
    Boolean,
    Match,
    Negation,
    Node,
    Number,
    Regex,
    Text,
    Value,
)
from exhunt.detect.sigma.logsources import RAW_SEPARATORS, TranslatedField, artifact_fields
from exhunt.detect.sigma.regex import Runs, RunsAll, RunsAny, required_runs

Literals = frozenset[str] | None

MIN_LENGTH = 3


__all__ = ["RAW_SEPARATORS", "Literals", "all_of", "any_of", "fragment", "node_literals"]


def node_literals(node: Node, table: str) -> Literals:
    """The prefilter literals of a detection tree for records read through field table ``table``."""
    return _Walker(table).node(node)


def fragment(text: str, separators: frozenset[str]) -> str | None:
    """The longest fragment of ``text`` that survives every raw encoding, lower-cased."""
    best = ""
    start = 0
    for index, char in enumerate(text):
        if char in separators or not char.isascii() or not char.isprintable():
            if index - start > len(best):
                best = text[start:index]
            start = index + 1
    if len(text) - start > len(best):
        best = text[start:]
    return best.lower() if len(best) >= MIN_LENGTH else None


def any_of(sets: Iterable[Literals]) -> Literals:
    """Literals of alternatives: all of them, unless one alternative has none."""
    union: set[str] = set()
    for literals in sets:
        if literals is None:
            return None
        union |= literals
    return _minimal(union)


def all_of(sets: Iterable[Literals], common: frozenset[str] = frozenset()) -> Literals:
    """Literals of a conjunction: the most selective child's. The smaller the share of a set's
    literals found in text most records contain (``common``), the better; then the longest
    shortest literal, then the fewest literals."""
    known = [literals for literals in sets if literals is not None]
    if not known:
        return None

    def rank(literals: frozenset[str]) -> tuple[float, int, int]:
        weak = sum(1 for literal in literals if any(literal in text for text in common))
        share = weak / len(literals) if literals else 1.0
        return (-share, min(map(len, literals), default=0), -len(literals))

    return max(known, key=rank)


class _Walker:
    """Literals over one tree, with one field table's encodings."""

    def __init__(self, table: str) -> None:
        fields = artifact_fields(table)
        self.separators = fields.raw_separators
        # Keywords search the raw line as written, or the values where the raw text encodes them.
        self.keyword_separators = (
            fields.raw_separators if fields.keywords_in_values else frozenset()
        )
        self.hex_numbers = fields.hex_numbers
        self.common = fields.common
        self.translated = frozenset(
            name for name, source in fields.renames.items() if isinstance(source, TranslatedField)
        )

    def node(self, node: Node) -> Literals:
        if isinstance(node, Match):
            return self.match(node)
        if isinstance(node, AllOf):
            return all_of((self.node(child) for child in node.children), self.common)
        if isinstance(node, AnyOf):
            return any_of(self.node(child) for child in node.children)
        assert isinstance(node, Negation)
        return None

    def match(self, match: Match) -> Literals:
        if match.field is None:
            separators = self.keyword_separators
        elif match.field.lower() in self.translated:
            return None
        else:
            separators = self.separators
        sets = (_value(value, separators, self.hex_numbers) for value in match.values)
        return all_of(sets, self.common) if match.require_all else any_of(sets)


def _value(value: Value, separators: frozenset[str], hex_numbers: bool = False) -> Literals:
    if isinstance(value, Text):
        return _text(value, separators)
    if isinstance(value, Alternatives):
        return any_of(_value(item, separators, hex_numbers) for item in value.values)
    if isinstance(value, Regex):
        return _runs(required_runs(value.pattern, value.flags), separators)
    if isinstance(value, Number):
        decimal = _number(value.value, separators)
        if hex_numbers and isinstance(value.value, int):
            return any_of((decimal, _single(format(abs(value.value), "x"), separators)))
        return decimal
    if isinstance(value, Boolean):
        return _single(str(value.value).lower(), separators)
    # null, exists, comparisons, CIDR ranges and field references name no text.
    return None


def _text(text: Text, separators: frozenset[str]) -> Literals:
    fragments = [fragment(token, separators) for token in text.tokens if isinstance(token, str)]
    longest = max((item for item in fragments if item), key=len, default=None)
    return frozenset({longest}) if longest else None


def _number(number: int | float, separators: frozenset[str]) -> Literals:
    # A number matches its decimal forms ("0200", "200.0"); the sign is left out because
    # "-0100" holds "100" but not "-100", and exponent forms have no such shared text.
    text = str(abs(number))
    return None if "e" in text or "n" in text else _single(text, separators)


def _single(text: str, separators: frozenset[str]) -> Literals:
    found = fragment(text, separators)
    return frozenset({found}) if found else None


def _runs(runs: Runs, separators: frozenset[str]) -> Literals:
    if runs is None:
        return None
    if isinstance(runs, str):
        return _single(runs, separators)
    children = map(partial(_runs, separators=separators), runs.parts)
    if isinstance(runs, RunsAll):
        return all_of(children)
    assert isinstance(runs, RunsAny)
    return any_of(children)


def _minimal(literals: set[str]) -> frozenset[str]:
    """Drop literals that contain another one: finding the shorter already covers them."""
    ordered = sorted(literals, key=len)
    kept: list[str] = []
    for literal in ordered:
        if not any(shorter in literal for shorter in kept):
            kept.append(literal)
    return frozenset(kept)
