"""Exchange Control Panel server log: ``Logging/ECP/Server/ECPServer<yyyymmdd>-<n>.LOG``.

Columns ``TimeStamp,ServerName,EventId,EventData``. ``EventData`` packs ``;``-separated
``<type>:<KEY>=<value>`` pairs (``S:CMD``, ``S:URL``, ``S:REQID``, ``S:EX``, ...). A pair whose
value holds special characters is wrapped in single quotes with inner single quotes doubled,
inside a CSV field whose double quotes are doubled too: two levels of quoting. ``S:CMD`` holds
the cmdlet the request ran as ``Verb-Noun.Param='value'.Param='value'``; CVE-2021-27065 shows
as ``Set-OabVirtualDirectory.ExternalUrl='<script ...>'``.

Each pair is exposed as a field named by its key without the type prefix (``CMD``, ``URL``).

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1 (CVE-2021-27065 check)
    helsecert/2021-march-exchange README (real incident lines)
"""

from __future__ import annotations

import re
from typing import ClassVar

from exhunt.artifacts.base import register
from exhunt.artifacts.exchangecsv import ExchangeCsvLog

_PAIR = re.compile(r"'((?:[^']|'')*)'|([^;]*)")


def split_event_data(text: str) -> dict[str, str]:
    """Split an ECP ``EventData`` value into its key/value pairs, quotes undone.

    >>> split_event_data("S:CMD=Get-X.Identity=$null;;'S:EX=a ''b'''")["S:EX"]
    "a 'b'"
    """
    pairs: dict[str, str] = {}
    pos = 0
    while pos <= len(text):
        match = _PAIR.match(text, pos)
        if match is None:  # pragma: no cover - the pattern always matches (empty allowed)
            break
        quoted, plain = match.groups()
        pair = quoted.replace("''", "'") if quoted is not None else plain
        if pair:
            key, _, value = pair.partition("=")
            pairs.setdefault(key.strip(), value)
        end = match.end()
        next_sep = text.find(";", end)
        if next_sep == -1:
            break
        pos = next_sep + 1
    return pairs


@register
class EcpServerLog(ExchangeCsvLog):
    type = "exchange.ecp_server"
    title = "Exchange ECP server log"
    log_types: ClassVar[tuple[bytes, ...]] = (b"ECP Server Log",)
    path_hints: ClassVar[tuple[str, ...]] = ("/logging/ecp/server/",)
    time_field: ClassVar[str] = "TimeStamp"
    header_prefixes: ClassVar[tuple[bytes, ...]] = (b"TimeStamp,",)

    def expand(self, fields: dict[str, str]) -> None:
        data = fields.get("EventData")
        if not data:
            return
        for key, value in split_event_data(data).items():
            name = key.split(":", 1)[1] if ":" in key else key
            fields.setdefault(name, value)
