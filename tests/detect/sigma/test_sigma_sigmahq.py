"""SigmaHQ rules as published: the HAFNIUM web rule on IIS records, and the whole repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma_helpers import SYSMON, evtx, iis, shared_data

from exhunt.detect.sigma import CompiledSigmaRule, load_rule_file, load_sigma_rules
from exhunt.model import Category, Severity

HAFNIUM = (
    "sigmahq-rules",
    "rules-emerging-threats",
    "2021",
    "TA",
    "HAFNIUM",
    "web_exchange_exploitation_hafnium.yml",
)
BROWSER = "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)"


@pytest.fixture(scope="module")
def hafnium() -> CompiledSigmaRule:
    (rule,) = load_rule_file(shared_data(*HAFNIUM))
    return rule


@pytest.mark.parametrize(
    "request_fields",
    [
        # selection_1: the theme resources folder the exploit wrote to
        {"cs_method": "POST", "cs_uri_stem": "/owa/auth/Current/themes/resources/logon.css"},
        # selection_2: a crawler user agent posting to /owa/auth/Current/
        {
            "cs_method": "POST",
            "cs_uri_stem": "/owa/auth/Current/x.aspx",
            "ua": "Mozilla/5.0+(compatible;+YandexBot/3.0;++http://yandex.com/bots)",
        },
        # selection_3: ProxyLogon client user agents on /ecp/
        {
            "cs_method": "POST",
            "cs_uri_stem": "/ecp/DDI/DDIService.svc/GetList",
            "ua": "ExchangeServicesClient/0.0.0.0",
        },
        {"cs_method": "POST", "cs_uri_stem": "/ecp/proxyLogon.ecp", "ua": "python-requests/2.25.1"},
        # selection_4: web shell clients on /aspnet_client/ and /owa/
        {
            "cs_method": "POST",
            "cs_uri_stem": "/aspnet_client/system_web/x.aspx",
            "ua": "antSword/v2.1",
        },
        {
            "cs_method": "POST",
            "cs_uri_stem": "/owa/auth/errorEE.aspx",
            "ua": "Googlebot/2.1+(+http://www.googlebot.com/bot.html)",
        },
        # selection_5
        {"cs_method": "POST", "cs_uri_stem": "/ecp/default.flt"},
        {"cs_method": "post", "cs_uri_stem": "/ECP/MAIN.CSS"},
        # selection_6: the SSRF entry point /ecp/<x>.js, in the stem or in the query
        {"cs_method": "POST", "cs_uri_stem": "/ecp/y.js"},
        {"cs_method": "POST", "cs_uri_stem": "/ecp/x.aspx", "cs_uri_query": "f=a.js"},
    ],
)
def test_hafnium_matches_exploitation(
    hafnium: CompiledSigmaRule, request_fields: dict[str, str]
) -> None:
    record = iis(**{"ua": BROWSER, **request_fields})
    assert hafnium.matches(record)
    literals = hafnium.literals("iis.w3c")
    assert literals is not None
    assert any(literal in record.raw.lower() for literal in literals)


@pytest.mark.parametrize(
    "request_fields",
    [
        {"cs_method": "GET", "cs_uri_stem": "/owa/auth/Current/themes/resources/logon.css"},
        {"cs_method": "GET", "cs_uri_stem": "/ecp/y.js"},
        {"cs_method": "POST", "cs_uri_stem": "/owa/y.js"},
        {"cs_method": "POST", "cs_uri_stem": "/ecp/DDI/DDIService.svc/GetList"},
        {"cs_method": "POST", "cs_uri_stem": "/aspnet_client/x.aspx", "ua": "antSword/v2.0"},
        {"cs_method": "POST", "cs_uri_stem": "/ews/exchange.asmx", "ua": "python-requests/2.25.1"},
        {"cs_method": "POST", "cs_uri_stem": "/owa/auth/Current2/x.aspx"},
        {"cs_method": "POST", "cs_uri_stem": "/mapi/emsmdb/", "cs_uri_query": "u=/ecp/a.css"},
    ],
)
def test_hafnium_near_misses(hafnium: CompiledSigmaRule, request_fields: dict[str, str]) -> None:
    assert not hafnium.matches(iis(**{"ua": BROWSER, **request_fields}))


def test_hafnium_metadata(hafnium: CompiledSigmaRule) -> None:
    info = hafnium.info
    assert info.id == "67bce556-312f-4c81-9162-c3c9ff2599b2"
    assert info.title == "Exchange Exploitation Used by HAFNIUM"
    assert info.severity is Severity.HIGH
    assert info.category is Category.ATTEMPT
    assert info.attack == ("T1190",)
    assert hafnium.artifacts == {"iis.w3c"}
    # POST is common to every selection and factored out; the selections' literals win over it.
    assert hafnium.literals("iis.w3c") == {
        "/owa/auth/current/",
        "/ecp/",
        "antsword/v2.1",
        "http://www.googlebot.com/bot.html)",
        "http://www.baidu.com/search/spider.html)",
        "http://duckduckgo.com/duckduckbot.html)",
        "http://www.facebook.com/externalhit_uatext.php)",
        "http://www.bing.com/bingbot.htm)",
        "http://www.google.com/bot.html",
        "(exabot-thumbnails)",
        "http://help.yahoo.com/help/us/ysearch/slurp)",
        "http://yandex.com/bots)",
        "chrome/51.0.2704.103",
        "exchangeservicesclient/0.0.0.0",
        "python-requests/2.19.1",
        "python-requests/2.25.1",
    }


@pytest.mark.slow
def test_whole_sigmahq_repository_loads() -> None:
    root = shared_data("sigmahq-rules")
    folders = [
        root / name
        for name in (
            "rules",
            "rules-emerging-threats",
            "rules-threat-hunting",
            "rules-dfir",
            "rules-compliance",
            "rules-placeholder",
        )
        if (root / name).is_dir()
    ]
    ruleset = load_sigma_rules(folders, skip_invalid=True)
    summary = ruleset.summary()
    files = sum(1 for folder in folders for path in folder.rglob("*.yml"))
    # Observed on the snapshot in ../shared: 3,780 files, 3,755 loaded, 2,936 active (2,850 on
    # Windows event logs, 86 IIS web rules), 819 inactive (other products; Windows file_access
    # and file_rename, which come from ETW, not an event log), 25 failed, every one on a
    # placeholder that needs a value list.
    assert summary.loaded + summary.failed == files
    assert summary.loaded >= 0.98 * files
    assert len(ruleset.for_artifact("evtx")) >= 2800
    assert len(ruleset.for_artifact("iis.w3c")) >= 80
    assert ruleset.artifacts == {"iis.w3c", "evtx"}
    assert summary.failures == {"unresolved placeholder %…% (no value list is configured)": 25}
    windows_inactive = {
        source: count
        for source, count in summary.inactive_logsources.items()
        if "product=windows" in source
    }
    assert windows_inactive == {
        "product=windows, category=file_access": 13,
        "product=windows, category=file_rename": 2,
    }
    assert all(error.path and error.line for error in ruleset.errors)
    _smoke(ruleset.for_artifact("iis.w3c"))
    _smoke_evtx(ruleset.for_artifact("evtx"))


def _smoke_evtx(rules: list[CompiledSigmaRule]) -> None:
    """Every Windows rule runs on an ordinary and a hostile event without raising."""
    records = [
        evtx(Channel=SYSMON, EventID="1", Image="C:\\Windows\\System32\\cmd.exe"),
        evtx(Channel="Security", EventID="4688", NewProcessName="", MandatoryLabel="S-1-16-0"),
        evtx(Channel="\u202e" * 50, EventID="x", Data="\x00%ff'\"", Data2="\u212a" * 100),
    ]
    for rule in rules:
        for record in records:
            assert rule.matches(record) in (True, False), Path(rule.path).name


def _smoke(rules: list[CompiledSigmaRule]) -> None:
    """Every active rule runs on ordinary and odd records without raising."""
    records = [
        iis(),
        iis(cs_method="POST", cs_uri_stem="/ecp/y.js", ua="python-requests/2.25.1"),
        iis(cs_uri_stem="-", cs_uri_query="-", ua="-", c_ip="-", sc_status="-"),
        iis(cs_uri_stem="/\u00e9\u212a\x00", cs_uri_query="%00%ff'\"", ua="\u202e" * 50),
    ]
    for rule in rules:
        for record in records:
            assert rule.matches(record) in (True, False), Path(rule.path).name
