"""Web shell use in the web logs: requests for scripts a stock Exchange does not have.

The attackers planted ASP.NET scripts in folders the front end serves from disk
(``owa/auth``, ``ecp/auth``, ``aspnet_client``, ``OAB``) and then called them. A request for a
server-side script there that is not part of a stock install is web shell use when the server
answered it (200, or 500 from a failing command), and a probe for a known shell name when it
did not (404 and other refusals).

References:
    CISA AA21-062A (locations to examine)
    helsecert/2021-march-exchange README (requests to RedirSuiteServerProxy.aspx)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit, request_view
from exhunt.detect.prefilter import Pattern
from exhunt.detect.rules import CLASSIFIERS, ChainFacts, Classification, RecordRule, register_check
from exhunt.detect.stock import (
    DROP_FOLDERS,
    DROP_SCRIPT_PATTERNS,
    SERVER_SIDE,
    stock_files,
    url_key,
)
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

ANSWERED = frozenset({"200", "500"})
GROUP = "webshell"

PROBE = RuleInfo(
    id="exhunt.webshell.probe",
    title="Requests for scripts a stock Exchange does not have, not served (web shell probe)",
    severity=Severity.MEDIUM,
    category=Category.ATTEMPT,
    attack=("T1505.003", "T1595"),
    description="Scanners and attackers look for shells planted by others; a refused request "
    "shows interest, not presence.",
)


@register_check
class WebShellRequestCheck(RecordRule):
    info = RuleInfo(
        id="exhunt.webshell.request",
        title="Requests for a script that a stock Exchange does not have (web shell use)",
        severity=Severity.CRITICAL,
        category=Category.WEBSHELL,
        attack=("T1505.003",),
        description="A server-side script in a folder the front end serves from disk, absent "
        "from Microsoft's file baselines, was requested and answered.",
        references=("https://us-cert.cisa.gov/ncas/alerts/aa21-062a",),
    )
    artifacts = frozenset({"iis.w3c", "exchange.httpproxy"})

    @property
    def emits(self) -> tuple[RuleInfo, ...]:
        return (self.info, PROBE)

    def literals(self, artifact: str) -> frozenset[str] | None:
        return frozenset(Pattern(p) for p in DROP_SCRIPT_PATTERNS)

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        native = (record.fields.get("cs-uri-stem") or record.fields.get("UrlStem") or "").lower()
        if not native.endswith(SERVER_SIDE) or stock_files().has_url(native):
            return  # cheap tests first: most selected lines are stock pages
        view = request_view(record)
        stem = (view.stem or "").lower()
        if not stem.endswith(SERVER_SIDE) or not any(f in stem for f in DROP_FOLDERS):
            return
        if stock_files().has_url(stem):
            return
        answered = (view.status or "") in ANSWERED
        yield make_hit(
            self.info if answered else PROBE,
            record,
            group=GROUP,
            link=stem,
            tags=("answered",) if answered else ("probe",),
            paths=(view.stem or "",),
            extra_keys=(url_key(stem),),
        )


def classify_webshell(hits: Sequence[Hit], facts: ChainFacts) -> Classification | None:
    """One web shell: the file, the requests for it, who sent them; or only probes for it."""
    answered = [h for h in hits if "answered" in h.tags]
    files = [h for h in hits if h.record.source.artifact == "fs.file"]
    severity = max((h.effective_severity for h in hits), key=lambda s: s.rank)
    where = (files[0].indicators.paths or ("",))[0] if files else _url(hits)
    clients = sorted({ip for h in answered for ip in h.indicators.ips})
    if answered:
        used = f", used from {', '.join(clients[:3])}" if clients else ", used"
        more = f" and {len(clients) - 3} more" if len(clients) > 3 else ""
        return Classification(
            Category.WEBSHELL,
            Severity.CRITICAL,
            f"Web shell {where}{used}{more}",
            "",
            WebShellRequestCheck.info.id,
        )
    if files:
        category = max((h.effective_category for h in files), key=lambda c: c.stage)
        return Classification(category, severity, f"Web shell candidate {where}", "")
    return Classification(
        Category.ATTEMPT,
        Severity.MEDIUM,
        f"Probes for a web shell at {where} (not served)",
        "",
        PROBE.id,
    )


def _url(hits: Sequence[Hit]) -> str:
    for hit in hits:
        if hit.indicators.urls:
            return hit.indicators.urls[0].split("?")[0]
    return "an unknown path"


CLASSIFIERS.register(GROUP)(classify_webshell)
