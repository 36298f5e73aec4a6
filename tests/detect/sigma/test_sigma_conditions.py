"""The condition language: boolean operators, selectors over detections, keywords."""

from __future__ import annotations

import pytest
from sigma_helpers import RuleFactory, iis, record

DETECTIONS = """
sel_post:
  cs-method: POST
sel_ecp:
  cs-uri-stem|startswith: /ecp/
sel_js:
  cs-uri-stem|endswith: .js
filter_ok:
  sc-status: 200
"""

POST_ECP_JS_500 = {"cs_method": "POST", "cs_uri_stem": "/ecp/y.js", "sc_status": "500"}


@pytest.mark.parametrize(
    ("condition", "overrides", "expected"),
    [
        ("sel_post and sel_ecp", POST_ECP_JS_500, True),
        ("sel_post and sel_ecp", {"cs_method": "GET", "cs_uri_stem": "/ecp/"}, False),
        ("sel_post or sel_ecp", {"cs_method": "GET", "cs_uri_stem": "/ecp/"}, True),
        ("sel_post or sel_ecp", {"cs_method": "GET", "cs_uri_stem": "/owa/"}, False),
        ("not sel_post", {"cs_method": "GET"}, True),
        ("not sel_post", {"cs_method": "POST"}, False),
        ("sel_post and not filter_ok", POST_ECP_JS_500, True),
        ("sel_post and not filter_ok", {"cs_method": "POST", "sc_status": "200"}, False),
        ("sel_post and (sel_ecp or sel_js)", {"cs_method": "POST", "cs_uri_stem": "/o.js"}, True),
        ("sel_post and (sel_ecp or sel_js)", {"cs_method": "POST", "cs_uri_stem": "/o.css"}, False),
        ("(sel_post and sel_ecp) or sel_js", {"cs_method": "GET", "cs_uri_stem": "/o.js"}, True),
        ("sel_post and sel_ecp or sel_js", {"cs_method": "GET", "cs_uri_stem": "/o.js"}, True),
        ("not (sel_post or sel_ecp)", {"cs_method": "GET", "cs_uri_stem": "/owa/"}, True),
        ("not (sel_post or sel_ecp)", {"cs_method": "GET", "cs_uri_stem": "/ecp/"}, False),
        ("1 of sel_*", {"cs_method": "GET", "cs_uri_stem": "/o.js"}, True),
        ("1 of sel_*", {"cs_method": "GET", "cs_uri_stem": "/owa/"}, False),
        ("all of sel_*", POST_ECP_JS_500, True),
        ("all of sel_*", {"cs_method": "POST", "cs_uri_stem": "/ecp/y.css"}, False),
        ("any of sel_*", {"cs_method": "POST"}, True),
        ("1 of them", {"cs_method": "GET", "sc_status": "200"}, True),
        ("1 of them", {"cs_method": "GET", "sc_status": "404"}, False),
        ("all of them", {**POST_ECP_JS_500, "sc_status": "200"}, True),
        ("all of them", POST_ECP_JS_500, False),
        ("all of sel_* and not 1 of filter_*", POST_ECP_JS_500, True),
        ("all of sel_* and not 1 of filter_*", {**POST_ECP_JS_500, "sc_status": "200"}, False),
    ],
)
def test_condition(
    make_rule: RuleFactory, condition: str, overrides: dict[str, str], expected: bool
) -> None:
    rule = make_rule(f"{DETECTIONS}\ncondition: {condition}")
    assert rule.matches(iis(**overrides)) is expected


