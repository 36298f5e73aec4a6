"""One multi-literal automaton per log type, run over whole blocks of bytes.

Every rule that applies to a log type contributes the literals one of which must appear in a
line it can match (design.md section 6). The automaton finds the lines holding any literal, and
which literals they hold, so only those lines are parsed and only the rules they concern are
evaluated. Matching is case-insensitive (Sigma's default).

hyperscan is used where its wheel exists (x86_64); pyahocorasick everywhere else. Set
``EXHUNT_PREFILTER=ahocorasick`` to force the portable engine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import ahocorasick

log = logging.getLogger(__name__)

try:  # optional accelerator: no wheel for Linux aarch64
    import hyperscan

    HAS_HYPERSCAN = True
except ImportError:  # pragma: no cover - depends on the platform
    HAS_HYPERSCAN = False


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
    engine = "hyperscan"

    def __init__(self, literals: Sequence[str]) -> None:
        super().__init__(literals)
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[_hs_escape(literal) for literal in self.literals],
            ids=list(range(len(self.literals))),
            flags=[hyperscan.HS_FLAG_CASELESS] * len(self.literals),
        )

    def _ends(self, block: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        add = found.append

        def on_match(pattern: int, start: int, end: int, flags: int, context: object) -> None:
            add((end, pattern))

        self._db.scan(block, match_event_handler=on_match)
        return found


class AhoCorasickMatcher(LiteralMatcher):
    engine = "pyahocorasick"

    def __init__(self, literals: Sequence[str]) -> None:
        super().__init__(literals)
        self._automaton = ahocorasick.Automaton()
        for index, literal in enumerate(self.literals):
            # Keys in the same latin-1 view of the UTF-8 bytes as the text searched.
            self._automaton.add_word(literal.encode("utf-8").lower().decode("latin-1"), index)
        self._automaton.make_automaton()

    def _ends(self, block: bytes) -> list[tuple[int, int]]:
        # latin-1 maps each byte to one character, so offsets stay byte offsets.
        text = block.lower().decode("latin-1")
        return [(end + 1, index) for end, index in self._automaton.iter(text)]


def build_matcher(literals: Sequence[str]) -> LiteralMatcher:
    """The fastest available matcher for ``literals``; no literals gives one that finds nothing."""
    if not literals:
        return LiteralMatcher(())
    forced = os.environ.get("EXHUNT_PREFILTER", "").lower()
    if HAS_HYPERSCAN and forced != "ahocorasick":
        return HyperscanMatcher(literals)
    return AhoCorasickMatcher(literals)


def _hs_escape(literal: str) -> bytes:
    """A hyperscan pattern matching ``literal`` exactly: every non-alphanumeric byte as \\xHH."""
    out = bytearray()
    for byte in literal.encode("utf-8"):
        if chr(byte).isalnum() and byte < 128:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out)


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
