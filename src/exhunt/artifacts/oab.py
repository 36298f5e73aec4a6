"""Exchange OAB generator log: ``Logging/OABGeneratorLog/*.LOG``.

CVE-2021-26858 shows here as ``Download failed and temporary file '<path>' needs to be
removed`` with a path outside ``<install>\\ClientAccess\\OAB``. Rows are read by the file's own
header when it has one; otherwise each line is kept whole (``line``) with its leading time, so
the raw text is always available to the rules.

References:
    microsoft/CSS-Exchange Security/src/Test-ProxyLogon.ps1 (CVE-2021-26858 check)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from exhunt.artifacts.base import HeaderState, ParsedLine, register
from exhunt.artifacts.exchangecsv import ExchangeCsvLog
from exhunt.timeutil import parse_time

if TYPE_CHECKING:
    from exhunt.evidence import EvidenceFile

_LEADING_TIME = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)")


@register
class OabGeneratorLog(ExchangeCsvLog):
    type = "exchange.oab_generator"
    title = "Exchange OAB generator log"
    log_types: ClassVar[tuple[bytes, ...]] = (b"OABGenerator", b"OAB Generator")
    path_hints: ClassVar[tuple[str, ...]] = ("/logging/oabgeneratorlog/",)
    needs_header: ClassVar[bool] = False

    @classmethod
    def claims(cls, file: EvidenceFile, head: bytes) -> int:
        # Its line format is not public: a file in its folder is read as text even when the
        # head does not look like a CSV log.
        surety = super().claims(file, head)
        if any(hint in "/" + file.rel.lower() for hint in cls.path_hints):
            return max(surety, 60)
        return surety

    def parse(self, state: HeaderState, line: str) -> ParsedLine:
        if state.fields is not None:
            return super().parse(state, line)
        match = _LEADING_TIME.match(line)
        if match is None:
            return ParsedLine({"line": line}, None, None)
        try:
            return ParsedLine({"line": line}, parse_time(match.group(1)), None)
        except ValueError:
            return ParsedLine({"line": line}, None, None)
