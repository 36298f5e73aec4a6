"""One multi-literal automaton per log type, run over whole blocks of bytes.

Every rule that applies to a log type contributes the literals one of which must appear in a
line it can match (design.md section 6). The automaton finds the lines holding any literal, and
which literals they hold, so only those lines are parsed and only the rules they concern are
evaluated. Matching is case-insensitive (Sigma's default).

A rule may also give a :class:`Pattern` (a regular expression) where one literal would select
too many lines, for example a script extension under a folder. hyperscan runs patterns in the
same pass; the portable engine runs them with Python's ``re``.

hyperscan is used where its wheel exists (x86_64); pyahocorasick everywhere else. Set
``EXHUNT_PREFILTER=ahocorasick`` to force the portable engine. A hyperscan database of many
literals (the whole SigmaHQ repository gives some 12,000) takes a noticeable part of a second
to compile: it is serialised to the cache folder and loaded from there by the next scan.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence

import ahocorasick

from exhunt.cachedir import read_entry, write_entry

log = logging.getLogger(__name__)

try:  # optional accelerator: no wheel for Linux aarch64
    import hyperscan

    HAS_HYPERSCAN = True
except ImportError:  # pragma: no cover - depends on the platform
    HAS_HYPERSCAN = False


class Pattern(str):
    """A prefilter needle that is a regular expression (PCRE subset, no lookaround), not text.

    It must not match across a line end; matching ignores case.
    """

    __slots__ = ()


class LiteralMatcher:
    """Finds the lines of a block containing any of ``literals`` (ASCII, any case)."""

    engine = "none"

    def __init__(self, literals: Sequence[str]) -> None:
        self.literals = tuple(literals)

    def select(self, block: bytes) -> list[tuple[int, frozenset[int]]]:
        """(line start, ids of the literals in that line) for every matching line, by offset."""
        return _group_by_line(block, self._ends(block))

    def _ends(self, block: bytes) -> list[tuple[int, int]]:
        """(end offset, literal id) of every occurrence, in any order."""
        return []


class HyperscanMatcher(LiteralMatcher):
    """Literals, patterns and the log reader's structural markers in one hyperscan pass."""

    engine = "hyperscan"

    def __init__(self, literals: Sequence[str], markers: Sequence[tuple[bytes, bool]] = ()) -> None:
        super().__init__(literals)
        self.markers = tuple(markers)
        count = len(self.literals)
        expressions = [_hs_expression(literal) for literal in self.literals]
        flags = [hyperscan.HS_FLAG_CASELESS] * count
        for marker, first_only in self.markers:
            expressions.append(_hs_escape_bytes(marker))
            flags.append(hyperscan.HS_FLAG_SINGLEMATCH if first_only else 0)
        self._db = _hs_database(expressions, flags)

    def _ends(self, block: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        add = found.append

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            add((end, pattern))

        self._db.scan(block, match_event_handler=on_match)
        return found

    def select(self, block: bytes) -> list[tuple[int, frozenset[int]]]:
        return self.scan(block)[0] if self.markers else super().select(block)

    def scan(self, block: bytes) -> tuple[list[tuple[int, frozenset[int]]], list[list[int]]]:
        """Selected lines, and the end offsets of each marker (in marker order)."""
        count = len(self.literals)
        literal_ends: list[tuple[int, int]] = []
        marker_ends: list[list[int]] = [[] for _ in self.markers]
        for end, pattern in self._ends(block):
            if pattern < count:
                literal_ends.append((end, pattern))
            else:
                marker_ends[pattern - count].append(end)
        for ends in marker_ends:
            ends.sort()
        return _group_by_line(block, literal_ends), marker_ends


class AhoCorasickMatcher(LiteralMatcher):
    engine = "pyahocorasick"

    def __init__(self, literals: Sequence[str]) -> None:
        super().__init__(literals)
        self._automaton = ahocorasick.Automaton()
        self._patterns: list[tuple[int, re.Pattern[bytes]]] = []
        for index, literal in enumerate(self.literals):
            if isinstance(literal, Pattern):
                self._patterns.append((index, re.compile(literal.encode(), re.IGNORECASE)))
            else:
                # Keys in the same latin-1 view of the UTF-8 bytes as the text searched.
                key = literal.encode("utf-8").lower().decode("latin-1")
                self._automaton.add_word(key, index)
        self._has_words = len(self._patterns) < len(self.literals)
        if self._has_words:
            self._automaton.make_automaton()

    def _ends(self, block: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if self._has_words:
            # latin-1 maps each byte to one character, so offsets stay byte offsets.
            text = block.lower().decode("latin-1")
            found = [(end + 1, index) for end, index in self._automaton.iter(text)]
        for index, pattern in self._patterns:
            found.extend((match.end(), index) for match in pattern.finditer(block))
        return found


def build_matcher(
    literals: Sequence[str], markers: Sequence[tuple[bytes, bool]] = ()
) -> LiteralMatcher:
    """The fastest available matcher for ``literals``; no literals gives one that finds nothing.

    ``markers`` (byte strings, and whether the first occurrence is enough) are located in the
    same pass by engines that can; others leave them to the caller.
    """
    if not literals:
        return LiteralMatcher(())
    forced = os.environ.get("EXHUNT_PREFILTER", "").lower()
    if HAS_HYPERSCAN and forced != "ahocorasick":
        return HyperscanMatcher(literals, markers)
    return AhoCorasickMatcher(literals)


def _hs_expression(needle: str) -> bytes:
    return needle.encode("utf-8") if isinstance(needle, Pattern) else _hs_escape(needle)


def _hs_escape(literal: str) -> bytes:
    """A hyperscan pattern matching ``literal`` exactly: every non-alphanumeric byte as \\xHH."""
    return _hs_escape_bytes(literal.encode("utf-8"))


_ESCAPED = [
    bytes([byte]) if chr(byte).isalnum() and byte < 128 else b"\\x%02x" % byte
    for byte in range(256)
]


def _hs_escape_bytes(literal: bytes) -> bytes:
    return b"".join([_ESCAPED[byte] for byte in literal])


CACHED_MIN_EXPRESSIONS = 500
"""Smaller databases compile faster than a cache entry is read and checked."""


def _hs_database(expressions: Sequence[bytes], flags: Sequence[int]) -> hyperscan.Database:
    """A block-mode database of ``expressions``: from the cache when it was compiled before."""
    ids = list(range(len(expressions)))
    if len(expressions) < CACHED_MIN_EXPRESSIONS:
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=list(expressions), ids=ids, flags=list(flags))
        return db
    version = getattr(hyperscan, "__version__", "")
    digest = hashlib.sha256(f"{version}|{hyperscan.HS_MODE_BLOCK}".encode())
    for expression, flag in zip(expressions, flags, strict=True):
        digest.update(b"%d:%d:" % (flag, len(expression)) + expression)
    name = f"hyperscan-{digest.hexdigest()[:32]}.db"
    cached = read_entry(name)
    if cached is not None:
        try:
            loaded = hyperscan.loadb(cached, hyperscan.HS_MODE_BLOCK)
            loaded.scratch = hyperscan.Scratch(loaded)  # compile() makes one; loadb() does not
            return loaded
        except Exception:  # damaged or foreign (hyperscan has several error types): rebuild
            log.debug("hyperscan cache entry %s unusable", name)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=list(expressions), ids=ids, flags=list(flags))
    write_entry(name, hyperscan.dumpb(db))
    return db


def _group_by_line(block: bytes, ends: list[tuple[int, int]]) -> list[tuple[int, frozenset[int]]]:
    if not ends:
        return []
    ends.sort()
    lines: list[tuple[int, frozenset[int]]] = []
    line_end = -1
    start = 0
    ids: set[int] = set()
    for end, literal in ends:
        if end > line_end:
            if ids:
                lines.append((start, frozenset(ids)))
            start = block.rfind(b"\n", 0, end - 1) + 1
            line_end = block.find(b"\n", end - 1)
            if line_end == -1:
                line_end = len(block)
            ids = set()
        ids.add(literal)
    lines.append((start, frozenset(ids)))
    return lines
