"""Value modifiers, wildcards, types and case rules, each on inline rules and IIS records."""

from __future__ import annotations

import base64

import pytest
from sigma_helpers import RuleFactory, iis, record


def _check(make_rule: RuleFactory, selection: str, cases: dict[str, bool], field: str) -> None:
    rule = make_rule(f"sel:\n{selection}\ncondition: sel")
    for value, expected in cases.items():
        assert rule.matches(iis(**{field: value})) is expected, value


def test_plain_value_is_exact_and_case_insensitive(make_rule: RuleFactory) -> None:
    cases = {"POST": True, "post": True, "PoSt": True, "POSTS": False, "XPOST": False}
    _check(make_rule, "  cs-method: POST", cases, "cs_method")


def test_value_list_is_any(make_rule: RuleFactory) -> None:
    cases = {"PUT": True, "post": True, "GET": False}
    _check(make_rule, "  cs-method: [POST, PUT]", cases, "cs_method")


def test_contains(make_rule: RuleFactory) -> None:
    cases = {"/OWA/auth/x.js": True, "/owa/Auth/": True, "/owa/": False}
    _check(make_rule, "  cs-uri-stem|contains: /owa/auth/", cases, "cs_uri_stem")


def test_startswith(make_rule: RuleFactory) -> None:
    cases = {"/ECP/DDI": True, "/x/ecp/": False}
    _check(make_rule, "  cs-uri-stem|startswith: /ecp/", cases, "cs_uri_stem")


def test_endswith(make_rule: RuleFactory) -> None:
    cases = {"/owa/auth/shell.ASPX": True, "/owa/auth/shell.aspx.txt": False}
    _check(make_rule, "  cs-uri-stem|endswith: .aspx", cases, "cs_uri_stem")


