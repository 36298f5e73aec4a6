"""The build table (data/builds.csv, data/cves.csv): consistency, and lookups of tricky builds."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from importlib import resources

import pytest

from exhunt.detect.builds import (
    CAMPAIGNS,
    BuildFacts,
    Update,
    facts_for,
    format_build,
    latest_per_cu,
    load_updates,
    parse_build,
)
from exhunt.detect.cves import family_of, load_cves, tracked

PRODUCTS = ("2010", "2013", "2016", "2019", "SE")
PROXYLOGON = list(CAMPAIGNS["ProxyLogon"])
PROXYSHELL = list(CAMPAIGNS["ProxyShell"])
NOVEMBER_2022 = ["CVE-2022-41040", "CVE-2022-41082", "CVE-2022-41080"]


def rows() -> list[dict[str, str]]:
    text = (resources.files("exhunt") / "data" / "builds.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def by_product(product: str) -> list[Update]:
    return [u for u in load_updates() if u.product == product]


def facts(text: str) -> BuildFacts:
    build = parse_build(text)
    assert build is not None
    return facts_for(build)


# -- the table ---------------------------------------------------------------------------------


def test_row_counts_per_product() -> None:
    assert Counter(r["product"] for r in rows()) == {
        "2010": 36, "2013": 58, "2016": 111, "2019": 107, "SE": 7
    }  # fmt: skip


def test_every_row_parses_and_cites_a_source() -> None:
    assert len(load_updates()) == len(rows())
    for row in rows():
        assert parse_build(row["build"]) is not None, row
        assert row["kind"] in ("cu", "su"), row
        assert row["source"], row
        for source in row["source"].split(";"):
            assert "@" in source or source.startswith("https://"), row


def test_builds_ordered_and_unique_per_product() -> None:
    for product in PRODUCTS:
        listed = [parse_build(r["build"]) for r in rows() if r["product"] == product]
        assert listed == sorted(listed, key=lambda b: b or (0, 0, 0, 0)), product
        assert len(set(listed)) == len(listed), product


def test_every_update_follows_its_cu_build_and_date() -> None:
    for product in PRODUCTS:
        cus = {u.cu: u for u in by_product(product) if u.kind == "cu"}
        for update in by_product(product):
            cu = cus[update.cu]
            assert update.build >= cu.build, update
            assert update.released >= cu.released, update
            assert update.build[:3] == cu.build[:3] or product == "2010", update


def test_cu_rows_contain_every_fix_released_before_them() -> None:
    for product in ("2013", "2016", "2019"):
        updates = by_product(product)
        for cu in (u for u in updates if u.kind == "cu"):
            earlier = {c for u in updates if u.released < cu.released for c in u.fixes}
            assert earlier <= cu.fixes, (cu.name, sorted(earlier - cu.fixes))


def test_no_cve_fixed_and_then_exposed_again() -> None:
    for product in PRODUCTS:
        fixed_so_far: set[str] = set()
        for cu in (u for u in by_product(product) if u.kind == "cu"):
            fixed = facts_for(cu.build).fixed
            assert fixed_so_far <= fixed, (product, cu.name, sorted(fixed_so_far - fixed))
            fixed_so_far |= fixed


def test_march_2021_update_for_every_supported_cu_microsoft_shipped_it_for() -> None:
    shipped = {
        "2013": ["CU4", "CU21", "CU22", "CU23"],
        "2016": [f"CU{n}" for n in range(8, 20)],
        "2019": ["RTM"] + [f"CU{n}" for n in range(1, 9)],
    }
    for product, cus in shipped.items():
        march = sorted(u.cu for u in by_product(product) if u.name == "Mar21SU")
        assert march == sorted(cus), product


def test_every_su_of_2021_and_later_on_the_last_cus() -> None:
    names = [u.name for u in by_product("2016") if u.cu == "CU23"]
    assert names[:5] == ["CU23", "May22SU", "Aug22SU", "Oct22SU", "Nov22SU"]
    assert names[-1] == "Feb26SU"
    assert [u.name for u in by_product("2013") if u.cu == "CU23"][-1] == "Mar23SU"
    assert [u.name for u in by_product("SE")] == [
        "RTM", "Aug25SU", "Sep25HU", "Oct25SU", "Dec25SU", "Feb26SU", "May26HU"
    ]  # fmt: skip


def test_cve_table_lists_the_campaigns_and_every_fixed_cve() -> None:
    in_table = {info.cve: info.family for info in load_cves()}
    for campaign, cves in CAMPAIGNS.items():
        assert all(in_table[cve] == campaign for cve in cves)
    fixed = {c for u in load_updates() for c in u.fixes}
    assert fixed == set(tracked())
    assert all(info.references[0].startswith("https://msrc.microsoft.com/") for info in load_cves())


def test_release_dates_of_the_campaign_updates() -> None:
    assert {u.released for u in load_updates() if u.name == "Mar21SU"} == {date(2021, 3, 2)}
    assert {u.released for u in load_updates() if u.name == "Apr21SU"} == {date(2021, 4, 13)}
    assert {u.kb for u in load_updates() if u.name == "Nov22SU"} == {"KB5019758"}


# -- lookups -----------------------------------------------------------------------------------


def test_2016_cu20_has_the_march_fixes_but_not_april_or_may() -> None:
    cu20 = facts("15.1.2242.4")
    assert cu20.name == "Exchange Server 2016 CU20"
    assert not any(cu20.lacks_fix(c) for c in PROXYLOGON)
    assert all(cu20.lacks_fix(c) for c in PROXYSHELL)
    assert cu20.first_fix("CVE-2021-34473").label == "15.1.2242.8 (CU20 Apr21SU)"  # type: ignore[union-attr]
    assert cu20.first_fix("CVE-2021-31207").label == "15.1.2242.10 (CU20 May21SU)"  # type: ignore[union-attr]


def test_2019_cu9_has_the_march_fixes_but_not_april_or_may() -> None:
    cu9 = facts("15.02.0858.005")
    assert not any(cu9.lacks_fix(c) for c in PROXYLOGON)
    assert [c for c in PROXYSHELL if cu9.lacks_fix(c)] == PROXYSHELL


def test_proxyshell_under_april_2021_is_not_missed() -> None:
    # Health Checker's table lists no ProxyShell CVE under Apr21SU; the April update fixed two.
    april = facts("15.1.2176.12")
    assert april.name == "Exchange Server 2016 CU19 Apr21SU"
    assert [c for c in PROXYSHELL if april.lacks_fix(c)] == ["CVE-2021-31207"]
    march = facts("15.1.2176.9")
    assert [c for c in PROXYSHELL if march.lacks_fix(c)] == PROXYSHELL


def test_sources_that_disagree_are_resolved_to_the_higher_build() -> None:
    # Health Checker: 2016 CU8 Mar21SU is 15.1.1415.8; Microsoft's build list: 15.1.1415.10.
    between = facts("15.1.1415.8")
    assert between.su_text == "May18SU+ (build not listed)"
    assert all(between.lacks_fix(c) for c in PROXYLOGON)
    assert between.first_fix("CVE-2021-26855").label == "15.1.1415.10 (CU8 Mar21SU)"  # type: ignore[union-attr]
    assert not facts("15.1.1415.10").lacks_fix("CVE-2021-26855")


def test_cus_of_2022_need_the_november_update() -> None:
    for cu, nov in (("15.1.2507.6", "15.1.2507.16"), ("15.2.1118.7", "15.2.1118.20")):
        assert [c for c in NOVEMBER_2022 if facts(cu).lacks_fix(c)] == NOVEMBER_2022
        assert [c for c in NOVEMBER_2022 if facts(nov).lacks_fix(c)] == []
    assert facts("15.2.1258.12").vulnerable_to(date(2023, 5, 31)) == ()


def test_exchange_2010_only_gets_the_unified_messaging_fix() -> None:
    ru31 = facts("14.3.509.0")
    assert ru31.name == "Exchange Server 2010 SP3 RU31"
    assert ru31.vulnerable_to() == ("CVE-2021-26857",)
    assert ru31.first_fix("CVE-2021-26857").label == "14.3.513.0 (SP3 RU32)"  # type: ignore[union-attr]
    assert facts("14.3.513.0").vulnerable_to() == ()
    assert facts("14.2.247.5").vulnerable_to() == ("CVE-2021-26857", "CVE-2020-0688")


def test_exposure_as_of_a_date_counts_only_fixes_released_by_then() -> None:
    cu18 = facts("15.1.2106.2")
    assert cu18.vulnerable_to(date(2021, 3, 1)) == ()
    assert cu18.vulnerable_to(date(2021, 3, 10)) == tuple(PROXYLOGON)
    assert {c: format_build(u.build) for c, u in cu18.fixed_by(date(2021, 3, 10)).items()} == {
        c: "15.1.2106.13" for c in PROXYLOGON
    }


def test_later_critical_cves() -> None:
    cu12_nov22 = facts("15.2.1118.20")
    assert cu12_nov22.vulnerable_to() == (
        "CVE-2023-21529", "CVE-2023-21706", "CVE-2023-21707", "CVE-2023-36439", "CVE-2024-21410"
    )  # fmt: skip
    assert cu12_nov22.first_fix("CVE-2024-21410").label == "15.2.1544.4 (CU14)"  # type: ignore[union-attr]
    assert facts("15.0.1497.44").lacks_fix("CVE-2021-42321") is False  # 2013 was not affected
    assert family_of("CVE-2021-42321") == "Exchange RCE"


def test_builds_newer_than_the_table_and_unknown_builds() -> None:
    newest = facts("15.2.2562.53")
    assert newest.newer_than_table and newest.su_text == "May26HU+ (build not listed)"
    assert newest.vulnerable_to() == ()
    assert not facts("16.0.100.1").known
    assert facts("16.0.100.1").lacks_fix("CVE-2021-26855") is None
    assert not facts("15.1.100.0").known  # before Exchange 2016 RTM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.1.2106.2", (15, 1, 2106, 2)),
        ("15.01.2106.002", (15, 1, 2106, 2)),
        ("15.1.2106", (15, 1, 2106, 0)),
        (" Version 15.1 (Build 2106.2) ", (15, 1, 2106, 2)),
        ("15.1.2106.2.1", None),
        ("15.1.x.2", None),
        ("15.1.99999999.2", None),
        ("15.1.70000.2", None),
        ("\u0661\u0665.1.2106.2", None),  # Arabic-Indic digits are digits to str.isdigit
        ("", None),
    ],
)
def test_parse_build(text: str, expected: tuple[int, int, int, int] | None) -> None:
    assert parse_build(text) == expected


def test_latest_per_cu() -> None:
    latest = {(u.product, u.cu): u for u in latest_per_cu()}
    assert latest[("2016", "CU23")].name == "Feb26SU"
    assert latest[("2019", "CU15")].label == "15.2.1748.43 (CU15 Feb26SU)"
    assert latest[("2013", "CU23")].name == "Mar23SU"
    assert latest[("2010", "SP3")].name == "RU32"
    assert latest[("2019", "CU9")].name == "Jul21SU"
    assert len(latest) == len({(r["product"], r["cu"]) for r in rows()})
