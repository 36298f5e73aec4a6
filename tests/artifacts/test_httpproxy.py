"""HttpProxy logs: both column layouts, the request view and the build of the writing server."""

from __future__ import annotations

from datetime import UTC, datetime

from logread import HTTPPROXY_70, HTTPPROXY_74, HTTPPROXY_OWA, HTTPPROXY_PS, read, sample

from exhunt.artifacts.base import RequestView
from exhunt.artifacts.httpproxy import HttpProxyLog, build_from_fields
from exhunt.model import Record, Source


def record(fields: dict[str, str]) -> Record:
    return Record(Source("exchange.httpproxy", "HttpProxy.LOG"), 1, None, fields)


def test_74_field_layout() -> None:
    result = read(sample(HTTPPROXY_74), HttpProxyLog())
    fields = result.rows[0].fields
    assert len(fields) == 74
    assert list(fields)[-5:] == [
        "EdgeTraceId",
        "DatabaseGuid",
        "UserADObjectGuid",
        "PartitionEndpointLookupLatency",
        "RoutingStatus",
    ]
    assert fields["AnchorMailbox"] == "ServerVersion~Version 15.0 (Build 0.0)"
    assert fields["TargetServerVersion"] == "15.01.2375.000"
    assert fields["RoutingHint"] == "EDiscoveryExportTool-ServerVersion"
    assert fields["GenericInfo"].startswith("BeginRequest=2023-01-06T11:47:32.406Z;CorrelationID=")
    assert fields["RoutingStatus"] == "CafeV1"


def test_70_field_layout() -> None:
    result = read(sample(HTTPPROXY_70), HttpProxyLog())
    assert result.stats.bad_records == 0
    assert [len(row.fields) for row in result.rows] == [70] * 6
    fields = result.rows[2].fields
    assert list(fields)[-1] == "EdgeTraceId"
    assert fields["AnchorMailbox"] == "ServerInfo~a]@servernavn.xxx.local:444/ecp/proxyLogon.ecp?#"
    assert fields["HttpStatus"] == "241"
    assert fields["RoutingHint"] == "X-BEResource-Cookie"
    assert result.rows[2].time == datetime(2021, 3, 3, 6, 49, 46, 210000, tzinfo=UTC)


def test_74_field_row_under_70_field_header_is_bad_but_kept() -> None:
    header70 = sample(HTTPPROXY_70).split(b"\n")[:6]
    row74 = sample(HTTPPROXY_74).split(b"\n")[6]
    data = b"\n".join([*header70, row74]) + b"\n"
    result = read(data, HttpProxyLog())
    assert result.bad == [(7, "74 values for 70 fields")]
    assert result.rows[0].fields["EdgeTraceId"] == ",,,,CafeV1"
    assert result.rows[0].fields["UrlStem"] == (
        "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
    )


def test_view_of_a_scanner_probe() -> None:
    result = read(sample(HTTPPROXY_74), HttpProxyLog())
    view = HttpProxyLog().view(record(result.rows[0].fields))
    assert view == RequestView(
        client_ip="95.5.6.8",
        user_agent="Mozilla/5.0 zgrab/0.x",
        method="GET",
        stem="/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application",
        query=None,
        status="200",
        user=None,
        host="95.1.2.3",
        request_ids=("29d1a846-41f6-4da6-9dbf-dd8a9151ce59",),
    )


def test_view_of_a_powershell_request() -> None:
    result = read(sample(HTTPPROXY_PS), HttpProxyLog())
    first = HttpProxyLog().view(record(result.rows[0].fields))
    assert first.client_ip == "95.1.2.3"
    assert first.user_agent == "Microsoft WinRM Client"
    assert first.user == "DOMAIN\\HealthMailboxXXX"
    assert first.method == "POST"
    assert first.query is not None
    assert first.query.startswith(
        "clientApplication=ActiveMonitor;PSVersion=5.1.14393.5582&sessionID="
    )
    assert first.url.startswith("/powershell?clientApplication=ActiveMonitor;")
    assert result.rows[1].fields["ProtocolAction"] == "Get-Mailbox:Command"
    assert result.rows[1].fields["BackEndCookie"] == (
        "Server~server_hostname.domain.test~1942063431~2023-01-11T16:11:44"
    )


def test_view_of_an_unauthenticated_owa_redirect_crlf() -> None:
    result = read(sample(HTTPPROXY_OWA), HttpProxyLog())
    assert result.stats.bad_records == 0
    fields = result.rows[0].fields
    assert fields["TargetServerVersion"] == ""
    assert fields["RoutingStatus"] == ""
    view = HttpProxyLog().view(record(fields))
    assert view.user_agent == (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML  like Gecko) "
        "Chrome/62.0.3202.62 Safari/537.36"
    )
    assert view.status == "302"
    assert view.client_ip == "95.5.6.7"
    assert view.url == "/owa/admin.cfg"


def test_client_ip_hop_chain() -> None:
    view = HttpProxyLog().view(record({"ClientIpAddress": "203.0.113.9 10.0.0.4"}))
    assert view.client_ip == "203.0.113.9"
    assert HttpProxyLog().view(record({"ClientIpAddress": " 10.0.0.4 "})).client_ip == "10.0.0.4"
    assert HttpProxyLog().view(record({"ClientIpAddress": ""})).client_ip is None


def test_build_from_the_version_columns() -> None:
    parser = HttpProxyLog()
    latest = read(sample(HTTPPROXY_74), parser)
    assert parser.build_of(record(latest.rows[0].fields)) == "15.1.2375.7"
    older = read(sample(HTTPPROXY_70), parser)
    assert parser.build_of(record(older.rows[0].fields)) == "15.1.2106.2"
    assert latest.stats.last_record is not None
    assert parser.build_of(latest.stats.last_record) == "15.1.2375.7"


def test_build_needs_all_four_numbers() -> None:
    full = {
        "MajorVersion": "15",
        "MinorVersion": "01",
        "BuildVersion": "2375",
        "RevisionVersion": "007",
    }
    assert build_from_fields(full) == "15.1.2375.7"
    assert build_from_fields({**full, "RevisionVersion": ""}) is None
    assert build_from_fields({**full, "BuildVersion": "x"}) is None
    assert build_from_fields({}) is None
