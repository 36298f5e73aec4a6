"""What to do now: the actions each result calls for, and the findings behind each."""

from __future__ import annotations

from report_documents import load

from exhunt.document import ScanDocument
from exhunt.report.recommend import recommendations


def _by_key(document: ScanDocument) -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return {r.key: (r.title, r.items, r.finding_ids) for r in recommendations(document)}


def test_compromised_server_actions_in_incident_order() -> None:
    recs = recommendations(load("compromised"))
    assert [r.key for r in recs] == [
        "preserve",
        "block",
        "webshells",
        "examine-files",
        "credentials",
        "hunt",
        "patch",
        "rebuild",
        "gaps",
        "older-logs",
    ]


def test_compromised_server_action_details() -> None:
    recs = _by_key(load("compromised"))
    assert recs["block"] == (
        "Block the attacker addresses and look for them elsewhere",
        ("104.140.114.110", "139.162.202.236"),
        ("F1", "F2"),
    )
    shell = (
        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\"
        "RedirSuiteServerProxy.aspx"
    )
    assert recs["webshells"] == (
        "Remove the web shells",
        (shell, "SHA-256 09c1a2fe913839230ec4d7144d015435101bfa0062a38f2473a374b7593699ca"),
        ("F1",),
    )
    assert recs["examine-files"][1:] == (
        ("C:\\Windows\\Temp\\lsass.dmp", "C:\\ProgramData\\it.zip"),
        ("F3", "F4"),
    )
    # The LSASS dump calls for resetting credentials; the machine account of the SSRF does not.
    assert recs["credentials"] == ("Reset every credential used on this server", (), ("F3",))
    assert recs["patch"][0] == "Install 15.1.2106.13 (Mar21SU) or later"
    assert recs["patch"][2] == ("F2",)
    assert recs["patch"][1][0] == (
        "CVE-2021-26855 (ProxyLogon): fixed by 15.1.2106.13 (Mar21SU), released 2021-03-02"
    )
    assert recs["rebuild"][2] == ("F1", "F3", "F4")
    assert recs["hunt"][0] == "Look for what the attacker did after 2021-03-03T06:51:30Z"
    assert recs["gaps"][1] == (
        "iis.w3c W3SVC1: no log for 18.5 hours (2021-03-06T01:00:00Z to 2021-03-06T19:30:00Z)",
    )
    assert recs["older-logs"][0] == "Look for older logs from before 2021-02-24T00:02:20Z"


def test_preserve_lists_the_logs_that_hold_evidence() -> None:
    _title, logs, ids = _by_key(load("compromised"))["preserve"]
    assert ids == ("F1", "F2", "F3", "F4")  # not the informational F5
    assert len(logs) == len(set(logs)) == 13
    assert logs[0] == "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex210303.log"
    assert all(not log.endswith((".dmp", ".zip", ".aspx")) for log in logs)


def test_attempted_server() -> None:
    recs = _by_key(load("attempted"))
    assert list(recs) == ["preserve", "block", "patch", "older-logs"]
    # The internal scanner (10.20.0.99) is informational: not a block, not an internal host.
    assert recs["block"][1:] == (
        ("103.9.76.208", "103.9.76.211", "2604:a880:400:d0::1b1c:1001"),
        ("F1", "F2"),
    )
    assert recs["patch"][0] == "Install 15.2.986.36 (Nov22SU) or later"
    assert recs["patch"][2] == ("F1",)


def test_clean_server_only_asks_for_older_logs() -> None:
    recs = recommendations(load("clean"))
    assert [(r.key, r.title) for r in recs] == [
        ("older-logs", "Look for older logs from before 2021-02-24T00:03:41Z")
    ]
    assert len(recs[0].items) == 4
    assert recs[0].finding_ids == ()


def test_attack_from_inside_asks_to_examine_that_host() -> None:
    data = load("attempted").to_dict()
    data["findings"][1]["indicators"]["ips"] = ["10.20.0.7", "not an address"]
    recs = _by_key(ScanDocument.model_validate(data))
    assert recs["internal-hosts"][1:] == (("10.20.0.7",), ("F2",))
    assert recs["block"][1] == ("103.9.76.208", "103.9.76.211")


def test_credential_theft_is_known_by_attack_technique_too() -> None:
    data = load("attempted").to_dict()
    data["findings"][0].update(category="post-exploitation", attack=["T1003.003"])
    data["verdict"]["status"] = "compromised"
    recs = _by_key(ScanDocument.model_validate(data))
    assert recs["credentials"][1:] == (("mastermailbox@outlook.com",), ("F1",))
    assert recs["rebuild"][2] == ("F1",)


def test_unknown_build_asks_for_it() -> None:
    data = load("clean").to_dict()
    data["exchange"] = {}
    recs = _by_key(ScanDocument.model_validate(data))
    assert list(recs) == ["build"]
    assert recs["build"][0] == "Find out which Exchange build the server runs"
