"""Block boundaries: the reader gives the same answer whatever its block size.

Files come from :mod:`logbuild`: real rows in random order with damaged lines, empty lines,
repeated headers, mixed line ends, a BOM and the four ways a file can end. Each is read with
block sizes 1, 7, 64, 4096 and the default, with and without a prefilter, and checked against
what the generator says a correct reader reports.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from logbuild import ENDINGS, FORMATS, KINDS, LITERAL, Built, build, found_by_parse
from logread import BLOCK_SIZES, ReadResult, read

from exhunt.artifacts.textlog import markers_for
from exhunt.detect.prefilter import build_matcher

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    HAS_HYPOTHESIS = True
except ImportError:  # pragma: no cover - hypothesis is an optional test dependency
    HAS_HYPOTHESIS = False


def _read_all(built: Built, literal: bool) -> list[ReadResult]:
    results = []
    for size in BLOCK_SIZES:
        matcher = build_matcher([LITERAL.upper()]) if literal else None
        results.append(read(built.data, built.parser, matcher=matcher, block_size=size))
    return results


def _read_marked(built: Built) -> list[ReadResult]:
    """As the scan reads: the prefilter also finds the reader's structural markers."""
    matcher = build_matcher([LITERAL.upper()], markers_for(built.parser))
    return [read(built.data, built.parser, matcher=matcher, block_size=s) for s in BLOCK_SIZES]


def check(built: Built) -> None:
    """Every block size gives the same result, and that result is the expected one."""
    for literal in (False, True):
        results = _read_all(built, literal)
        if literal:
            results += _read_marked(built)
        reference = results[0]
        for result in results[1:]:
            assert result.rows == reference.rows
            assert result.stats == reference.stats
        _check_expected(built, reference, literal)


def _check_expected(built: Built, result: ReadResult, literal: bool) -> None:
    expected = built.expected
    stats = result.stats
    data_lines = expected.data_lines
    assert stats.records == len(data_lines)
    assert stats.bytes_read == len(built.data)
    assert stats.truncated is expected.truncated
    if literal:
        assert result.lines == expected.literal_lines
        assert all(row.ids == frozenset({0}) for row in result.rows)
        content = expected.content_lines
        edges = {content[0], content[-1]} if content else set()
        bad = [
            (line, reason)
            for line, reason in expected.bad
            if not found_by_parse(reason) or line in edges or line in result.lines
        ]
    else:
        assert result.lines == [line for line in data_lines if line in _parsed(built, result)]
        bad = expected.bad
    assert result.bad == bad[:20]
    if expected.headerless:
        assert stats.bad_records == max(len(bad), len(data_lines))
    else:
        assert stats.bad_records == len(bad)
    content = expected.content_lines
    if content and content[0] in expected.times:
        assert stats.first == expected.times[content[0]]
    if content and content[-1] in expected.times:
        assert stats.last == expected.times[content[-1]]
    if not expected.times:
        assert stats.first is None
        assert stats.last is None


def _parsed(built: Built, result: ReadResult) -> set[int]:
    """Lines that yield a record when every line is parsed: all but NUL padding."""
    padding = {line for line, reason in built.expected.bad if reason == "NUL padding"}
    return set(built.expected.data_lines) - padding


def _random_case(rng: random.Random) -> dict[str, Any]:
    count = rng.randrange(0, 14)
    return {
        "fmt": rng.choice(sorted(FORMATS)),
        "kinds": [rng.choice(KINDS) for _ in range(count)],
        "eols": [rng.random() < 0.5 for _ in range(rng.randrange(1, 4))],
        "ending": rng.choice(ENDINGS),
        "bom": rng.random() < 0.3,
        "with_header": rng.random() < 0.85,
    }


@pytest.mark.parametrize("seed", range(40))
def test_block_sizes_agree_on_random_files(seed: int) -> None:
    check(build(**_random_case(random.Random(seed))))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("ending", ENDINGS)
def test_block_sizes_agree_on_every_kind_of_line(fmt: str, ending: str) -> None:
    kinds = ["empty", "empty", *KINDS, "empty", "header", "preamble", "row", "empty"]
    check(build(fmt, kinds, [True, False, False], ending, bom=True))


def test_block_sizes_agree_without_header() -> None:
    check(
        build(
            "httpproxy", ["row", "nul", "row", "empty", "utf8"], [False], "truncated", False, False
        )
    )


if HAS_HYPOTHESIS:

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        fmt=st.sampled_from(sorted(FORMATS)),
        kinds=st.lists(st.sampled_from(KINDS), max_size=12),
        eols=st.lists(st.booleans(), min_size=1, max_size=3),
        ending=st.sampled_from(ENDINGS),
        bom=st.booleans(),
        with_header=st.booleans(),
    )
    def test_block_sizes_agree_property(
        fmt: str, kinds: list[str], eols: list[bool], ending: str, bom: bool, with_header: bool
    ) -> None:
        check(build(fmt, kinds, eols, ending, bom, with_header))
