"""Microsoft's mitigations found in the evidence, what each covers, and since when it is known.

URL Rewrite rules (IIS configuration): EOMT, ExchangeMitigations.ps1 and BackendCookieMitigation
(ProxyLogon) abort requests whose cookie carries ``X-AnonResource-Backend`` or ``X-BEResource=``;
EOMTv2 and the Exchange Emergency Mitigation service (ProxyNotShell) abort URLs holding both
``autodiscover`` and ``powershell``. Health Checker counts the ProxyNotShell rule as valid only
in its final form, ``(?=.*autodiscover)(?=.*powershell)`` over ``{UrlDecode:{REQUEST_URI}}``;
earlier forms were bypassed. What a rule covers, per CVE:

* the ProxyLogon cookie rules (both) stop the SSRF, CVE-2021-26855, and only it: the other three
  ProxyLogon CVEs stay open to anyone with credentials;
* the ProxyNotShell rule stops the autodiscover SSRF, CVE-2022-41040; CVE-2022-41082 stays
  reachable through OWASSRF (CVE-2022-41080, ``/owa/<mailbox>/powershell``), which the rule
  does not match, and by any user allowed Remote PowerShell.

A mitigation is known to be in place from the modification time of the file that holds it (the
file's content has not changed since); before that, the evidence cannot say. EOMT, MSERT and
Emergency Mitigation service traces are read by :mod:`exhunt.findings.traces`.

References:
    microsoft/CSS-Exchange Security/src/EOMT.ps1, Security/src/EOMTv2.ps1,
    Diagnostics/HealthChecker/Analyzer/Security/Invoke-AnalyzerSecurityCve-2022-41040.NotPublished.ps1
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from exhunt.evidence import Evidence, EvidenceFile, WebConfig, load_web_config
from exhunt.evidence.webconfig import RewriteRule
from exhunt.model import Hit
from exhunt.timeutil import format_time

log = logging.getLogger(__name__)

_VALID_PROXYNOTSHELL = "(?=.*autodiscover)(?=.*powershell)"
_MAX_CONFIG = 4 << 20
RULE_KINDS = ("url-rewrite", "eems")
SSRF_2021 = "CVE-2021-26855"
SSRF_2022 = "CVE-2022-41040"
PROXYLOGON_LEFT = "CVE-2021-26857, CVE-2021-26858 and CVE-2021-27065 (post-authentication)"
PROXYNOTSHELL_LEFT = (
    "CVE-2022-41082 through OWASSRF (CVE-2022-41080, /owa/<mailbox>/powershell) or any "
    "user allowed Remote PowerShell"
)


@dataclass(frozen=True, slots=True)
class Mitigation:
    """One mitigation or mitigation trace found in the evidence.

    Attributes:
        kind: ``url-rewrite``, ``eems``, ``eomt``, ``msert`` or ``app-pool``.
        name: what it is, in a few words.
        covers: CVEs it stops while in place (empty for traces that stop nothing themselves).
        leaves: what it does not stop, in words.
        since: when it is known to be in place (the holding file's modification time).
        path: the evidence file it was read from.
        effective: enabled and in a form that works.
        detail: the rule, the log line or the result, as found.
    """

    kind: str
    name: str
    covers: frozenset[str] = frozenset()
    leaves: str = ""
    since: datetime | None = None
    path: str | None = None
    effective: bool = True
    detail: str = ""

    def in_effect(self, moment: datetime | None) -> bool:
        """Whether it is known to be in place at ``moment`` (None: at collection time)."""
        if not self.effective or not self.covers:
            return False
        if moment is None:
            return True
        return self.since is not None and self.since <= moment

    @property
    def sentence(self) -> str:
        where = f" in {self.path}" if self.path else ""
        since = f", in place by {format_time(self.since)}" if self.since else ""
        state = "" if self.effective or self.kind not in RULE_KINDS else " (not effective)"
        return f"{self.name}{where}{since}{state}"


@dataclass
class MitigationState:
    """Every mitigation and trace found, and the findings traces give (MSERT detections)."""

    mitigations: list[Mitigation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)

    def covering(self, cve: str, moment: datetime | None) -> Mitigation | None:
        """A mitigation in place at ``moment`` that stops ``cve``."""
        return next((m for m in self.mitigations if cve in m.covers and m.in_effect(moment)), None)


def find_mitigations(evidence: Evidence) -> list[str]:
    """A sentence per mitigation rule found, with where it is and since when."""
    return [m.sentence for m in rewrite_mitigations(evidence)]


def rewrite_mitigations(evidence: Evidence) -> list[Mitigation]:
    """URL Rewrite mitigations of applicationHost.config and every wwwroot web.config."""
    found: list[Mitigation] = _rewrite_module(evidence)
    for where, config, since in _configs(evidence):
        found += _from_rules(config.rewrite_rules, where, since)
    return found


def _rewrite_module(evidence: Evidence) -> list[Mitigation]:
    """Whether IIS has the URL Rewrite module, without which no rewrite mitigation works."""
    if evidence.iis is None:
        return []
    file = evidence.iis_file
    installed = any(m.name.lower() == "rewritemodule" for m in evidence.iis.web.modules)
    name = (
        "IIS URL Rewrite module installed"
        if installed
        else "IIS URL Rewrite module not installed: no URL Rewrite mitigation can be in effect"
    )
    return [
        Mitigation(
            kind="url-rewrite-module",
            name=name,
            since=file.mtime if file else None,
            path=(file.windows_path or file.rel) if file else None,
            effective=False,
            detail="globalModules RewriteModule" if installed else "",
        )
    ]


def _configs(evidence: Evidence) -> Iterator[tuple[str, WebConfig, datetime | None]]:
    if evidence.iis is not None:
        file = evidence.iis_file
        where = (file.windows_path or file.rel) if file else "applicationHost.config"
        yield where, evidence.iis.web, file.mtime if file else None
    for file in evidence.files:
        if file.rel.lower().endswith("inetpub/wwwroot/web.config"):
            config = _load(evidence, file)
            if config is not None:
                yield file.windows_path or file.rel, config, file.mtime


def _load(evidence: Evidence, file: EvidenceFile) -> WebConfig | None:
    if file.size > _MAX_CONFIG:
        return None
    try:
        with evidence.open(file) as fh:
            return load_web_config(fh.read())
    except OSError as exc:
        log.warning("could not read %s: %s", file.rel, exc)
        return None


def _from_rules(
    rules: Sequence[RewriteRule], where: str, since: datetime | None
) -> list[Mitigation]:
    aborting = [r for r in rules if r.action_type.lower() in ("abortrequest", "customresponse")]
    cookie = [r for r in aborting if _conditions(r) and _is_cookie_rule(r)]
    found = _cookie_mitigations(cookie, where, since)
    for rule in aborting:
        texts = _conditions(rule)
        if "autodiscover" in texts and "powershell" in texts:
            found.append(_proxynotshell(rule, where, since))
    return found


def _conditions(rule: RewriteRule) -> str:
    return " ".join(f"{c.input} {c.pattern}" for c in rule.conditions).lower()


def _is_cookie_rule(rule: RewriteRule) -> bool:
    texts = _conditions(rule)
    return "x-anonresource-backend" in texts or "x-beresource" in texts


def _cookie_mitigations(
    rules: Sequence[RewriteRule], where: str, since: datetime | None
) -> list[Mitigation]:
    found = []
    names = {("anon" if "x-anonresource" in _conditions(r) else "be") for r in rules if r.enabled}
    for rule in rules:
        complete = names == {"anon", "be"}
        found.append(
            Mitigation(
                kind="url-rewrite",
                name=f"ProxyLogon mitigation (CVE-2021-26855 cookie abort): rule '{rule.name}'",
                covers=frozenset({SSRF_2021}) if complete else frozenset(),
                leaves=PROXYLOGON_LEFT,
                since=since,
                path=where,
                effective=rule.enabled and complete,
                detail=_describe(rule)
                + ("" if complete else "; only one of the two cookie rules is enabled"),
            )
        )
    return found


def _proxynotshell(rule: RewriteRule, where: str, since: datetime | None) -> Mitigation:
    valid = any(
        c.pattern.strip().lower() == _VALID_PROXYNOTSHELL
        and c.input.replace(" ", "").lower() == "{urldecode:{request_uri}}"
        and not c.negate
        for c in rule.conditions
    )
    quality = "current form" if valid else "an early form that was bypassed"
    kind = "eems" if rule.name.upper().startswith("EEMS") else "url-rewrite"
    return Mitigation(
        kind=kind,
        name=f"ProxyNotShell mitigation (CVE-2022-41040, {quality}; does not stop OWASSRF): "
        f"rule '{rule.name}'",
        covers=frozenset({SSRF_2022}) if valid else frozenset(),
        leaves=PROXYNOTSHELL_LEFT,
        since=since,
        path=where,
        effective=valid and rule.enabled,
        detail=_describe(rule),
    )


def _describe(rule: RewriteRule) -> str:
    conditions = "; ".join(f"{c.input} ~ {c.pattern}" for c in rule.conditions)
    state = "enabled" if rule.enabled else "disabled"
    return f"{state}, {rule.action_type}, {conditions}"[:500]
