"""Prefilter literals: fragments that survive raw encodings, and their combination."""

from __future__ import annotations

import pytest
from sigma_helpers import RuleFactory, iis

from exhunt.detect.sigma.literals import RAW_SEPARATORS, all_of, any_of, fragment

IIS = "iis.w3c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/owa/auth/Current/", "/owa/auth/current/"),
        (
            "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html",
            "http://www.google.com/bot.html",
        ),
        ("a b c", None),
        ("ab", None),
        ("abc", "abc"),
        ("x=1&cmd=whoami", "whoami"),
        ("%2fecp%2fy.js", "2fy.js"),
        ("caf\u00e9-admin", "-admin"),
        ("tab\there", "here"),
        ("'quoted'", "quoted"),
        ('say "hello"', "hello"),
    ],
)
def test_fragment(text: str, expected: str | None) -> None:
    assert fragment(text, RAW_SEPARATORS) == expected


def test_any_of_unites_and_drops_superstrings() -> None:
    assert any_of([frozenset({"/ecp/"}), frozenset({"/ecp/y.js", "/owa/"})]) == {"/ecp/", "/owa/"}
    assert any_of([frozenset({"abc"}), None]) is None


def test_all_of_prefers_longest_shortest_literal_then_fewest() -> None:
    short = frozenset({"post"})
    long_pair = frozenset({"/owa/auth/", "/ecp/default.flt"})
    assert all_of([short, long_pair]) == long_pair
    assert all_of([frozenset({"abcde", "fghij"}), frozenset({"klmno"})]) == {"klmno"}
    assert all_of([None, short]) == short
    assert all_of([None, None]) is None


def test_rule_literals_or_of_selections(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "a:\n  cs-uri-stem|contains: /owa/auth/Current/\n"
        "b:\n  cs-uri-stem|endswith: /ecp/default.flt\n"
        "condition: a or b"
    )
    assert rule.literals(IIS) == {"/owa/auth/current/", "/ecp/default.flt"}


def test_rule_literals_and_picks_most_selective(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  cs-method: POST\n  cs-uri-stem|contains: [/aspnet_client/, /owa/auth/]\n"
        "condition: sel"
    )
    assert rule.literals(IIS) == {"/aspnet_client/", "/owa/auth/"}


def test_rule_literals_ignore_negation(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  cs-method: POST\nfilter:\n  cs-uri-stem: /owa/auth/\ncondition: sel and not filter"
    )
    assert rule.literals(IIS) == {"post"}
    rule = make_rule("filter:\n  cs-uri-stem: /owa/auth/\ncondition: not filter")
    assert rule.literals(IIS) is None


def test_rule_literals_none_when_an_alternative_has_none(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "a:\n  cs-uri-stem|contains: /owa/auth/\nb:\n  c-ip|cidr: 10.0.0.0/8\ncondition: a or b"
    )
    assert rule.literals(IIS) is None


@pytest.mark.parametrize(
    "detection",
    [
        "sel:\n  c-ip|cidr: 10.0.0.0/8",
        "sel:\n  cs-username|exists: true",
        "sel:\n  cs-host|fieldref: s-ip",
        "sel:\n  time-taken|gt: 10000",
        "sel:\n  cs-username: null",
        "sel:\n  cs-username: ''",
        "sel:\n  cs-uri-stem: '*'",
        "sel:\n  cs-uri-stem|contains: 'a b'",
        "sel:\n  cs-uri-stem|contains: '/a'",
        "sel:\n  sc-status: 20",
        "sel:\n  cs-uri-stem|contains: [/owa/auth/, /a]",
        "sel:\n  cs-uri-stem|re: '[a-z]+\\d{2}'",
        "sel:\n  cs-uri-stem|re: '(foo|b)ar'",
        "sel:\n  cs-uri-stem|wide|contains: 'whoami'",
    ],
)
def test_rule_literals_none(make_rule: RuleFactory, detection: str) -> None:
    assert make_rule(f"{detection}\ncondition: sel").literals(IIS) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sel:\n  sc-status: 200", {"200"}),
        ("sel:\n  sc-status: -1500", {"1500"}),
        ("sel:\n  sc-status: 2.5", {"2.5"}),
        ("sel:\n  IsAuthenticated: false", {"false"}),
        ("sel:\n  cs-uri-stem: '/ecp/*/y?.js'", {"/ecp/"}),
        # "/ecp/" is inside paths most IIS lines hold (the table's common text); "y.js" is not.
        ("sel:\n  cs-uri-stem|contains|all: [/ecp/, y.js]", {"y.js"}),
        ("sel:\n  cs-uri-stem|contains|all: [/ecp/, ddiservice]", {"ddiservice"}),
        ("sel:\n  cs-uri-stem|re: '^/ecp/[a-z]+\\.js$'", {"/ecp/"}),
        ("sel:\n  cs-uri-stem|re: 'x(proxyLogon|DDIService)\\.ecp'", {"proxylogon", "ddiservice"}),
        ("sel:\n  cs-uri-stem|re: 'abc(def)?ghij'", {"ghij"}),
        ("sel:\n  cs-uri-stem|re: '(?i)powershell'", {"power"}),
        ("sel:\n  cs-uri-stem|re: 'PowerShell'", {"powershell"}),
        ("sel:\n  cs-uri-stem|windash|contains: ' -encodedcommand'", {"encodedcommand"}),
        ("sel:\n  cs-uri-stem|base64|contains: 'whoami'", {"d2hvyw1p"}),
    ],
)
def test_rule_literals_of_values(make_rule: RuleFactory, value: str, expected: set[str]) -> None:
    assert make_rule(f"{value}\ncondition: sel").literals(IIS) == expected


def test_keyword_literals(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "keywords:\n  - 'X-BEResource=localhost'\n  - 'python-*/2'\ncondition: keywords"
    )
    # Keywords are searched in the raw line as written: only wildcards split them.
    assert rule.literals(IIS) == {"x-beresource=localhost", "python-"}


def test_literals_for_an_artifact_the_rule_does_not_read(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-method: POST\ncondition: sel")
    assert rule.literals("exchange.httpproxy") == frozenset()


@pytest.mark.parametrize(
    ("detection", "overrides"),
    [
        (
            "sel:\n  cs-user-agent: 'Mozilla/5.0+(compatible;+Baiduspider/2.0)'",
            {"ua": "Mozilla/5.0+(compatible;+Baiduspider/2.0)"},
        ),
        (
            "sel:\n  cs-uri-query|contains: 'aspx?cmd=whoami'",
            {"cs_uri_stem": "/x.aspx", "cs_uri_query": "cmd=whoami"},
        ),
        ("sel:\n  cs-uri-stem|re|i: 'SHELL\\.aspx'", {"cs_uri_stem": "/owa/auth/shell.aspx"}),
        ("sel:\n  sc-status: 200", {"sc_status": "0200"}),
        ("sel:\n  cs-method: POST", {"cs_method": "post"}),
        ("sel:\n  cs-uri-stem|windash|contains: ' -enc'", {"cs_uri_stem": "/x \u2013enc"}),
    ],
)
def test_a_matching_record_holds_a_literal(
    make_rule: RuleFactory, detection: str, overrides: dict[str, str]
) -> None:
    rule = make_rule(f"{detection}\ncondition: sel")
    rec = iis(**overrides)
    literals = rule.literals(IIS)
    assert rule.matches(rec)
    assert literals is not None
    assert any(literal in rec.raw.lower() for literal in literals)
