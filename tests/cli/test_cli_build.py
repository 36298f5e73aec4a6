"""``exhunt build``: one build's exposure in text and JSON, the newest build per CU, bad input."""

from __future__ import annotations

import json

from cli_run import Run


def test_text_names_product_cu_level_and_each_fix(run: Run) -> None:
    result = run("build", "15.1.2242.4")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[:7] == [
        "Build:      15.1.2242.4",
        "Product:    Exchange Server 2016",
        "CU:         CU20",
        "SU level:   none (the CU release build)",
        "Released:   2021-03-16 (KB4602569)",
        "Support:    extended support ended 2025-10-14",
        "Exposed to: 18 tracked CVE(s)",
    ]
    assert lines[7] == (
        "  CVE-2021-34473  ProxyShell     fixed by 15.1.2242.8 (CU20 Apr21SU), 2021-04-13"
    )
    assert not any("CVE-2021-26855" in line for line in lines)


def test_json_object(run: Run) -> None:
    result = run("build", "15.01.2176.002", "--format", "json", "--at", "2021-04-30")
    doc = json.loads(result.out)
    assert result.code == 0
    assert {k: doc[k] for k in ("build", "product", "cu", "su", "release_date", "kb")} == {
        "build": "15.1.2176.2",
        "product": "Exchange Server 2016",
        "cu": "CU19",
        "su": None,
        "release_date": "2020-12-15",
        "kb": "KB4588884",
    }
    expected = [
        "CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065",
        "CVE-2021-34473", "CVE-2021-34523", "CVE-2021-28480", "CVE-2021-28481",
        "CVE-2021-28482", "CVE-2021-28483",
    ]  # fmt: skip
    assert doc["vulnerable_to"] == expected
    assert doc["fixed_by"]["CVE-2021-26855"] == "15.1.2176.9"
    assert doc["fixed_by"]["CVE-2021-34473"] == "15.1.2176.12"
    assert doc["fixes"][0] == {
        "cve": "CVE-2021-26855",
        "family": "ProxyLogon",
        "update": "15.1.2176.9 (CU19 Mar21SU)",
        "released": "2021-03-02",
        "kb": "KB5000871",
    }


def test_fully_patched_build(run: Run) -> None:
    doc = json.loads(run("build", "15.2.1748.43", "--format", "json").out)
    assert (doc["su"], doc["vulnerable_to"], doc["fixed_by"]) == ("Feb26SU", [], {})


def test_latest_lists_the_newest_build_of_every_cu(run: Run) -> None:
    result = run("build", "--latest", "--format", "json")
    rows = json.loads(result.out)
    assert result.code == 0
    assert rows[-1] == {
        "product": "Exchange Server Subscription Edition",
        "cu": "RTM",
        "build": "15.2.2562.41",
        "name": "May26HU",
        "release_date": "2026-05-07",
        "kb": "KB5081755",
    }
    text = run("build", "--latest").out.splitlines()
    assert text[0].split() == ["product", "cu", "build", "update", "released", "kb"]
    row = "Exchange Server 2013                  CU23  15.0.1497.48   Mar23SU    2023-03-14"
    assert row + "  KB5024296" in text


def test_unknown_and_malformed_builds_exit_2(run: Run) -> None:
    for argv, message in (
        (("build", "15.1.abc.2"), "not an Exchange build number: '15.1.abc.2'"),
        (("build", "16.0.1.1"), "16.0.1.1 is not a build of Exchange 2010 SP3, 2013, 2016"),
        (("build",), "give either a BUILD or --latest"),
        (("build", "15.1.2176.2", "--latest"), "give either a BUILD or --latest"),
        (("build", "15.1.2176.2", "--at", "yesterday"), "not a date: 'yesterday'"),
    ):
        result = run(*argv)
        assert result.code == 2, argv
        assert message in result.err, (argv, result.err)
        assert result.out == ""
