"""Mitigations and mitigation-tool traces, with their dates: URL Rewrite rules in web.config and
in the real applicationHost.config files of ../shared/data/exchange-config, EOMT and EOMTv2
summaries and logs, MSERT logs and their detections, Emergency Mitigation service logs."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhunt.evidence import open_evidence
from exhunt.findings.mitigations import find_mitigations, rewrite_mitigations
from exhunt.findings.traces import MSERT_RULE, mitigation_state
from exhunt.model import Category, Severity
from exhunt.testing.builder import PROXYLOGON_REWRITE_RULES, EvidenceBuilder, RewriteRule

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data" / "exchange-config"
WHEN = datetime(2021, 3, 6, 11, 30, tzinfo=UTC)
WEB_CONFIG = "C:\\inetpub\\wwwroot\\web.config"
CURRENT = RewriteRule(
    "PowerShell - inbound", "(?=.*autodiscover)(?=.*powershell)", "{UrlDecode:{REQUEST_URI}}"
)
EARLY = RewriteRule(
    "PowerShell - inbound (old)", ".*autodiscover\\.json.*\\@.*Powershell.*", "{REQUEST_URI}"
)


def mitigations(tmp_path: Path, rules: tuple[RewriteRule, ...]) -> list[str]:
    builder = EvidenceBuilder(tmp_path)
    builder.web_config(rules, mtime=WHEN)
    with open_evidence([tmp_path]) as evidence:
        return find_mitigations(evidence)


def test_proxylogon_cookie_rules_in_wwwroot_web_config(tmp_path: Path) -> None:
    found = mitigations(tmp_path, PROXYLOGON_REWRITE_RULES)
    assert found == [
        "ProxyLogon mitigation (CVE-2021-26855 cookie abort): rule "
        f"'X-AnonResource-Backend Abort - inbound' in {WEB_CONFIG}, in place by "
        "2021-03-06T11:30:00Z",
        "ProxyLogon mitigation (CVE-2021-26855 cookie abort): rule "
        f"'X-BEResource Abort - inbound' in {WEB_CONFIG}, in place by 2021-03-06T11:30:00Z",
    ]


def test_what_each_rule_covers_and_leaves(tmp_path: Path) -> None:
    builder = EvidenceBuilder(tmp_path)
    builder.web_config((*PROXYLOGON_REWRITE_RULES, CURRENT, EARLY), mtime=WHEN)
    with open_evidence([tmp_path]) as evidence:
        found = rewrite_mitigations(evidence)
    assert [(m.kind, sorted(m.covers), m.effective, m.since) for m in found] == [
        ("url-rewrite", ["CVE-2021-26855"], True, WHEN),
        ("url-rewrite", ["CVE-2021-26855"], True, WHEN),
        ("url-rewrite", ["CVE-2022-41040"], True, WHEN),
        ("url-rewrite", [], False, WHEN),
    ]
    assert found[2].leaves == (
        "CVE-2022-41082 through OWASSRF (CVE-2022-41080, /owa/<mailbox>/powershell) or any "
        "user allowed Remote PowerShell"
    )
    assert found[2].in_effect(WHEN) and not found[2].in_effect(datetime(2021, 3, 6, tzinfo=UTC))


def test_proxynotshell_rule_current_and_early_forms(tmp_path: Path) -> None:
    found = mitigations(tmp_path, (CURRENT, EARLY))
    assert [text.split(":")[0] for text in found] == [
        "ProxyNotShell mitigation (CVE-2022-41040, current form; does not stop OWASSRF)",
        "ProxyNotShell mitigation (CVE-2022-41040, an early form that was bypassed; does not "
        "stop OWASSRF)",
    ]
    assert found[1].endswith(" (not effective)")


def test_one_cookie_rule_alone_is_not_the_mitigation(tmp_path: Path) -> None:
    builder = EvidenceBuilder(tmp_path)
    builder.web_config(PROXYLOGON_REWRITE_RULES[:1], mtime=WHEN)
    with open_evidence([tmp_path]) as evidence:
        [only] = rewrite_mitigations(evidence)
    assert (only.covers, only.effective) == (frozenset(), False)
    assert only.detail.endswith("; only one of the two cookie rules is enabled")


def test_no_rules_no_mitigations(tmp_path: Path) -> None:
    assert mitigations(tmp_path, ()) == []


def _shared_configs() -> list[Path]:
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED} is missing")
        pytest.skip(f"{SHARED} is missing: the real applicationHost.config files are needed")
    return sorted(SHARED.glob("*.config"))


# The Health Checker and Shared test data: none carries a mitigation rule; the Exchange 2013
# ExtendedProtection samples have no URL Rewrite module at all.
WITHOUT_MODULE = {
    "Shared__Tests__ExtendedProtection__Data__E15_Configured_Both_ApplicationHost.config",
    "Shared__Tests__ExtendedProtection__Data__E15_Configured_Cas_ApplicationHost.config",
    "Shared__Tests__ExtendedProtection__Data__E15_Configured_Mbx_ApplicationHost.config",
    "Shared__Tests__ExtendedProtection__Data__E15_NotConfigured_Both_ApplicationHost.config",
    "Shared__Tests__ExtendedProtection__Data__E15_NotConfigured_Cas_ApplicationHost.config",
    "Shared__Tests__ExtendedProtection__Data__E15_NotConfigured_Mbx_ApplicationHost.config",
}


def test_real_application_host_configs(tmp_path: Path) -> None:
    configs = _shared_configs()
    assert len(configs) == 20
    for index, config in enumerate(configs):
        root = tmp_path / str(index)
        target = root / "C" / "Windows" / "System32" / "inetsrv" / "config"
        target.mkdir(parents=True)
        shutil.copyfile(config, target / "applicationHost.config")
        os.utime(target / "applicationHost.config", (WHEN.timestamp(), WHEN.timestamp()))
        with open_evidence([root]) as evidence:
            state = mitigation_state(evidence)
        installed = config.name not in WITHOUT_MODULE
        name = (
            "IIS URL Rewrite module installed"
            if installed
            else "IIS URL Rewrite module not installed: no URL Rewrite mitigation can be in effect"
        )
        assert [(m.kind, m.name, m.since, m.covers) for m in state.mitigations] == [
            ("url-rewrite-module", name, WHEN, frozenset())
        ], config.name
        assert state.hits == []


MSERT_LOG = (
    "---------------------------------------------------------------------------------------\r\n"
    "Microsoft Safety Scanner v1.0, (build 1.333.1012.0)\r\n"
    "Started On Sat Mar 06 12:50:36 2021\r\n"
    "\r\n"
    "Quick Scan Results:\r\n"
    "-------------------\r\n"
    "Threat Detected: Exploit:Script/Exmann.A!dha, not removed.\r\n"
    "    file://C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx\r\n"
    "Threat Detected: HackTool:Win32/Mimikatz.D, removed.\r\n"
    "    file://C:\\ProgramData\\m.exe\r\n"
    "\r\n"
    "Results Summary:\r\n"
    "----------------\r\n"
    "Found Exploit:Script/Exmann.A!dha, not removed.\r\n"
    "Microsoft Safety Scanner Finished On Sat Mar 06 12:56:01 2021\r\n"
)
EOMT_LOG = (
    "2021-03-06 12:40:01 Info: Starting EOMT.ps1 on EXCH01\r\n"
    "2021-03-06 12:41:10 Info: EXCH01 is vulnerable: applying mitigation\r\n"
    "2021-03-06 12:56:02 Info: Microsoft Safety Scanner is complete: THREATS DETECTED\r\n"
)


def _traces(tmp_path: Path) -> EvidenceBuilder:
    builder = EvidenceBuilder(tmp_path)
    summary = "Microsoft Safety Scanner and CVE-2021-26855 mitigation summary\r\n" + (
        "Message: ... This attempt was successful.\r\n"
    )
    builder.file("%SystemDrive%\\EOMTSummary.txt", summary, mtime=WHEN)
    builder.file("%SystemDrive%\\Users\\admin\\AppData\\Local\\Temp\\msert\\EOMT.log", EOMT_LOG,
                 mtime=WHEN)  # fmt: skip
    builder.file("%windir%\\debug\\msert.log",
                 b"\xff\xfe" + MSERT_LOG.encode("utf-16-le"), mtime=WHEN)  # fmt: skip
    builder.file(builder.exchange("Logging", "MitigationService", "MitigationService_1.log"),
                 "2022-10-01T10:00:00Z Mitigation M1.1 applied\r\n2022-10-01 PING1 applied\r\n",
                 mtime=WHEN)  # fmt: skip
    builder.file(builder.exchange("FrontEnd", "HttpProxy", "owa", "auth", "logon.aspx"), "<%@")
    return builder


def test_eomt_msert_and_emergency_mitigation_traces(tmp_path: Path) -> None:
    _traces(tmp_path)
    with open_evidence([tmp_path]) as evidence:
        state = mitigation_state(evidence)
    assert [(m.kind, m.name, m.since, m.detail) for m in state.mitigations] == [
        ("eomt", "EOMT ran (successful); summary", WHEN, "EOMT summary file: attempt successful"),
        ("eomt", "EOMT log", WHEN,
         "3 entries from 2021-03-06 12:40:01 to 2021-03-06 12:56:02 (server local time); "
         "last: Info: Microsoft Safety Scanner is complete: THREATS DETECTED"),
        ("msert", "Microsoft Safety Scanner log", WHEN,
         "1 scan(s), last started Sat Mar 06 12:50:36 2021 (server local time); 2 detection(s)"),
        ("eems-log", "Exchange Emergency Mitigation service logs", WHEN,
         "1 log file(s); mitigation ids on lines about applying: M1.1, PING1"),
    ]  # fmt: skip
    shell, tool = state.hits
    assert (shell.rule.id, shell.rule.severity, shell.rule.category) == (
        MSERT_RULE, Severity.HIGH, Category.WEBSHELL)  # fmt: skip
    assert shell.summary == (
        "Exploit:Script/Exmann.A!dha in C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx"
    )
    assert (shell.record.line, shell.record.source.path) == (7, "C/Windows/debug/msert.log")
    assert (tool.rule.severity, tool.rule.category) == (Severity.MEDIUM, Category.POST_EXPLOITATION)
    assert tool.record.fields["state"] == "removed."


def test_msert_detection_is_a_finding_of_the_scan(tmp_path: Path) -> None:
    from exhunt.options import ScanOptions
    from exhunt.scan import scan

    _traces(tmp_path)
    doc = scan([tmp_path], ScanOptions(jobs=1))
    titles = [f.title for f in doc.findings if f.rule == MSERT_RULE]
    assert titles == [
        "Microsoft Safety Scanner detected Exploit:Script/Exmann.A!dha",
        "Microsoft Safety Scanner detected HackTool:Win32/Mimikatz.D",
    ]
    assert doc.verdict.status.value == "compromised"
    assert [m.kind for m in doc.exchange.mitigation_state] == ["eomt", "eomt", "msert", "eems-log"]
