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


def visible(text: str) -> str:
    """``text`` with control and direction-changing characters written as escapes."""
    return _UNSAFE.sub(_escape, text)


def one_line(text: str) -> str:
    """``text`` made visible and on one line (tabs and newlines escaped too)."""
    return visible(text.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n"))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
