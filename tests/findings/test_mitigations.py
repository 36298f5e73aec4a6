"""URL Rewrite mitigations read from the IIS configuration of the evidence."""

from __future__ import annotations

from pathlib import Path

from exhunt.evidence import open_evidence
from exhunt.findings.mitigations import find_mitigations
from exhunt.testing.builder import PROXYLOGON_REWRITE_RULES, EvidenceBuilder, RewriteRule


def mitigations(tmp_path: Path, rules: tuple[RewriteRule, ...]) -> list[str]:
    builder = EvidenceBuilder(tmp_path)
    builder.web_config(rules)
    with open_evidence([tmp_path]) as evidence:
        return find_mitigations(evidence)


def test_proxylogon_cookie_rules_in_wwwroot_web_config(tmp_path: Path) -> None:
    found = mitigations(tmp_path, PROXYLOGON_REWRITE_RULES)
    assert found == [
        "ProxyLogon mitigation (CVE-2021-26855 cookie abort): rule "
        "'X-AnonResource-Backend Abort - inbound' in C:\\inetpub\\wwwroot\\web.config",
        "ProxyLogon mitigation (CVE-2021-26855 cookie abort): rule "
        "'X-BEResource Abort - inbound' in C:\\inetpub\\wwwroot\\web.config",
    ]


def test_proxynotshell_rule_current_and_early_forms(tmp_path: Path) -> None:
    current = RewriteRule(
        "PowerShell - inbound", "(?=.*autodiscover)(?=.*powershell)", "{UrlDecode:{REQUEST_URI}}"
    )
    early = RewriteRule("PowerShell - inbound (old)", ".*autodiscover\\.json.*\\@.*Powershell.*",
                        "{REQUEST_URI}")  # fmt: skip
    found = mitigations(tmp_path, (current, early))
    assert [text.split(":")[0] for text in found] == [
        "ProxyNotShell mitigation (CVE-2022-41040, current form; does not stop OWASSRF)",
        "ProxyNotShell mitigation (CVE-2022-41040, an early form that was bypassed; does not "
        "stop OWASSRF)",
    ]


def test_no_rules_no_mitigations(tmp_path: Path) -> None:
    assert mitigations(tmp_path, ()) == []
