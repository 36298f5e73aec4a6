"""Remote PowerShell logs: Rps_Http hop chains and user agents, Rps_Cmdlet quoted parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from logread import RPS_CMDLET, RPS_HTTP, read, sample

from exhunt.artifacts.base import RequestView
from exhunt.artifacts.rps import RpsCmdletLog, RpsHttpLog
from exhunt.model import Record, Source

OWASSRF_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML  like Gecko) "
    "Chrome/105.0.5195.54 Safari/537.36"
)


def record(artifact: str, fields: dict[str, str]) -> Record:
    return Record(Source(artifact, "Rps.LOG"), 1, None, fields)


def test_rps_http_with_header_row_only() -> None:
    result = read(sample(RPS_HTTP), RpsHttpLog())
    assert result.stats.bad_records == 0
    assert result.lines == [2, 3]
    assert [len(row.fields) for row in result.rows] == [38, 38]
    assert result.stats.directives == []
    assert result.rows[1].fields["ClientInfo"] == OWASSRF_UA


def test_rps_http_view_takes_the_first_hop() -> None:
    parser = RpsHttpLog()
    result = read(sample(RPS_HTTP), parser)
    probe, proxied = (parser.view(record(parser.type, row.fields)) for row in result.rows)
    assert probe.client_ip == "::1"
    assert probe.user_agent == "Exchange BackEnd Probes"
    assert proxied == RequestView(
        client_ip="203.0.113.45",
        user_agent=OWASSRF_UA,
        method=None,
        stem="/powershell",
        query=None,
        status="200",
        user="example\\user1",
        host="mail.example.test",
        request_ids=("1c7e0d5a-3b2f-4c61-8d0e-5f4a9b2c7d31",),
    )
    assert parser.build_of(record(parser.type, result.rows[1].fields)) == "15.1.2507.16"


def test_rps_http_view_of_empty_fields() -> None:
    view = RpsHttpLog().view(record("exchange.rps_http", {"ClientIpAddress": "", "ClientInfo": ""}))
    assert view == RequestView()


def test_rps_http_query_without_question_mark() -> None:
    fields = {"UrlStem": "/powershell", "UrlQuery": "?X-Rps-CAT=abc"}
    view = RpsHttpLog().view(record("exchange.rps_http", fields))
    assert view.query == "X-Rps-CAT=abc"
    assert view.url == "/powershell?X-Rps-CAT=abc"


def test_rps_cmdlet_quoted_parameters() -> None:
    parser = RpsCmdletLog()
    result = read(sample(RPS_CMDLET), parser)
    assert result.stats.bad_records == 0
    fields = result.rows[0].fields
    assert len(fields) == 67
    assert fields["Cmdlet"] == "Get-Mailbox"
    assert fields["Parameters"] == '-ResultSize "1"'
    assert fields["NonPiiParameters"] == '-ResultSize "1"'
    assert fields["ExecutionResult"] == "Success"
    assert fields["ProcessName"] == "w3wp#MSExchangePowerShellAppPool"
    assert fields["GenericInfo"].startswith("PSSenderInfo=domain\\healthmailboxXXX;")
    assert fields["ClientRequestId"] == ""
    assert result.rows[0].time == datetime(2023, 1, 11, 1, 1, 19, 898000, tzinfo=UTC)
    assert parser.build_of(record(parser.type, fields)) == "15.1.2375.7"
    assert parser.view(record(parser.type, fields)) == RequestView()
