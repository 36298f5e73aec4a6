"""Make attacker-written text safe to show: no terminal escapes, no hidden direction changes.

Log lines and file names come from attackers. Before any of it reaches a terminal, control
characters (which can move the cursor, rewrite the screen or set the window title), Unicode
direction overrides (which can make ``exe.txt`` read as ``txt.exe``) and the Unicode line and
paragraph separators (which editors and pagers show as line breaks, so a log line could
fake a report line) are shown as visible escapes instead.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)

_RAW_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def visible(text: str) -> str:
    """``text`` with control and direction-changing characters written as escapes."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` made visible and on one line (tabs and newlines escaped too)."""
    return visible(text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"))


def json_text(text: str) -> str:
    """JSON text with C1 controls and direction changes written as ``\\u`` escapes.

    JSON encoders escape only C0 controls; the rest pass raw and act on a terminal that shows
    the file. Outside strings JSON is ASCII, so the escapes never change the data.
    """
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def cell(text: str) -> str:
    """``text`` as a spreadsheet cell: on one line, made visible, never run as a formula.

    Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (also in their
    full-width forms) as a formula, even after spaces; a leading quote makes it text (OWASP
    "CSV Injection").
    """
    safe = one_line(text)
    return "'" + safe if safe.lstrip(" ").startswith(_FORMULA_START) else safe


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
