"""CVE-2021-26855 (ProxyLogon SSRF) in the HttpProxy logs, and how a chain of it is judged.

Each row routed by an attacker-set cookie carries ``ServerInfo~<host>/<path>`` in
``AnchorMailbox`` (Test-ProxyLogon's condition) or ``Server~<host>/<path>~<n>`` in
``BackEndCookie`` (Microsoft's updated hunting query). What the path reached tells how far the
attacker got (helsecert/2021-march-exchange, real incident):

1. ``/autodiscover/autodiscover.xml`` — looking for a valid mailbox (alone: an attempt);
2. ``/mapi/emsmdb`` — the user's SID;
3. ``/ecp/proxyLogon.ecp`` answered 241 — an authenticated ECP session: exploitation;
4. ``/ecp/DDI/DDIService.svc/GetObject|SetObject`` — reading and writing virtual directory
   settings; ``SetObject`` with ``schema=Reset*VirtualDirectory`` answered 200 wrote the
   settings, with the planted script, to a file of the attacker's choice (CVE-2021-27065).

Microsoft's nmap script leaves ``ServerInfo~localhost/ecp/default.flt?`` with the routing hint
``X-AnonResource-Backend-Cookie``: an exposure check, not an attack.

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1
    https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/
    helsecert/2021-march-exchange README
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import (
    CLASSIFIERS,
    ChainFacts,
    Classification,
    RecordRule,
    register_check,
)
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

CVE_SSRF = "CVE-2021-26855"
CVE_WRITE = "CVE-2021-27065"
GROUP = "proxylogon"
SCANNER_GROUP = "exposure-scan"

_ANCHOR = re.compile(r"^serverinfo~(?P<host>[^/]*)(?P<path>/.*)$", re.IGNORECASE | re.DOTALL)
_COOKIE = re.compile(r"^server~(?P<host>[^/~]*)(?P<path>/[^~]*)~.*$", re.IGNORECASE | re.DOTALL)
_STEPS = (
    ("ssrf:autodiscover", re.compile(r"^/autodiscover", re.I)),
    ("ssrf:emsmdb", re.compile(r"^/mapi/emsmdb", re.I)),
    ("ssrf:proxylogon", re.compile(r"^/ecp/proxylogon\.ecp", re.I)),
    (
        "ssrf:reset-vdir",
        re.compile(r"^/ecp/ddi/ddiservice\.svc/setobject.*schema=reset\w*virtualdirectory", re.I),
    ),
    ("ssrf:ddi-set", re.compile(r"^/ecp/ddi/ddiservice\.svc/setobject", re.I)),
    ("ssrf:ddi-get", re.compile(r"^/ecp/ddi/ddiservice\.svc/getobject", re.I)),
    ("ssrf:ews", re.compile(r"^/ews/", re.I)),
)


@register_check
class ProxyLogonSsrfCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.proxylogon.ssrf",
        title="ProxyLogon server-side request forgery (CVE-2021-26855)",
        severity=Severity.HIGH,
        category=Category.ATTEMPT,
        cves=(CVE_SSRF,),
        attack=("T1190",),
        description="Requests whose back end was chosen by an attacker-controlled cookie "
        "(AnchorMailbox ServerInfo~host/path or BackEndCookie Server~host/path~n).",
        references=(
            "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/",
            "https://github.com/microsoft/CSS-Exchange/blob/main/Security/src/Test-ProxyLogon.ps1",
        ),
    )
    artifacts = frozenset({"exchange.httpproxy"})

    def literals(self, artifact: str) -> frozenset[str] | None:
        return frozenset({"serverinfo~", "server~"})

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        target = ssrf_target(record.fields)
        if target is None:
            return
        host, path = target
        tags = {f"status:{record.fields.get('HttpStatus', '')}", f"target:{host.lower()}"}
        tags.update(step for step, pattern in _STEPS if pattern.search(path))
        if _is_scanner(host, record):
            tags.add("scanner:nmap")
            yield make_hit(self.info, record, group=SCANNER_GROUP, tags=tags)
            return
        yield make_hit(self.info, record, group=GROUP, tags=tags)


def ssrf_target(fields: Mapping[str, str]) -> tuple[str, str] | None:
    """(host, path) an SSRF row was routed to, from AnchorMailbox or BackEndCookie."""
    anchor = _ANCHOR.match(fields.get("AnchorMailbox", ""))
    if anchor:
        return anchor.group("host"), anchor.group("path")
    cookie = _COOKIE.match(fields.get("BackEndCookie", ""))
    if cookie:
        return cookie.group("host"), cookie.group("path")
    return None


def _is_scanner(host: str, record: Record) -> bool:
    if not host.lower().startswith("localhost"):
        return False
    hint = record.fields.get("RoutingHint", "")
    stem = record.fields.get("UrlStem", "")
    return "anonresource-backend" in hint.lower() or stem.lower() == "/owa/auth/x.js"


def classify_chain(hits: Sequence[Hit], facts: ChainFacts) -> Classification | None:
    """Exploitation if the chain reached an ECP session or wrote settings; else an attempt."""
    tags = {tag for hit in hits for tag in hit.tags}
    proven = [h for h in hits if h.effective_category in (Category.EXPLOITATION, Category.WEBSHELL)]
    wrote = _succeeded(hits, "ssrf:reset-vdir", "200") or _succeeded(hits, "ssrf:ddi-set", "200")
    if wrote:
        return Classification(
            Category.EXPLOITATION,
            Severity.CRITICAL,
            "ProxyLogon exploitation: SSRF to ECP wrote virtual directory settings "
            "(CVE-2021-26855, CVE-2021-27065)",
            "an SSRF chain reached DDI SetObject and the server answered 200",
            rule=ProxyLogonSsrfCheck.info.id,
            cves=(CVE_SSRF, CVE_WRITE),
        )
    if proven:
        best = max(proven, key=lambda h: h.effective_severity.rank)
        return Classification(
            Category.EXPLOITATION, best.effective_severity, best.rule.title, "", best.rule.id
        )
    authenticated = (
        _succeeded(hits, "ssrf:proxylogon", "241")
        or _succeeded(hits, "ssrf:ddi-get", "200")
        or _succeeded(hits, "ssrf:ews", "200")
    )
    if authenticated:
        return Classification(
            Category.EXPLOITATION,
            Severity.CRITICAL,
            "ProxyLogon exploitation: SSRF gained an authenticated back-end session "
            "(CVE-2021-26855)",
            "an SSRF request got an ECP session (proxyLogon.ecp 241, DDI 200) or EWS (200)",
            rule=ProxyLogonSsrfCheck.info.id,
        )
    exposed = [facts.exposed(CVE_SSRF, hit.record) for hit in hits]
    if all(state is False for state in exposed):
        return Classification(
            Category.INFORMATIONAL,
            Severity.LOW,
            "ProxyLogon SSRF attempt against a build that already had the fix",
            "the build running at the time was not vulnerable to CVE-2021-26855",
        )
    only_discovery = tags & {"ssrf:autodiscover"} and not tags & {
        "ssrf:emsmdb",
        "ssrf:ddi-get",
        "ssrf:proxylogon",
    }
    title = (
        "ProxyLogon SSRF attempt: autodiscover only, no valid mailbox found (CVE-2021-26855)"
        if only_discovery
        else "ProxyLogon SSRF attempt without sign of success (CVE-2021-26855)"
    )
    return Classification(Category.ATTEMPT, Severity.HIGH, title, "", ProxyLogonSsrfCheck.info.id)


def classify_scanner(hits: Sequence[Hit], facts: ChainFacts) -> Classification | None:
    """Exposure and version scans: informational from inside or against a fixed build."""
    tags = {tag for hit in hits for tag in hit.tags}
    what = (
        "ProxyLogon exposure check (Microsoft nmap script fingerprint)"
        if "scanner:nmap" in tags
        else "Exchange version scan"
    )
    internal = all(facts.context.is_internal(hit.link) for hit in hits)
    fixed = all(facts.exposed(CVE_SSRF, hit.record) is False for hit in hits)
    if internal or fixed:
        where = "from the organisation's own network" if internal else "against a fixed build"
        return Classification(Category.INFORMATIONAL, Severity.INFO, f"{what} {where}", "")
    return Classification(Category.ATTEMPT, Severity.MEDIUM, f"{what} from an outside address", "")


def _succeeded(hits: Sequence[Hit], step: str, status: str) -> bool:
    return any(step in hit.tags and f"status:{status}" in hit.tags for hit in hits)


CLASSIFIERS.register(GROUP)(classify_chain)
CLASSIFIERS.register(SCANNER_GROUP)(classify_scanner)
