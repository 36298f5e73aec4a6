"""String tests for Sigma values: the cheapest test that each value's wildcards allow.

A value without wildcards is an equality (a set lookup for lists), ``x*`` a prefix, ``*x`` a
suffix, ``*x*`` a substring; only other shapes use a glob matcher, which finds literal segments
left to right in linear time (a regular expression with several ``.*`` can backtrack badly on
hostile input). Case-insensitive tests compare :func:`fold`-ed text on both sides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from exhunt.detect.sigma.ir import Text, Token, Wildcard

StringTest = Callable[[str], bool]
T = TypeVar("T")

# Two non-ASCII letters lower-case to ASCII (KELVIN SIGN -> "k", "İ" -> "i" + dot). Keeping them
# apart means a value only matches a literal whose ASCII bytes are really in the raw line, which
# is what the literal prefilter relies on.
_KEEP_NON_ASCII = str.maketrans({"\u212a": "\ue12a", "\u0130": "\ue130"})


def fold(value: str) -> str:
    """Lower-case ``value`` for case-insensitive comparison."""
    if value.isascii():
        return value.lower()
    return value.translate(_KEEP_NON_ASCII).lower()


def text_test(texts: Sequence[Text], *, require_all: bool) -> StringTest:
    """One test of a string against Sigma strings: any of them, or all.

    The returned test expects its argument :func:`fold`-ed unless the texts are ``cased``.
    """
    groups: dict[str, list[str]] = {"equals": [], "prefix": [], "suffix": [], "contains": []}
    others: list[StringTest] = []
    for tokens in (_tokens(text) for text in texts):
        shape = _shape(tokens)
        if shape == "glob":
            others.append(glob_test(tokens))
        elif shape == "any":
            others.append(_always)
        else:
            groups[shape].append(next((t for t in tokens if isinstance(t, str)), ""))
    return combine(_grouped(groups, require_all=require_all) + others, require_all=require_all)


def _tokens(text: Text) -> tuple[Token, ...]:
    if text.cased:
        return text.tokens
    return tuple(fold(token) if isinstance(token, str) else token for token in text.tokens)


def _shape(tokens: tuple[Token, ...]) -> str:
    literal = [isinstance(token, str) for token in tokens]
    if all(literal) and len(tokens) <= 1:
        return "equals"
    if tokens == (Wildcard.MANY,):
        return "any"
    if len(tokens) == 2 and literal == [True, False] and tokens[1] is Wildcard.MANY:
        return "prefix"
    if len(tokens) == 2 and literal == [False, True] and tokens[0] is Wildcard.MANY:
        return "suffix"
    if len(tokens) == 3 and literal == [False, True, False] and Wildcard.ONE not in tokens:
        return "contains"
    return "glob"


def _grouped(groups: dict[str, list[str]], *, require_all: bool) -> list[StringTest]:
    """Tests that check a whole group of same-shaped values in one call where possible."""
    equals, prefixes = groups["equals"], tuple(groups["prefix"])
    suffixes, contains = tuple(groups["suffix"]), tuple(groups["contains"])
    tests: list[StringTest] = []
    if require_all:
        tests += [value.__eq__ for value in equals]
        tests += [_prefix((value,)) for value in prefixes]
        tests += [_suffix((value,)) for value in suffixes]
        if contains:
            tests.append(_contains_all(contains))
        return tests
    if equals:
        tests.append(frozenset(equals).__contains__)
    if prefixes:
        tests.append(_prefix(prefixes))
    if suffixes:
        tests.append(_suffix(suffixes))
    if contains:
        tests.append(_contains_any(contains))
    return tests


def combine(tests: Sequence[Callable[[T], bool]], *, require_all: bool) -> Callable[[T], bool]:
    """Join tests on the same value with and/or, short-circuiting."""
    if len(tests) == 1:
        return tests[0]
    checks = tuple(tests)
    if require_all:

        def every(value: T) -> bool:
            # Plain loops: twice as fast as all()/any() over a generator on this hot path.
            for check in checks:  # noqa: SIM110
                if not check(value):
                    return False
            return True

        return every

    def some(value: T) -> bool:
        for check in checks:  # noqa: SIM110
            if check(value):
                return True
        return False

    return some


def _always(value: str) -> bool:
    return True


def _prefix(prefixes: tuple[str, ...]) -> StringTest:
    def test(value: str) -> bool:
        return value.startswith(prefixes)

    return test


def _suffix(suffixes: tuple[str, ...]) -> StringTest:
    def test(value: str) -> bool:
        return value.endswith(suffixes)

    return test


def _contains_any(parts: tuple[str, ...]) -> StringTest:
    if len(parts) == 1:
        part = parts[0]
        return lambda value: part in value

    def test(value: str) -> bool:
        for part in parts:  # noqa: SIM110
            if part in value:
                return True
        return False

    return test


def _contains_all(parts: tuple[str, ...]) -> StringTest:
    def test(value: str) -> bool:
        for part in parts:  # noqa: SIM110
            if part not in value:
                return False
        return True

    return test


@dataclass(frozen=True, slots=True)
class _Segment:
    """A run between ``*`` wildcards: plain text, or fixed-length text with ``?`` wildcards."""

    text: str
    length: int
    pattern: re.Pattern[str] | None

    def at(self, value: str, start: int) -> bool:
        if self.pattern is None:
            return value.startswith(self.text, start)
        return self.pattern.fullmatch(value, start, start + self.length) is not None

    def find(self, value: str, start: int, end: int) -> int:
        if self.pattern is None:
            return value.find(self.text, start, end)
        found = self.pattern.search(value, start, end)
        return -1 if found is None else found.start()


def glob_test(tokens: tuple[Token, ...]) -> StringTest:
    """Match ``*``/``?`` wildcards over the whole value in linear time."""
    segments = [_segment(run) for run in _split_many(tokens)]
    if len(segments) == 1:
        only = segments[0]
        return lambda value: len(value) == only.length and only.at(value, 0)
    head, middle, tail = segments[0], segments[1:-1], segments[-1]
    minimum = sum(segment.length for segment in segments)

    def test(value: str) -> bool:
        if len(value) < minimum or not head.at(value, 0):
            return False
        end = len(value) - tail.length
        if not tail.at(value, end):
            return False
        position = head.length
        for segment in middle:
            found = segment.find(value, position, end)
            if found < 0:
                return False
            position = found + segment.length
        return True

    return test


def _split_many(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]]:
    runs: list[tuple[Token, ...]] = [()]
    for token in tokens:
        if token is Wildcard.MANY:
            runs.append(())
        else:
            runs[-1] = (*runs[-1], token)
    return runs


def _segment(run: tuple[Token, ...]) -> _Segment:
    text = "".join(token if isinstance(token, str) else "?" for token in run)
    if Wildcard.ONE not in run:
        return _Segment(text, len(text), None)
    source = "".join(re.escape(token) if isinstance(token, str) else "." for token in run)
    return _Segment(text, len(text), re.compile(source, re.DOTALL))
