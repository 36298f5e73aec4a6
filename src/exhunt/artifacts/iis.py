"""IIS W3C extended logs (``inetpub/logs/LogFiles/W3SVC<n>/u_ex<yymmdd>.log``).

Format: directives ``#Software``, ``#Version``, ``#Date``, ``#Fields``; space-separated values
in UTC; spaces inside values are written ``+`` and empty values ``-``. The field list is set
per site and can change mid-file when IIS restarts with a new configuration, so every line is
read with the last ``#Fields:`` before it. On Exchange, W3SVC1 is the front end ("Default Web
Site", 443) and W3SVC2 the back end ("Exchange Back End", 444); the front end appends
``&CorrelationID=...;&cafeReqId=<guid>;`` to ``cs-uri-query``.

References:
    https://learn.microsoft.com/en-us/windows/win32/http/w3c-logging
    Qazeer/artefacts.help pages/others/microsoft_exchange.md
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from exhunt.artifacts.base import HeaderState, LineLog, ParsedLine, RequestView, register
from exhunt.model import Record

if TYPE_CHECKING:
    from exhunt.evidence import EvidenceFile

_CAFE_REQ_ID = re.compile(r"cafeReqId=([0-9A-Fa-f-]{36})")
_SITE_DIR = re.compile(r"(?:^|/)w3svc(\d+)/[^/]+$")
BACK_END_PORT = "444"
_FORWARDED = ("x-forwarded-for", "cs(x-forwarded-for)", "originalip")
"""Lower-case names of fields naming the original client; admins choose the case."""


def _value(fields: Mapping[str, str], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "-" or value == "":
        return None
    return value


@register
class IisW3cLog(LineLog):
    type = "iis.w3c"
    title = "IIS W3C log"
    software: ClassVar[bytes] = b"#Software: Microsoft Internet Information Services"

    @classmethod
    def claims(cls, file: EvidenceFile, head: bytes) -> int:
        if cls.software in head:
            return 100
        if b"#Fields: " in head and b" cs-uri-stem" in head:
            return 80
        if _SITE_DIR.search(file.rel.lower()) and file.rel.lower().endswith(".log"):
            return 30
        return 0

    @staticmethod
    def site_id(path: str) -> int | None:
        """The IIS site id from a ``W3SVC<n>`` folder name, if the path has one."""
        match = _SITE_DIR.search(path.lower())
        return int(match.group(1)) if match else None

    def split_field_names(self, value: str) -> tuple[str, ...]:
        return tuple(value.split())

    def parse(self, state: HeaderState, line: str) -> ParsedLine:
        names = state.fields
        values = line.split(" ")
        if names is None:
            return ParsedLine({"line": line}, None, "no #Fields: directive before this line")
        error = None
        if len(values) != len(names):
            error = f"{len(values)} values for {len(names)} fields"
            values = _fit(values, len(names))
        fields = dict(zip(names, values, strict=True))
        time, time_error = _time(fields, state)
        return ParsedLine(fields, time, error or time_error)

    def view(self, record: Record) -> RequestView:
        fields = record.fields
        query = _value(fields, "cs-uri-query")
        request_ids = tuple(_CAFE_REQ_ID.findall(query)) if query else ()
        return RequestView(
            # The back end (444) is only ever called by a front end: its c-ip is not the client.
            client_ip=None if fields.get("s-port") == BACK_END_PORT else _client_ip(fields),
            user_agent=_value(fields, "cs(User-Agent)"),
            method=_value(fields, "cs-method"),
            stem=_value(fields, "cs-uri-stem"),
            query=query,
            status=_value(fields, "sc-status"),
            user=_value(fields, "cs-username"),
            host=_value(fields, "cs-host"),
            request_ids=request_ids,
        )


def _fit(values: list[str], count: int) -> list[str]:
    """Best effort for a damaged line: pad a short one, fold extras into the last field."""
    if len(values) < count:
        return values + [""] * (count - len(values))
    return [*values[: count - 1], " ".join(values[count - 1 :])]


def _time(fields: dict[str, str], state: HeaderState) -> tuple[datetime | None, str | None]:
    clock = fields.get("time")
    day = fields.get("date") or state.directives.get("Date", "")[:10]
    if not clock or not day:
        return None, "no date and time"
    try:
        return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=UTC), None
    except ValueError:
        return None, f"bad date or time {day!r} {clock!r}"


def _client_ip(fields: Mapping[str, str]) -> str | None:
    """The client address; a proxy's X-Forwarded-For, where logged, names the real client."""
    lowered = {name.lower(): value for name, value in fields.items()}
    for name in _FORWARDED:
        forwarded = _value(lowered, name)
        if forwarded:
            return forwarded.split(",")[0].strip()
    return _value(fields, "c-ip")
