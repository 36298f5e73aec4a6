"""IIS W3C logs: fields by the header in effect, and the request each line describes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from logread import IIS_0305, IIS_0306_X, read, sample

from exhunt.artifacts.base import HeaderState, RequestView
from exhunt.artifacts.iis import IisW3cLog
from exhunt.model import Record, Source

UA65 = (
    "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)"
    "+Chrome/65.0.2345+Safari/537.36"
)


def record(fields: dict[str, str]) -> Record:
    return Record(Source("iis.w3c", "u_ex.log"), 1, None, fields)


def test_view_of_a_webshell_request() -> None:
    result = read(sample(IIS_0305), IisW3cLog())
    first = result.rows[0]
    view = IisW3cLog().view(record(first.fields))
    query = "&CorrelationID=<empty>;&cafeReqId=cde28fc4-299e-4179-b3e9-de56f5c1d9ee;&encoding=;"
    assert view == RequestView(
        client_ip="139.162.202.236",
        user_agent=UA65,
        method="GET",
        stem="/owa/auth/RedirSuiteServerProxy.aspx",
        query=query,
        status="200",
        user=None,
        host=None,
        request_ids=("cde28fc4-299e-4179-b3e9-de56f5c1d9ee",),
    )
    assert view.url == "/owa/auth/RedirSuiteServerProxy.aspx?" + query
    assert first.time == datetime(2021, 3, 5, 3, 6, 27, tzinfo=UTC)


def test_view_takes_the_first_x_forwarded_for_address() -> None:
    result = read(sample(IIS_0305), IisW3cLog())
    view = IisW3cLog().view(record(result.rows[1].fields))
    assert view.client_ip == "139.162.202.236"
    assert view.request_ids == ("8c4553be-4082-4ea1-8872-bf21a831ee95",)


def test_x_forwarded_for_name_in_capitals() -> None:
    result = read(sample(IIS_0306_X), IisW3cLog())
    assert result.stats.bad_records == 0
    first, second = (IisW3cLog().view(record(row.fields)) for row in result.rows)
    assert first.client_ip == "67.205.176.9"
    assert second.client_ip == "10.0.0.2"  # "-" in X-FORWARDED-FOR: the direct client


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("X-Forwarded-For", "123.253.153.138,+fxpt.casepoint.com", "123.253.153.138"),
        ("x-forwarded-for", "218.1.2.3", "218.1.2.3"),
        ("cs(X-Forwarded-For)", "198.51.100.7,+10.0.0.1", "198.51.100.7"),
        ("cs(x-forwarded-for)", "198.51.100.8", "198.51.100.8"),
        ("X-Forwarded-For", "-", "10.0.0.2"),
        ("X-Forwarded-For", "", "10.0.0.2"),
    ],
)
def test_forwarded_for_forms(name: str, value: str, expected: str) -> None:
    fields = {"c-ip": "10.0.0.2", name: value}
    assert IisW3cLog().view(record(fields)).client_ip == expected


def test_view_of_dashes_is_empty() -> None:
    fields = dict.fromkeys(("cs-method", "cs-uri-stem", "cs-uri-query", "c-ip", "sc-status"), "-")
    view = IisW3cLog().view(record(fields))
    assert view == RequestView()
    assert view.url == ""


def test_query_without_cafe_request_id() -> None:
    fields = {
        "cs-uri-stem": "/ecp/DDI/DDIService.svc/SetObject",
        "cs-uri-query": "schema=ResetOABVirtualDirectory",
    }
    view = IisW3cLog().view(record(fields))
    assert view.request_ids == ()
    assert view.url == "/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory"


def test_time_from_date_directive_when_no_date_field() -> None:
    parser = IisW3cLog()
    state = HeaderState()
    parser.directive(state, "#Date: 2021-03-06 00:00:00")
    parser.directive(state, "#Fields: time cs-uri-stem")
    parsed = parser.parse(state, "17:27:45 /owa/auth/errorFS.aspx")
    assert parsed.error is None
    assert parsed.time == datetime(2021, 3, 6, 17, 27, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("2021-03-06 25:61:00 /x", "bad date or time '2021-03-06' '25:61:00'"),
        ("- - /x", "bad date or time '-' '-'"),
        ("- /x", "2 values for 3 fields"),
        ("2021-03-06 17:27:45 /x extra", "4 values for 3 fields"),
    ],
)
def test_bad_lines(line: str, error: str) -> None:
    parser = IisW3cLog()
    state = HeaderState()
    parser.directive(state, "#Fields: date time cs-uri-stem")
    parsed = parser.parse(state, line)
    assert parsed.error == error


def test_site_id() -> None:
    assert IisW3cLog.site_id("inetpub/logs/LogFiles/W3SVC2/u_ex210305.log") == 2
    assert IisW3cLog.site_id("inetpub/logs/LogFiles/W3SVC1/u_ex210306_x.log") == 1
    assert IisW3cLog.site_id("logs/u_ex210305.log") is None
