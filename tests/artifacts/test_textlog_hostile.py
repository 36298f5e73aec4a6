"""The log reader on damaged and unusual files: every case it promises to survive."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from logread import (
    BLOCK_SIZES,
    HTTPPROXY_70,
    HTTPPROXY_74,
    IIS_0305,
    crlf,
    read,
    sample,
)

from exhunt.artifacts.httpproxy import HttpProxyLog
from exhunt.artifacts.iis import IisW3cLog
from exhunt.artifacts.textlog import MAX_LINE
from exhunt.detect.prefilter import build_matcher

BOM = b"\xef\xbb\xbf"
UTF8_REASON = "not valid UTF-8; decoded with replacement characters"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows_of(data: bytes) -> list[bytes]:
    """The data rows (not directives, not header rows) of an HttpProxy sample."""
    return [
        line for line in data.split(b"\n") if line and not line.startswith((b"#", b"DateTime,"))
    ]


# -- line ends, BOM ---------------------------------------------------------------------------


def test_httpproxy_sample_header_row_before_preamble() -> None:
    data = sample(HTTPPROXY_74)
    result = read(data, HttpProxyLog())
    assert result.lines == [7]
    assert result.stats.records == 1
    assert result.stats.bad_records == 0
    assert [name for _, name, _ in result.stats.directives] == [
        "Software",
        "Version",
        "Log-type",
        "Date",
        "Fields",
    ]
    assert [line for line, _, _ in result.stats.directives] == [2, 3, 4, 5, 6]
    assert result.stats.sha256 == sha(data)
    assert result.stats.bytes_read == len(data)
    assert result.stats.first == result.stats.last == t("2023-01-06T11:47:32.435")
    assert result.rows[0].fields["RoutingStatus"] == "CafeV1"


def test_crlf_and_lf_give_the_same_records() -> None:
    lf = sample(HTTPPROXY_70)
    crlf_data = crlf(lf)
    assert crlf_data != lf
    a = read(lf, HttpProxyLog())
    b = read(crlf_data, HttpProxyLog())
    assert a.rows == b.rows
    assert all("\r" not in row.raw for row in b.rows)
    assert b.stats.records == a.stats.records == 6
    assert b.stats.bad_records == 0
    assert b.stats.sha256 == sha(crlf_data) != a.stats.sha256
    assert b.stats.directives == a.stats.directives


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_utf8_bom_is_skipped_but_hashed(block_size: int) -> None:
    plain = sample(IIS_0305)
    data = BOM + plain
    result = read(data, IisW3cLog(), block_size=block_size)
    reference = read(plain, IisW3cLog())
    assert result.rows == reference.rows
    assert result.stats.bad_records == 0
    assert result.stats.directives[0] == (
        1,
        "Software",
        "Microsoft Internet Information Services 10.0",
    )
    assert result.stats.bytes_read == len(data)
    assert result.stats.sha256 == sha(data)


def test_bom_only_at_file_start_counts() -> None:
    data = sample(HTTPPROXY_70)
    rows = rows_of(data)
    damaged = data.replace(rows[1], BOM + rows[1])
    result = read(damaged, HttpProxyLog())
    # A BOM inside the file is not stripped: the time column no longer parses.
    assert result.bad == [(8, "bad time '\\ufeff2021-03-03T06:49:43.699Z'")]


# -- headers ---------------------------------------------------------------------------------


def test_repeated_header_and_preamble_mid_file() -> None:
    first = sample(HTTPPROXY_70)
    data = first + first  # as when the service restarts and writes its header again
    result = read(data, HttpProxyLog())
    assert result.lines == [7, 8, 9, 10, 11, 12, 19, 20, 21, 22, 23, 24]
    assert result.stats.records == 12
    assert result.stats.bad_records == 0
    assert [line for line, name, _ in result.stats.directives if name == "Fields"] == [6, 18]


def test_header_row_alone_repeated_mid_file() -> None:
    data = sample(HTTPPROXY_70)
    rows = rows_of(data)
    header = data.split(b"\n")[0]
    mixed = data.replace(rows[3] + b"\n", rows[3] + b"\n" + header + b"\n")
    result = read(mixed, HttpProxyLog())
    assert result.lines == [7, 8, 9, 10, 12, 13]
    assert result.stats.records == 6
    assert result.stats.bad_records == 0


def test_iis_fields_change_after_restart() -> None:
    data = sample(IIS_0305)
    result = read(data, IisW3cLog())
    assert result.lines == [5, 10]
    first, second = result.rows
    assert len(first.fields) == 15
    assert first.fields["s-ip"] == "10.0.0.5"
    assert first.fields["time-taken"] == "133"
    assert "X-Forwarded-For" not in first.fields
    assert len(second.fields) == 17
    assert second.fields["s-sitename"] == "W3SVC1"
    assert second.fields["c-ip"] == "10.0.0.2"
    assert second.fields["X-Forwarded-For"] == "139.162.202.236,+10.0.0.2"
    assert second.time == t("2021-03-05T08:11:58")
    assert result.stats.bad_records == 0
    assert result.stats.records == 2
    dates = [value for _, name, value in result.stats.directives if name == "Date"]
    assert dates == ["2021-03-05 00:00:01", "2021-03-05 07:02:11"]


def test_iis_line_with_old_field_count_after_change_is_bad() -> None:
    data = sample(IIS_0305)
    old_row = data.split(b"\r\n")[4]
    damaged = data + old_row + b"\r\n"
    result = read(damaged, IisW3cLog())
    assert result.bad == [(11, "15 values for 17 fields")]
    assert result.rows[-1].fields["X-Forwarded-For"] == ""


def test_file_without_any_header() -> None:
    data = b"\n".join(rows_of(sample(HTTPPROXY_70))[:3]) + b"\n"
    result = read(data, HttpProxyLog())
    assert result.lines == [1, 2, 3]
    assert result.stats.records == 3
    assert result.bad == [(n, "no header line before this record") for n in (1, 2, 3)]
    assert result.rows[0].fields == {"line": data.split(b"\n")[0].decode()}
    assert result.rows[0].time is None
    assert result.stats.first is None
    assert result.stats.last is None


def test_iis_file_without_fields_directive() -> None:
    lines = sample(IIS_0305).split(b"\r\n")
    data = lines[4] + b"\r\n"
    result = read(data, IisW3cLog())
    assert result.bad == [(1, "no #Fields: directive before this line")]
    assert result.stats.records == 1


def test_empty_file() -> None:
    result = read(b"", HttpProxyLog())
    assert result.rows == []
    assert result.stats.records == 0
    assert result.stats.bad_records == 0
    assert result.stats.bytes_read == 0
    assert result.stats.sha256 == sha(b"")
    assert result.stats.first is None
    assert result.stats.last is None
    assert result.stats.truncated is False


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_file_of_only_directives(block_size: int) -> None:
    data = b"".join(line + b"\n" for line in sample(HTTPPROXY_74).split(b"\n")[:6])
    result = read(data, HttpProxyLog(), block_size=block_size)
    assert result.rows == []
    assert result.stats.records == 0
    assert result.stats.bad_records == 0
    assert len(result.stats.directives) == 5
    assert result.stats.first is None
    assert result.stats.last is None
    assert result.stats.sha256 == sha(data)


# -- empty lines -----------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_empty_lines_are_not_records(eol: bytes) -> None:
    data = sample(HTTPPROXY_70).replace(b"\n", eol)
    rows = rows_of(data.replace(b"\r", b""))
    spaced = data.replace(rows[0] + eol, rows[0] + eol * 4).replace(
        rows[2] + eol, rows[2] + eol * 2
    )
    spaced = eol + spaced
    result = read(spaced, HttpProxyLog())
    assert result.lines == [8, 12, 13, 15, 16, 17]
    assert result.stats.records == 6
    assert result.stats.bad_records == 0


# -- damaged lines ---------------------------------------------------------------------------


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_truncated_last_line(block_size: int) -> None:
    data = sample(HTTPPROXY_70)
    cut = data[: data.rindex(b",X-BEResource-Cookie")]
    values = len(cut.split(b"\n")[-1].split(b","))
    result = read(cut, HttpProxyLog(), block_size=block_size)
    assert values == 27
    assert result.lines == [7, 8, 9, 10, 11, 12]
    assert result.bad == [(12, "truncated last line (27 values for 70 fields)")]
    assert result.stats.truncated is True
    assert result.stats.records == 6
    last = result.rows[-1]
    assert last.fields["RoutingType"] == "IntraForest"
    assert last.fields["RoutingHint"] == ""
    assert result.stats.last == t("2021-03-03T06:59:18.042")
    assert result.stats.sha256 == sha(cut)


def test_last_line_without_newline_but_complete_is_good() -> None:
    data = sample(HTTPPROXY_70).rstrip(b"\n")
    result = read(data, HttpProxyLog())
    assert result.stats.bad_records == 0
    assert result.stats.truncated is False
    assert result.stats.records == 6
    assert result.stats.last == t("2021-03-03T06:59:20.359")


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_nul_padding_at_end(block_size: int) -> None:
    data = sample(HTTPPROXY_70) + b"\x00" * 5000
    result = read(data, HttpProxyLog(), block_size=block_size)
    assert result.lines == [7, 8, 9, 10, 11, 12]
    assert result.bad == [(13, "NUL padding")]
    assert result.stats.records == 7
    assert result.stats.last == t("2021-03-03T06:59:20.359")
    assert result.stats.sha256 == sha(data)
    assert result.stats.truncated is False


def test_nul_padding_reason_is_the_same_whether_selected_or_not() -> None:
    data = sample(HTTPPROXY_70) + b"\x00" * 100
    plain = read(data, HttpProxyLog())
    filtered = read(data, HttpProxyLog(), matcher=build_matcher(["proxyLogon.ecp"]))
    assert plain.bad == filtered.bad == [(13, "NUL padding")]


def test_nul_bytes_inside_a_line() -> None:
    data = sample(HTTPPROXY_70)
    damaged = data.replace(b"python-requests/2.25.1", b"python-req\x00uests/2.25.1", 1)
    result = read(damaged, HttpProxyLog())
    assert result.bad == [(8, "NUL bytes")]
    row = result.rows[1]
    assert row.fields["UserAgent"] == "python-requests/2.25.1"
    assert "\x00" not in row.raw
    assert row.time == t("2021-03-03T06:49:43.699")
    assert result.stats.records == 6


def test_non_utf8_user_agent_is_bad_but_parsed_and_selectable() -> None:
    data = sample(HTTPPROXY_70)
    damaged = data.replace(b"python-requests/2.25.1", b"\xff\xfepython-requests/2.25.1\xc3", 1)
    matcher = build_matcher(["python-requests"])
    result = read(damaged, HttpProxyLog(), matcher=matcher)
    assert result.lines == [8, 9, 10, 11, 12]
    assert result.rows[0].ids == frozenset({0})
    assert result.rows[0].fields["UserAgent"] == "\ufffd\ufffdpython-requests/2.25.1\ufffd"
    assert result.rows[0].fields["ClientIpAddress"] == "130.255.189.21"
    assert result.bad == [(8, UTF8_REASON)]
    unselected = read(damaged, HttpProxyLog(), matcher=build_matcher(["zzzz-nothing"]))
    assert unselected.rows == []
    assert unselected.bad == [(8, UTF8_REASON)]


def test_quote_and_carriage_return_inside_a_row_do_not_crash() -> None:
    data = sample(HTTPPROXY_70)
    damaged = data.replace(b"python-requests/2.25.1", b'"evil ""agent"", x"', 1).replace(
        b"ExchangeServicesClient/0.0.0.0", b'Exchange"Services\rClient', 1
    )
    result = read(damaged, HttpProxyLog())
    assert result.stats.bad_records == 0
    assert result.rows[0].fields["UserAgent"] == 'Exchange"Services\rClient'
    assert result.rows[1].fields["UserAgent"] == 'evil "agent", x'
    assert result.rows[1].fields["ClientIpAddress"] == "130.255.189.21"


def test_quoted_field_longer_than_the_csv_module_limit() -> None:
    data = sample(HTTPPROXY_70)
    long_agent = "A" * 200_000 + '""x'
    damaged = data.replace(b"python-requests/2.25.1", f'"{long_agent}"'.encode(), 1)
    result = read(damaged, HttpProxyLog())
    assert result.stats.bad_records == 0
    assert result.rows[1].fields["UserAgent"] == "A" * 200_000 + '"x'
    assert result.rows[1].fields["HttpStatus"] == "200"


# -- overlong lines --------------------------------------------------------------------------


def _with_long_line(length: int) -> tuple[bytes, bytes]:
    data = sample(HTTPPROXY_70)
    rows = rows_of(data)
    long_row = rows[2].replace(b"/ecp/y.js", b"/ecp/" + b"x" * length, 1)
    return data.replace(rows[2], long_row), long_row


@pytest.mark.parametrize("block_size", [4096, 65536, 3 << 20, 16 << 20])
def test_line_longer_than_cap_is_cut_once(block_size: int) -> None:
    data, long_row = _with_long_line(MAX_LINE + MAX_LINE // 2)
    result = read(data, HttpProxyLog(), block_size=block_size)
    reason = f"line longer than {MAX_LINE} bytes, cut"
    assert result.bad == [(9, reason)]
    assert result.stats.bad_records == 1
    assert result.stats.records == 6
    assert result.lines == [7, 8, 9, 10, 11, 12]
    cut = result.rows[2]
    assert len(cut.raw.encode()) == MAX_LINE
    assert cut.raw.encode() == long_row[:MAX_LINE]
    assert result.rows[3].fields["HttpStatus"] == "200"
    assert result.stats.sha256 == sha(data)
    assert result.stats.bytes_read == len(data)


def test_line_of_exactly_the_cap_is_kept_whole() -> None:
    data, long_row = _with_long_line(0)
    data, long_row = _with_long_line(MAX_LINE - len(long_row))
    assert len(long_row) == MAX_LINE
    result = read(data, HttpProxyLog(), block_size=4096)
    assert result.stats.bad_records == 0
    assert result.rows[2].raw.encode() == long_row


def test_overlong_last_line_without_newline() -> None:
    data = sample(HTTPPROXY_70) + b"2021-03-03T07:00:00.000Z," + b"y" * (MAX_LINE * 2)
    for block_size in (4096, 1 << 20, 16 << 20):
        result = read(data, HttpProxyLog(), block_size=block_size)
        # A last line that also fails to parse is reported as the truncation it looks like.
        assert result.bad == [(13, "truncated last line (2 values for 70 fields)")]
        assert result.stats.truncated is True
        assert len(result.rows[-1].raw) == MAX_LINE
        assert result.stats.records == 7


def test_overlong_lines_in_the_middle_of_a_block_and_of_a_read() -> None:
    rows = rows_of(sample(HTTPPROXY_70))
    header = sample(HTTPPROXY_70).split(b"\n")[:6]
    longs = [rows[3].replace(b"/ecp/y.js", b"/ecp/" + b"z" * (MAX_LINE + n), 1) for n in (1, 5000)]
    data = b"\n".join([*header, rows[0], longs[0], rows[1], longs[1], rows[2]]) + b"\n"
    reason = f"line longer than {MAX_LINE} bytes, cut"
    for block_size in (4096, 1 << 20, 3 << 20, 16 << 20):
        result = read(data, HttpProxyLog(), block_size=block_size)
        assert result.bad == [(8, reason), (10, reason)]
        assert result.lines == [7, 8, 9, 10, 11]
        assert [len(row.raw) for row in result.rows[1:4:2]] == [MAX_LINE, MAX_LINE]
        assert result.rows[4].fields["UrlStem"] == "/ecp/y.js"


def test_bad_examples_are_the_first_bad_lines_in_order() -> None:
    data = sample(HTTPPROXY_70)
    rows = rows_of(data)
    # Line 8 is damaged but not selected; line 10 is selected and fails to parse.
    damaged = data.replace(rows[1], rows[1].replace(b"python", b"py\x00thon", 1)).replace(
        rows[3], rows[3].replace(b",200,", b",200,,", 1)
    )
    result = read(damaged, HttpProxyLog(), matcher=build_matcher(["GetObject"]))
    assert result.bad == [(8, "NUL bytes"), (10, "71 values for 70 fields")]


def test_bad_examples_keep_the_lowest_twenty() -> None:
    data = sample(HTTPPROXY_70)
    row = rows_of(data)[0]
    body = b"".join(row.replace(b"/ecp/", b"/ecp/\xff", 1) + b"\n" for _ in range(25))
    result = read(data + body, HttpProxyLog(), matcher=build_matcher(["nothing-here"]))
    assert result.stats.bad_records == 25
    assert [line for line, _ in result.bad] == list(range(13, 33))
