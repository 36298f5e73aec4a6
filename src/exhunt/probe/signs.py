"""Mitigations and publishing choices that the probe's own harmless answers show.

Only what these GETs reveal is reported. The URL Rewrite rules of EOMT and the Emergency
Mitigation service act on exploit-shaped requests (SSRF cookies, ``autodiscover.json`` with
``@``), which this probe never sends, so they cannot be seen from here (``docs/probe.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

from exhunt.probe.fetch import Fetched
from exhunt.probe.results import ErrorKind, Sign

OWA = "/owa/"
EXPORTTOOL = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
AUTODISCOVER = "/autodiscover/autodiscover.xml"
PATHS = (OWA, EXPORTTOOL, AUTODISCOVER)
"""Every path the probe requests, in order."""


def signs_of(steps: Mapping[str, Fetched]) -> list[Sign]:
    """Signs in the answers of an Exchange host's three GETs."""
    signs = []
    owa = steps.get(OWA)
    if owa is not None and owa.error is not None and owa.error.kind is ErrorKind.REDIRECT:
        signs.append(
            Sign(
                "owa-off-host",
                f"OWA sends visitors to another host ({owa.error.message}): a reverse proxy or "
                "federated sign-in may authenticate requests before they reach Exchange",
            )
        )
    ecp = _final_status(steps.get(EXPORTTOOL))
    if ecp == 503:
        signs.append(
            Sign(
                "ecp-unavailable",
                "ECP answered 503 Service Unavailable: its application pool may be stopped, "
                "as the March 2021 interim mitigation for CVE-2021-27065 did",
            )
        )
    elif ecp == 403:
        signs.append(
            Sign(
                "ecp-refused",
                "ECP answered 403 Forbidden: /ecp/ is not reachable from here, and the "
                "ProxyLogon steps through ECP (CVE-2021-27065) need it",
            )
        )
    if _final_status(steps.get(AUTODISCOVER)) == 403:
        signs.append(
            Sign(
                "autodiscover-refused",
                "/autodiscover/autodiscover.xml answered 403 Forbidden; whether "
                "/autodiscover/autodiscover.json (the ProxyShell and ProxyNotShell entry) is "
                "refused too cannot be tested without an exploit-shaped request",
            )
        )
    return signs


def _final_status(fetched: Fetched | None) -> int | None:
    if fetched is None or not fetched.answers:
        return None
    return fetched.answers[-1].status
