"""The prefilter path: only lines holding a literal are parsed and yielded, all are counted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from logread import BLOCK_SIZES, HTTPPROXY_70, IIS_0305, read, sample

from exhunt.artifacts.httpproxy import HttpProxyLog
from exhunt.artifacts.iis import IisW3cLog
from exhunt.detect import prefilter
from exhunt.detect.prefilter import AhoCorasickMatcher, LiteralMatcher, build_matcher

LITERALS = ["PROXYLOGON.ecp", "getobject", "AnchorMailbox", "130.255.189.21/none"]
"""Two literals of data rows in odd case, one only in header lines, one nowhere."""


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def engines() -> list[type[LiteralMatcher]]:
    found: list[type[LiteralMatcher]] = [AhoCorasickMatcher]
    if prefilter.HAS_HYPERSCAN:
        found.append(prefilter.HyperscanMatcher)
    return found


def expected_lines(data: bytes, literals: list[str]) -> list[tuple[int, frozenset[int]]]:
    """Data lines holding any literal, case-insensitively, with the literals' ids."""
    found = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.startswith((b"#", b"DateTime,")):
            continue
        ids = frozenset(i for i, lit in enumerate(literals) if lit.lower().encode() in line.lower())
        if ids:
            found.append((number, ids))
    return found


@pytest.mark.parametrize("engine", engines(), ids=lambda e: e.engine)
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_only_lines_with_a_literal_are_yielded(
    engine: type[LiteralMatcher], block_size: int
) -> None:
    data = sample(HTTPPROXY_70)
    result = read(data, HttpProxyLog(), matcher=engine(LITERALS), block_size=block_size)
    assert [(row.line, row.ids) for row in result.rows] == [
        (9, frozenset({0})),
        (10, frozenset({1})),
    ]
    assert expected_lines(data, LITERALS) == [(9, frozenset({0})), (10, frozenset({1}))]
    assert result.rows[0].fields["HttpStatus"] == "241"
    # Lines not selected are still counted; the first and last data lines give the times.
    assert result.stats.records == 6
    assert result.stats.parsed == 4
    assert result.stats.first == t("2021-03-03T06:49:42.162")
    assert result.stats.last == t("2021-03-03T06:59:20.359")
    assert result.stats.first_record is not None
    assert result.stats.first_record.line == 7
    assert result.stats.last_record is not None
    assert result.stats.last_record.line == 12
    assert result.stats.bad_records == 0


def test_several_literals_on_one_line() -> None:
    data = sample(HTTPPROXY_70)
    literals = ["resetoabvirtualdirectory", "SetObject", "python-requests", "y.js"]
    result = read(data, HttpProxyLog(), matcher=build_matcher(literals))
    assert [(row.line, row.ids) for row in result.rows] == expected_lines(data, literals)
    assert result.rows[-1].line == 12
    assert result.rows[-1].ids == frozenset({0, 1, 2, 3})
    assert result.rows[0].ids == frozenset({3})


def test_engines_agree_on_iis_lines() -> None:
    data = sample(IIS_0305)
    literals = ["redirsuiteserverproxy.ASPX", "cafeReqId=8c45", "w3svc1 10.0.0.5", "+like+gecko"]
    results = [read(data, IisW3cLog(), matcher=engine(literals)) for engine in engines()]
    for result in results:
        assert [(row.line, row.ids) for row in result.rows] == [
            (5, frozenset({0, 3})),
            (10, frozenset({0, 1, 2, 3})),
        ]
        assert result.stats == results[0].stats


def test_selected_lines_keep_their_fields() -> None:
    data = sample(HTTPPROXY_70)
    everything = read(data, HttpProxyLog())
    filtered = read(data, HttpProxyLog(), matcher=build_matcher(["proxylogon"]))
    by_line = {row.line: row for row in everything.rows}
    for row in filtered.rows:
        assert row.fields == by_line[row.line].fields
        assert row.time == by_line[row.line].time
        assert row.raw == by_line[row.line].raw


def test_no_literals_selects_nothing() -> None:
    data = sample(HTTPPROXY_70)
    result = read(data, HttpProxyLog(), matcher=build_matcher([]))
    assert result.rows == []
    assert result.stats.records == 6
    assert result.stats.first == t("2021-03-03T06:49:42.162")
    assert result.stats.last == t("2021-03-03T06:59:20.359")


def test_forced_portable_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXHUNT_PREFILTER", "ahocorasick")
    assert build_matcher(["x-beresource-cookie"]).engine == "pyahocorasick"


@pytest.mark.skipif(not prefilter.HAS_HYPERSCAN, reason="hyperscan has no wheel here")
def test_large_databases_come_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXHUNT_CACHE_DIR", str(tmp_path))
    literals = [f"needle{n:04d}" for n in range(prefilter.CACHED_MIN_EXPRESSIONS)]
    block = b"a needle0007 here\nnothing\nNEEDLE0499 and needle0007\n"
    expected = [(0, frozenset({7})), (26, frozenset({7, 499}))]
    assert build_matcher(literals).select(block) == expected
    (entry,) = list(tmp_path.glob("hyperscan-*.db"))
    assert build_matcher(literals).select(block) == expected  # loaded from the entry
    entry.write_bytes(b"damaged")
    assert build_matcher(literals).select(block) == expected  # compiled again
    assert entry.read_bytes() != b"damaged"
    assert build_matcher(literals[:10]).select(block) == [(0, frozenset({7})), (26, frozenset({7}))]
    assert len(list(tmp_path.glob("hyperscan-*.db"))) == 1  # small sets are not cached