def test_selection_fields_are_and_linked(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-method: POST\n  sc-status: 200\ncondition: sel")
    assert rule.matches(iis(cs_method="POST", sc_status="200"))
    assert not rule.matches(iis(cs_method="POST", sc_status="302"))


def test_list_of_maps_is_or_linked(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  - cs-method: POST\n    sc-status: 200\n  - cs-uri-stem: /x\ncondition: sel"
    )
    assert rule.matches(iis(cs_method="POST", sc_status="200"))
    assert rule.matches(iis(cs_uri_stem="/x"))
    assert not rule.matches(iis(cs_method="POST", sc_status="302"))


def test_several_conditions_are_alternatives(make_rule: RuleFactory) -> None:
    rule = make_rule(f"{DETECTIONS}\ncondition:\n  - sel_post\n  - sel_js")
    assert rule.matches(iis(cs_method="GET", cs_uri_stem="/a.js"))
    assert rule.matches(iis(cs_method="POST"))
    assert not rule.matches(iis(cs_method="GET"))


def test_shared_conjunct_of_alternatives_is_kept_exact(make_rule: RuleFactory) -> None:
    """``(a and b) or (a and c)`` is evaluated as ``a and (b or c)``; and ``(a) or (a and b)``
    as ``a``."""
    rule = make_rule(
        "s1:\n  cs-method: POST\n  cs-uri-stem: /a\n"
        "s2:\n  cs-method: POST\n  cs-uri-stem: /b\n  sc-status: 200\n"
        "condition: 1 of s*"
    )
    assert rule.matches(iis(cs_method="POST", cs_uri_stem="/a"))
    assert rule.matches(iis(cs_method="POST", cs_uri_stem="/b", sc_status="200"))
    assert not rule.matches(iis(cs_method="POST", cs_uri_stem="/b", sc_status="500"))
    assert not rule.matches(iis(cs_method="GET", cs_uri_stem="/a"))
    rule = make_rule(
        "s1:\n  cs-method: POST\ns2:\n  cs-method: POST\n  sc-status: 200\ncondition: 1 of s*"
    )
    assert rule.matches(iis(cs_method="POST", sc_status="500"))


def test_negated_missing_field_matches(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  cs-method: GET\nfilter:\n  cs-host: evil\ncondition: sel and not filter"
    )
    assert rule.matches(iis())


def test_keywords_search_the_raw_line(make_rule: RuleFactory) -> None:
    rule = make_rule("keywords:\n  - X-BEResource\n  - 'python-requests*'\ncondition: keywords")
    assert rule.matches(iis(cs_uri_query="Cookie=x-beresource%3Dlocalhost"))
    assert rule.matches(iis(ua="python-requests/2.25.1"))
    assert not rule.matches(iis())


def test_keyword_with_wildcard_inside(make_rule: RuleFactory) -> None:
    rule = make_rule("keywords:\n  - 'owa*logon'\ncondition: keywords")
    assert rule.matches(iis(cs_uri_stem="/owa/auth/logon.aspx"))
    assert not rule.matches(iis(cs_uri_stem="/logon/owa"))


def test_keyword_modifiers(make_rule: RuleFactory) -> None:
    rule = make_rule("keywords:\n  '|all':\n    - /ecp/\n    - POST\ncondition: keywords")
    assert rule.matches(iis(cs_method="POST", cs_uri_stem="/ecp/x"))
    assert not rule.matches(iis(cs_method="GET", cs_uri_stem="/ecp/x"))
    rule = make_rule("keywords:\n  '|re': 'cafeReqId=[0-9a-f-]{36}'\ncondition: keywords")
    assert rule.matches(iis(cs_uri_query="&cafeReqId=4c1f0b62-8d9a-4a51-9d11-6c8c1b2f1d3e;"))
    assert not rule.matches(iis(cs_uri_query="&cafeReqId=x;"))


def test_keyword_uses_fields_when_raw_line_is_missing(make_rule: RuleFactory) -> None:
    rule = make_rule("keywords:\n  - needle\ncondition: keywords")
    assert rule.matches(record("iis.w3c", {"cs-uri-stem": "/a/needle"}, raw=""))


def test_keywords_and_fields_combine(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "keywords:\n  - antSword\nsel:\n  cs-method: POST\ncondition: sel and keywords"
    )
    assert rule.matches(iis(cs_method="POST", ua="antSword/v2.1"))
    assert not rule.matches(iis(cs_method="GET", ua="antSword/v2.1"))


def test_rule_only_matches_its_artifacts(make_rule: RuleFactory) -> None:
    rule = make_rule("sel:\n  cs-method: POST\ncondition: sel")
    assert not rule.matches(record("exchange.httpproxy", {"cs-method": "POST"}))