def test_contains_all(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|contains|all: [/ecp/, .js]\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/ecp/y.js"))
    assert not rule.matches(iis(cs_uri_stem="/ecp/y.css"))
    assert not rule.matches(iis(cs_uri_stem="/owa/y.js"))


def test_startswith_all_and_endswith_all(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|startswith|all: [/ecp, /ecp/d]\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/ecp/default.flt"))
    assert not rule.matches(iis(cs_uri_stem="/ecp/y.js"))
    rule = make_rule("sel:\n  cs-uri-stem|endswith|all: [.js, y.js]\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/ecp/y.js"))
    assert not rule.matches(iis(cs_uri_stem="/ecp/x.js"))


def test_exact_value_list_with_all(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-method|all: [POST, post]\ncondition: sel")
    assert rule.matches(iis(cs_method="Post"))
    rule = make_rule("sel:\n  cs-method|all: [POST, GET]\ncondition: sel")
    assert not rule.matches(iis(cs_method="POST"))


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("/ecp/*.js", "/ecp/y.js", True),
        ("/ecp/*.js", "/ecp/.js", True),
        ("/ecp/*.js", "/ecp/y.jsx", False),
        ("/ecp/?.js", "/ecp/y.js", True),
        ("/ecp/?.js", "/ecp/yy.js", False),
        ("*/auth/*/x?.aspx", "/owa/auth/Current/x1.aspx", True),
        ("*/auth/*/x?.aspx", "/owa/auth/x1.aspx", False),
        ("/a*b*c", "/abc", True),
        ("/a*b*c", "/acb", False),
        ("/a*a", "/a", False),
        ("*", "anything", True),
        ("*", "-", True),
        ("a?", "ab", True),
        ("a?", "a", False),
    ],
)
def test_wildcards(make_rule: RuleFactory, pattern: str, value: str, expected: bool) -> None:
    rule = make_rule(f"sel:\n  cs-uri-stem: '{pattern}'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem=value)) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (r"/a\*b", "/a*b", True),
        (r"/a\*b", "/axxb", False),
        (r"/a\?b", "/a?b", True),
        (r"/a\?b", "/axb", False),
        (r"C:\Windows\*", "c:\\windows*", True),
        (r"C:\Windows\*", "c:\\windows\\x", False),
        (r"C:\\*", "c:\\x", True),
    ],
)
def test_escaped_wildcards(
    make_rule: RuleFactory, pattern: str, value: str, expected: bool
) -> None:
    rule = make_rule(f"sel:\n  cs-uri-stem: '{pattern}'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem=value)) is expected


def test_cased(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|cased|contains: Current\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/owa/auth/Current/x"))
    assert not rule.matches(iis(cs_uri_stem="/owa/auth/current/x"))


def test_case_folding_keeps_kelvin_sign_apart(make_rule: RuleFactory) -> None:
    # U+212A lower-cases to "k"; matching it would pass a line whose bytes hold no "k".
    rule = make_rule("sel:\n  cs-uri-stem|contains: kit\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/KIT"))
    assert not rule.matches(iis(cs_uri_stem="/\u212ait"))


def test_regex_searches_case_sensitive(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|re: '/ecp/[a-z]+\\.js$'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/x/ecp/abc.js"))
    assert not rule.matches(iis(cs_uri_stem="/ECP/abc.js"))
    assert not rule.matches(iis(cs_uri_stem="/ecp/abc.jsx"))


def test_regex_flags(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|re|i: '^/ecp/'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="/ECP/x"))
    rule = make_rule("sel:\n  cs-uri-stem|re|m: '^b$'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="a\nb\nc"))
    rule = make_rule("sel:\n  cs-uri-stem|re|s: 'a.c'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="a\nc"))
    rule = make_rule("sel:\n  cs-uri-stem|re: 'a.c'\ncondition: sel")
    assert not rule.matches(iis(cs_uri_stem="a\nc"))


def test_regex_with_contains_and_nested_repetition(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|re|contains: 'a(b+)+c'\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="xxabbbcxx"))
    assert not rule.matches(iis(cs_uri_stem="a" + "b" * 5000 + "d"))


def test_windash(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-query|windash|contains: ' -enc '\ncondition: sel")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert rule.matches(iis(cs_uri_stem=f"/x a {dash}enc b")), dash
    assert not rule.matches(iis(cs_uri_stem="/x a +enc b"))


def test_windash_inside_all_stays_alternatives(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-uri-stem|windash|contains|all: [-a, -b]\ncondition: sel")
    assert rule.matches(iis(cs_uri_stem="x /a -b"))
    assert not rule.matches(iis(cs_uri_stem="x /a"))


def test_base64(make_rule: RuleFactory) -> None:
    encoded = base64.b64encode(b"whoami").decode()
    rule = make_rule("sel:\n  cs-uri-query|base64|contains: whoami\ncondition: sel")
    assert rule.matches(iis(cs_uri_query=f"cmd={encoded}"))
    assert not rule.matches(iis(cs_uri_query="cmd=whoami"))


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy"])
def test_base64offset(make_rule: RuleFactory, prefix: bytes) -> None:
    rule = make_rule("sel:\n  cs-uri-query|base64offset|contains: whoami\ncondition: sel")
    encoded = base64.b64encode(prefix + b"whoami /all").decode()
    assert rule.matches(iis(cs_uri_query=f"c={encoded}"))
    assert not rule.matches(iis(cs_uri_query=f"c={base64.b64encode(b'hostname').decode()}"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1.2.3", True),
        ("10.255.0.1", True),
        ("11.0.0.1", False),
        ("-", False),
        ("garbage", False),
        ("10.1.2.3:51234", True),
        ("10.0.0.9, 198.51.100.1", True),
        ("198.51.100.1, 10.0.0.9", False),
        ("198.51.100.1 10.0.0.9", False),
    ],
)
def test_cidr(make_rule: RuleFactory, value: str, expected: bool) -> None:
    rule = make_rule("sel:\n  c-ip|cidr: 10.0.0.0/8\ncondition: sel")
    assert rule.matches(iis(c_ip=value)) is expected


def test_cidr_ipv6(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  c-ip|cidr: 'fe80::/10'\ncondition: sel")
    assert rule.matches(iis(c_ip="fe80::1"))
    assert rule.matches(iis(c_ip="[fe80::1]:443"))
    assert not rule.matches(iis(c_ip="2001:db8::1"))


def test_exists_is_presence_only(make_rule: RuleFactory) -> None:
    """The specification: exists checks "the presence of a field, not its value, be it empty"."""
    present = make_rule("sel:\n  cs-username|exists: true\ncondition: sel")
    absent = make_rule("sel:\n  cs-username|exists: false\ncondition: sel")
    assert present.matches(iis(cs_username="CONTOSO\\jdoe"))
    assert not absent.matches(iis(cs_username="CONTOSO\\jdoe"))
    assert present.matches(iis(cs_username="-"))
    assert not absent.matches(iis(cs_username="-"))
    assert present.matches(record("iis.w3c", {"cs-username": ""}))
    bare = record("iis.w3c", {"cs-method": "GET"})
    assert absent.matches(bare)
    assert not present.matches(bare)


def test_fieldref(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-host|fieldref: s-ip\ncondition: sel")
    assert rule.matches(record("iis.w3c", {"cs-host": "10.0.0.5", "s-ip": "10.0.0.5"}))
    assert not rule.matches(record("iis.w3c", {"cs-host": "mail.example", "s-ip": "10.0.0.5"}))
    assert not rule.matches(record("iis.w3c", {"s-ip": "10.0.0.5"}))


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [
        ("contains", "x10.0.0.5y", True),
        ("startswith", "10.0.0.5:443", True),
        ("startswith", "x10.0.0.5", False),
        ("endswith", "x10.0.0.5", True),
        ("endswith", "10.0.0.5:443", False),
    ],
)
def test_fieldref_with_position(
    make_rule: RuleFactory, modifier: str, value: str, expected: bool
) -> None:
    rule = make_rule(f"sel:\n  cs-host|fieldref|{modifier}: s-ip\ncondition: sel")
    assert rule.matches(record("iis.w3c", {"cs-host": value, "s-ip": "10.0.0.5"})) is expected


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [
        ("lt", "999", True),
        ("lt", "1000", False),
        ("lte", "1000", True),
        ("gt", "1000", False),
        ("gt", "1000.5", True),
        ("gte", "1000", True),
        ("gte", "-", False),
        ("gte", "12abc", False),
    ],
)
def test_numeric_comparisons(
    make_rule: RuleFactory, modifier: str, value: str, expected: bool
) -> None:
    rule = make_rule(f"sel:\n  time-taken|{modifier}: 1000\ncondition: sel")
    assert rule.matches(iis(time_taken=value)) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("200", True), ("0200", True), ("200.0", True), (" 200", True), ("2000", False), ("-", False)],
)
def test_number_equality(make_rule: RuleFactory, value: str, expected: bool) -> None:
    rule = make_rule("sel:\n  sc-status: 200\ncondition: sel")
    assert rule.matches(iis(sc_status=value)) is expected


def test_number_ignores_non_ascii_digits(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  sc-status: 200\ncondition: sel")
    assert not rule.matches(iis(sc_status="\u0662\u0660\u0660"))


def test_boolean(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  IsAuthenticated: false\ncondition: sel", "product: exchange\nservice: httpproxy"
    )
    assert rule.matches(record("exchange.httpproxy", {"IsAuthenticated": "False"}))
    assert not rule.matches(record("exchange.httpproxy", {"IsAuthenticated": "True"}))
    assert not rule.matches(record("exchange.httpproxy", {"IsAuthenticated": "0"}))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"cs-username": "-"}, True),
        ({"cs-username": ""}, True),
        ({}, True),
        ({"cs-username": "CONTOSO\\jdoe"}, False),
    ],
)
def test_null_matches_missing_empty_and_dash(
    make_rule: RuleFactory, fields: dict[str, str], expected: bool
) -> None:
    rule = make_rule("sel:\n  cs-username: null\ncondition: sel")
    assert rule.matches(record("iis.w3c", {"cs-method": "GET", **fields})) is expected


