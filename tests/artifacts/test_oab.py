"""OAB generator log: kept whole, with its leading time, when it has no header."""

from __future__ import annotations

from datetime import UTC, datetime

from logread import OAB, read, sample

from exhunt.artifacts.base import HeaderState
from exhunt.artifacts.oab import OabGeneratorLog
from exhunt.detect.prefilter import build_matcher


def test_headerless_lines_are_kept_whole() -> None:
    data = sample(OAB)
    result = read(data, OabGeneratorLog())
    assert result.stats.bad_records == 0
    assert result.lines == [1, 2]
    first = result.rows[0]
    assert first.fields == {"line": data.split(b"\n")[0].decode()}
    assert first.time == datetime(2021, 3, 3, 6, 50, 8, 512000, tzinfo=UTC)
    assert result.stats.last == datetime(2021, 3, 3, 7, 0, 0, 20000, tzinfo=UTC)


def test_literal_selects_download_failures() -> None:
    matcher = build_matcher(["Download failed and temporary file"])
    result = read(sample(OAB), OabGeneratorLog(), matcher=matcher)
    assert [(row.line, row.ids) for row in result.rows] == [
        (1, frozenset({0})),
        (2, frozenset({0})),
    ]


def test_line_without_time() -> None:
    parsed = OabGeneratorLog().parse(HeaderState(), "Generation started")
    assert parsed.fields == {"line": "Generation started"}
    assert parsed.time is None
    assert parsed.error is None


def test_csv_form_is_read_by_its_header() -> None:
    data = (
        b"#Software: Microsoft Exchange Server\r\n"
        b"#Fields: DateTime,Level,Message\r\n"
        b'2021-03-03T06:50:08.512Z,Error,"Download failed and temporary file '
        b"'\\\\10.0.0.9\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx' needs to be removed\"\r\n"
    )
    result = read(data, OabGeneratorLog())
    assert result.stats.bad_records == 0
    assert result.rows[0].fields["Message"] == (
        "Download failed and temporary file "
        "'\\\\10.0.0.9\\c$\\inetpub\\wwwroot\\aspnet_client\\x.aspx' needs to be removed"
    )
