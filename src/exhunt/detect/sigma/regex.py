"""Regular expressions of Sigma ``|re`` values: compiling them safely, and what text they need.

Sigma regular expressions match anywhere in a value (``re.search``) and are case-sensitive unless
flagged ``i``. Python's ``re`` is fast on the short values of log fields but backtracks
exponentially on nested repetition such as ``(a+)+``; such patterns run on RE2 instead (linear
time; installed with pySigma, which validates rule patterns with it).

:func:`required_runs` reads the pattern with the standard library's own parser and returns the
literal text every match must contain, as an and/or tree of runs; :mod:`.literals` turns it into
prefilter literals.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SearchTest = Callable[[str], bool]


def _optional_module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


# The parser behind ``re`` (``re._parser`` since 3.11); private, so every use falls back safely.
_PARSER = _optional_module("re._parser", "sre_parse")
_CONSTANTS = _optional_module("re._constants", "sre_constants")
_RE2 = _optional_module("re2")

# Under Unicode case folding these ASCII letters also match non-ASCII ones (i: U+0130 and
# U+0131, k: U+212A, s: U+017F), so a case-insensitive literal run cannot span them.
_FOLDS_BEYOND_ASCII = frozenset("iksIKS")


class RegexError(ValueError):
    """A pattern neither Python's ``re`` nor RE2 can compile."""


@dataclass(frozen=True, slots=True)
class RunsAll:
    parts: tuple[Runs, ...]


@dataclass(frozen=True, slots=True)
class RunsAny:
    parts: tuple[Runs, ...]


Runs = str | RunsAll | RunsAny | None
"""A literal run, all/any of several requirements, or ``None`` when nothing is required."""


@lru_cache(maxsize=2048)
def search_test(pattern: str, flags: int) -> SearchTest:
    """A function telling whether ``pattern`` matches anywhere in a value.

    Raises:
        RegexError: when the pattern compiles with neither engine.
    """
    pattern = _strip_unanchored_wildcards(pattern)
    tree = _parse(pattern, flags)
    if tree is not None and not _backtracks(tree):
        search = re.compile(pattern, flags).search
        return lambda value: search(value) is not None
    compiled = _compile_re2(pattern, flags)
    if compiled is not None:
        return lambda value: compiled.search(value) is not None
    if tree is not None:
        search = re.compile(pattern, flags).search
        return lambda value: search(value) is not None
    raise RegexError(f"regular expression {pattern!r} does not compile")


def required_runs(pattern: str, flags: int) -> Runs:
    """The literal runs every match of ``pattern`` contains, or ``None`` if unknown."""
    tree = _parse(pattern, flags)
    if tree is None or _CONSTANTS is None:
        return None
    try:
        return _sequence(list(tree), bool(tree.state.flags & re.IGNORECASE))
    except (AttributeError, TypeError, ValueError):
        return None


def _parse(pattern: str, flags: int) -> Any:
    if _PARSER is None:
        return None
    try:
        return _PARSER.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None


def _compile_re2(pattern: str, flags: int) -> Any:
    if _RE2 is None:
        return None
    inline = "".join(letter for flag, letter in _RE2_FLAGS if flags & flag)
    try:
        return _RE2.compile(f"(?{inline}){pattern}" if inline else pattern)
    except Exception:  # re2 raises its own error type; any failure means "not usable"
        return None


_RE2_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


def _strip_unanchored_wildcards(pattern: str) -> str:
    """Drop a leading and trailing ``.*``: redundant for a search, and slow to backtrack."""
    if pattern.startswith(".*") and not pattern.startswith((".*?", ".*+")):
        pattern = pattern[2:]
    if pattern.endswith(".*") and _unescaped_tail(pattern[:-2]):
        pattern = pattern[:-2]
    return pattern


def _unescaped_tail(head: str) -> bool:
    return (len(head) - len(head.rstrip("\\"))) % 2 == 0


def _backtracks(tree: Any) -> bool:
    """Whether a repetition contains another repetition or an alternation (``(a+)+``)."""
    if _CONSTANTS is None:
        return True
    return _nested_repeat(list(tree), inside_repeat=False)


def _nested_repeat(items: list[Any], *, inside_repeat: bool) -> bool:
    for op, av in items:
        for sub, kind in _children(op, av):
            if inside_repeat and kind != "group":
                return True
            if _nested_repeat(sub, inside_repeat=inside_repeat or kind == "repeat"):
                return True
    return False


def _children(op: Any, av: Any) -> list[tuple[list[Any], str]]:
    """Sub-sequences of one parsed item: ``repeat`` (may run more than once), ``branch``
    (an alternative) or ``group`` (once)."""
    c = _CONSTANTS
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) or op is getattr(c, "POSSESSIVE_REPEAT", None):
        _low, high, sub = av
        return [(list(sub), "repeat" if high > 1 else "optional")]
    if op is c.BRANCH:
        return [(list(alternative), "branch") for alternative in av[1]]
    if op is c.SUBPATTERN:
        return [(list(av[-1]), "group")]
    if op is getattr(c, "ATOMIC_GROUP", None):
        return [(list(av), "group")]
    return []


def _sequence(items: list[Any], ignorecase: bool) -> Runs:
    """Requirements of a sequence: every literal run and every required group in it."""
    c = _CONSTANTS
    parts: list[Runs] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            parts.append("".join(run))
            run.clear()

    for op, av in items:
        if op is c.LITERAL and not (ignorecase and chr(av) in _FOLDS_BEYOND_ASCII):
            run.append(chr(av))
            continue
        flush()
        parts.append(_item(op, av, ignorecase))
    flush()
    return _all(parts)


def _item(op: Any, av: Any, ignorecase: bool) -> Runs:
    c = _CONSTANTS
    if op is c.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        nested = (ignorecase or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        return _sequence(list(sub), nested)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT) or op is getattr(c, "POSSESSIVE_REPEAT", None):
        low, _high, sub = av
        return _sequence(list(sub), ignorecase) if low >= 1 else None
    if op is c.BRANCH:
        alternatives = [_sequence(list(alt), ignorecase) for alt in av[1]]
        if any(alt is None for alt in alternatives):
            return None
        return RunsAny(tuple(alternatives))
    if op is getattr(c, "ATOMIC_GROUP", None):
        return _sequence(list(av), ignorecase)
    # Character classes, "any", anchors, look-arounds, back-references: nothing certain.
    return None


def _all(parts: list[Runs]) -> Runs:
    present = [part for part in parts if part is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else RunsAll(tuple(present))
