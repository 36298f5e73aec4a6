"""Microsoft's URL Rewrite mitigations found in the IIS configuration of the evidence.

EOMT, ExchangeMitigations.ps1 and BackendCookieMitigation.ps1 (ProxyLogon) abort requests whose
cookie carries ``X-AnonResource-Backend`` or ``X-BEResource=``; EOMTv2 (ProxyNotShell) aborts
URLs holding both ``autodiscover`` and ``powershell``. Health Checker counts the ProxyNotShell
rule as valid only with the final pattern ``(?=.*autodiscover)(?=.*powershell)`` over
``{UrlDecode:{REQUEST_URI}}``; earlier versions were bypassed. Mitigations are not patches, and
none of them stops OWASSRF (``/owa/<mailbox>/powershell``).

References:
    microsoft/CSS-Exchange Security/src/EOMT.ps1, Security/src/EOMTv2.ps1,
    Diagnostics/HealthChecker/Analyzer/Security/Invoke-AnalyzerSecurityCve-2022-41040.NotPublished.ps1
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from exhunt.evidence import Evidence, EvidenceFile, WebConfig, load_web_config
from exhunt.evidence.webconfig import RewriteRule

log = logging.getLogger(__name__)

_VALID_PROXYNOTSHELL = "(?=.*autodiscover)(?=.*powershell)"
_MAX_CONFIG = 4 << 20


def find_mitigations(evidence: Evidence) -> list[str]:
    """A sentence per mitigation rule found, with where it is and whether it is enabled."""
    found = []
    for where, config in _configs(evidence):
        for rule in config.rewrite_rules:
            described = _describe(rule)
            if described:
                state = "" if rule.enabled else " (disabled)"
                found.append(f"{described}: rule '{rule.name}' in {where}{state}")
    return found


def _configs(evidence: Evidence) -> Iterator[tuple[str, WebConfig]]:
    if evidence.iis is not None:
        yield "applicationHost.config", evidence.iis.web
    for file in evidence.files:
        if file.rel.lower().endswith("inetpub/wwwroot/web.config"):
            config = _load(evidence, file)
            if config is not None:
                yield file.windows_path or file.rel, config


def _load(evidence: Evidence, file: EvidenceFile) -> WebConfig | None:
    if file.size > _MAX_CONFIG:
        return None
    try:
        with evidence.open(file) as fh:
            return load_web_config(fh.read())
    except OSError as exc:
        log.warning("could not read %s: %s", file.rel, exc)
        return None


def _describe(rule: RewriteRule) -> str | None:
    texts = " ".join(f"{c.input} {c.pattern}" for c in rule.conditions).lower()
    aborts = rule.action_type.lower() in ("abortrequest", "customresponse")
    if not aborts:
        return None
    if "x-anonresource-backend" in texts or "x-beresource" in texts:
        return "ProxyLogon mitigation (CVE-2021-26855 cookie abort)"
    if "autodiscover" in texts and "powershell" in texts:
        valid = any(
            c.pattern.strip().lower() == _VALID_PROXYNOTSHELL
            and c.input.replace(" ", "").lower() == "{urldecode:{request_uri}}"
            for c in rule.conditions
        )
        quality = "current form" if valid else "an early form that was bypassed"
        return f"ProxyNotShell mitigation (CVE-2022-41040, {quality}; does not stop OWASSRF)"
    return None