def test_null_in_exchange_logs_is_missing_or_empty(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  AuthenticatedUser: null\ncondition: sel", "product: exchange\nservice: httpproxy"
    )
    assert rule.matches(record("exchange.httpproxy", {"AuthenticatedUser": ""}))
    assert rule.matches(record("exchange.httpproxy", {"UrlStem": "/ecp/"}))
    assert not rule.matches(record("exchange.httpproxy", {"AuthenticatedUser": "-"}))


def test_empty_string_matches_empty_value_not_missing(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-username: ''\ncondition: sel")
    assert rule.matches(iis(cs_username="-"))
    assert rule.matches(record("iis.w3c", {"cs-username": ""}))
    assert not rule.matches(record("iis.w3c", {"cs-method": "GET"}))
    assert not rule.matches(iis(cs_username="x"))


def test_null_or_value(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs(Referer): [null, 'https://owa.example/*']\ncondition: sel")
    assert rule.matches(iis(referer="-"))
    assert rule.matches(iis(referer="https://OWA.example/owa/"))
    assert not rule.matches(iis(referer="https://evil.example/"))


def test_neq_negates_the_item(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-method: POST\n  sc-status|neq: 200\ncondition: sel")
    assert rule.matches(iis(cs_method="POST", sc_status="500"))
    assert not rule.matches(iis(cs_method="POST", sc_status="200"))


def test_missing_field_never_matches_a_value(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-content-type|contains: json\ncondition: sel")
    assert not rule.matches(iis())
