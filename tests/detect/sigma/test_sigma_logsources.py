"""Log source and field mapping: Sigma names to artifacts and native IIS/Exchange fields."""

from __future__ import annotations

import pytest
from sigma_helpers import iis, record

from exhunt.detect.sigma import field_value
from exhunt.detect.sigma.logsources import artifacts_for


@pytest.mark.parametrize(
    ("logsource", "expected"),
    [
        ({"product": "exchange", "service": "httpproxy"}, {"exchange.httpproxy"}),
        ({"product": "exchange", "service": "ecp_server"}, {"exchange.ecp_server"}),
        ({"product": "exchange", "service": "oab_generator"}, {"exchange.oab_generator"}),
        ({"product": "exchange", "service": "rps_http"}, {"exchange.rps_http"}),
        ({"product": "exchange", "service": "rps_cmdlet"}, {"exchange.rps_cmdlet"}),
        ({"product": "Exchange", "service": "HttpProxy"}, {"exchange.httpproxy"}),
        ({"category": "webserver"}, {"iis.w3c"}),
        ({"category": "webserver", "product": "windows"}, {"iis.w3c"}),
        ({"category": "webserver", "product": "iis"}, {"iis.w3c"}),
        ({"product": "windows", "category": "process_creation"}, {"evtx"}),
        ({"product": "linux", "category": "process_creation"}, set()),
        ({"product": "windows", "category": "file_access"}, set()),
        ({"product": "exchange", "service": "msexchange-management"}, set()),
        ({"product": "exchange"}, set()),
    ],
)
def test_logsource_table(logsource: dict[str, str], expected: set[str]) -> None:
    assert artifacts_for(logsource) == expected


@pytest.mark.parametrize(
    ("sigma_field", "native_value"),
    [
        ("cs-method", "POST"),
        ("cs-uri-stem", "/ecp/y.js"),
        ("c-ip", "198.51.100.9"),
        ("cs-user-agent", "python-requests/2.25.1"),
        ("cs-referer", "https://x.example/"),
        ("cs-referrer", "https://x.example/"),
        ("sc-status", "200"),
        ("time-taken", "15"),
        ("CS-Method", "POST"),
    ],
)
def test_iis_field_names(sigma_field: str, native_value: str) -> None:
    rec = iis(
        cs_method="POST",
        cs_uri_stem="/ecp/y.js",
        c_ip="198.51.100.9",
        ua="python-requests/2.25.1",
        referer="https://x.example/",
    )
    assert field_value(rec, sigma_field) == native_value


def test_iis_cookie_maps_to_native_name() -> None:
    rec = record("iis.w3c", {"cs(Cookie)": "X-BEResource=localhost"})
    assert field_value(rec, "cs-cookie") == "X-BEResource=localhost"


@pytest.mark.parametrize("name", ["cs-uri-query", "cs-uri"])
def test_iis_uri_query_is_stem_and_query(name: str) -> None:
    rec = iis(cs_uri_stem="/owa/auth/x.js", cs_uri_query="a=1&cafeReqId=abc;")
    assert field_value(rec, name) == "/owa/auth/x.js?a=1&cafeReqId=abc;"


@pytest.mark.parametrize("query", ["-", ""])
def test_iis_uri_query_without_query_is_stem(query: str) -> None:
    assert field_value(iis(cs_uri_stem="/ecp/", cs_uri_query=query), "cs-uri-query") == "/ecp/"


def test_iis_uri_query_without_query_field_is_stem() -> None:
    rec = record("iis.w3c", {"cs-uri-stem": "/ecp/"})
    assert field_value(rec, "cs-uri-query") == "/ecp/"


def test_iis_uri_query_without_stem_is_absent() -> None:
    assert field_value(record("iis.w3c", {"cs-uri-query": "a=1"}), "cs-uri-query") is None


def test_iis_unmapped_field_reads_native_name() -> None:
    rec = record("iis.w3c", {"s-sitename": "W3SVC1", "cs-bytes": "512"})
    assert field_value(rec, "s-sitename") == "W3SVC1"
    assert field_value(rec, "CS-BYTES") == "512"
    assert field_value(rec, "cs-content-type") is None


def test_exchange_fields_are_native_with_case_insensitive_fallback() -> None:
    fields = {"UrlStem": "/ecp/y.js", "AnchorMailbox": "ServerInfo~a]@x/ecp/proxyLogon.ecp#"}
    rec = record("exchange.httpproxy", fields)
    assert field_value(rec, "UrlStem") == "/ecp/y.js"
    assert field_value(rec, "urlstem") == "/ecp/y.js"
    assert field_value(rec, "ANCHORMAILBOX") == fields["AnchorMailbox"]
    assert field_value(rec, "RoutingHint") is None


def test_case_insensitive_lookup_follows_changing_headers() -> None:
    first = record("exchange.httpproxy", {"urlstem": "/a"})
    second = record("exchange.httpproxy", {"URLSTEM": "/b"})
    assert field_value(first, "UrlStem") == "/a"
    assert field_value(second, "UrlStem") == "/b"
    assert field_value(first, "UrlStem") == "/a"


def test_unknown_artifact_uses_native_names() -> None:
    rec = record("evtx", {"EventID": "4624"})
    assert field_value(rec, "EventID") == "4624"
    assert field_value(rec, "eventid") == "4624"
