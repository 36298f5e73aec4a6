"""Exchange HttpProxy (front-end "Cafe") logs: ``Logging/HttpProxy/<Protocol>/HttpProxy_*.LOG``.

Every request the front end proxies is one row: client, URL, authentication, the back end it
was routed to and how (``AnchorMailbox``, ``RoutingHint``, ``BackEndCookie``), and statuses.
CVE-2021-26855 leaves ``ServerInfo~<host>/<path>`` in ``AnchorMailbox`` and
``Server~<host>/<path>~<n>`` in ``BackEndCookie``.

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1
    https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from exhunt.artifacts.base import RequestView, register
from exhunt.artifacts.exchangecsv import ExchangeCsvLog
from exhunt.model import Record


def blank(value: str | None) -> str | None:
    return value if value else None


@register
class HttpProxyLog(ExchangeCsvLog):
    type = "exchange.httpproxy"
    title = "Exchange HttpProxy log"
    log_types: ClassVar[tuple[bytes, ...]] = (b"HttpProxy Logs",)
    path_hints: ClassVar[tuple[str, ...]] = ("/logging/httpproxy/",)

    def view(self, record: Record) -> RequestView:
        fields = record.fields
        request_id = fields.get("RequestId")
        return RequestView(
            client_ip=_first_ip(fields.get("ClientIpAddress")),
            user_agent=blank(fields.get("UserAgent")),
            method=blank(fields.get("Method")),
            stem=blank(fields.get("UrlStem")),
            query=query_of(fields),
            status=blank(fields.get("HttpStatus")),
            user=blank(fields.get("AuthenticatedUser")),
            host=blank(fields.get("UrlHost")),
            request_ids=(request_id,) if request_id else (),
        )

    def build_of(self, record: Record) -> str | None:
        return build_from_fields(record.fields)


def query_of(fields: Mapping[str, str]) -> str | None:
    """``UrlQuery`` without the leading ``?`` Exchange writes, like IIS's ``cs-uri-query``."""
    return blank((fields.get("UrlQuery") or "").removeprefix("?"))


def build_from_fields(fields: Mapping[str, str]) -> str | None:
    """``15.1.2106.2`` from the Major/Minor/Build/RevisionVersion columns, if all are numbers."""
    parts = [fields.get(name, "") for name in _VERSION_COLUMNS]
    if all(part.isdigit() for part in parts):
        return ".".join(str(int(part)) for part in parts)
    return None


_VERSION_COLUMNS = ("MajorVersion", "MinorVersion", "BuildVersion", "RevisionVersion")


def _first_ip(value: str | None) -> str | None:
    """The original client of a space-separated hop chain (as Rps and proxy logs write it)."""
    if not value:
        return None
    return value.split()[0] if " " in value.strip() else value.strip()
