"""Exchange Remote PowerShell logs under ``Logging/CmdletInfra``.

``Rps_Http`` (``Powershell-Proxy/Http``) records each Remote PowerShell HTTP request, with the
client address chain and ``ClientInfo``; on proxied OWASSRF/ProxyNotShell requests the
attacker's user agent leaks into ``ClientInfo``. ``Rps_Cmdlet`` records the cmdlets run.

References:
    CrowdStrike/OWASSRF Rps_Http-IOC.ps1
"""

from __future__ import annotations

from typing import ClassVar

from exhunt.artifacts.base import RequestView, register
from exhunt.artifacts.exchangecsv import ExchangeCsvLog
from exhunt.artifacts.httpproxy import blank, build_from_fields, query_of
from exhunt.model import Record


@register
class RpsHttpLog(ExchangeCsvLog):
    type = "exchange.rps_http"
    title = "Exchange Remote PowerShell HTTP log"
    log_types: ClassVar[tuple[bytes, ...]] = (b"Rps_Http", b"Rps Http")
    path_hints: ClassVar[tuple[str, ...]] = ("/logging/cmdletinfra/powershell-proxy/http/",)

    def view(self, record: Record) -> RequestView:
        fields = record.fields
        chain = (fields.get("ClientIpAddress") or "").split()
        request_id = fields.get("RequestId")
        return RequestView(
            client_ip=chain[0] if chain else None,
            user_agent=blank(fields.get("ClientInfo")),
            stem=blank(fields.get("UrlStem")),
            query=query_of(fields),
            status=blank(fields.get("HttpStatus")),
            user=blank(fields.get("AuthenticatedUser")),
            host=blank(fields.get("UrlHost")),
            request_ids=(request_id,) if request_id else (),
        )

    def build_of(self, record: Record) -> str | None:
        return build_from_fields(record.fields)


@register
class RpsCmdletLog(ExchangeCsvLog):
    type = "exchange.rps_cmdlet"
    title = "Exchange Remote PowerShell cmdlet log"
    log_types: ClassVar[tuple[bytes, ...]] = (b"Rps_Cmdlet", b"Rps Cmdlet")
    path_hints: ClassVar[tuple[str, ...]] = ("/logging/cmdletinfra/powershell-proxy/cmdlet/",)

    def build_of(self, record: Record) -> str | None:
        return build_from_fields(record.fields)
