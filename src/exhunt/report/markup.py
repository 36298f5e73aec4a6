"""Text into HTML and SVG: every string from the document is escaped here, nowhere else.

Strings from the evidence are the attacker's. Escaped, ``<script>`` and ``onerror=`` stay text;
control characters and direction overrides (which would reorder what the reader sees) are
written as visible escapes first. The document never supplies a URL, an attribute name or an
element: links point only at anchors built from finding ids reduced to safe characters.
"""

from __future__ import annotations

import html
import re

from exhunt.report.escape import one_line, visible

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def text(value: object) -> str:
    """``value`` as text on one line, safe in element content and quoted attributes."""
    return html.escape(one_line(str(value)), quote=True)


def block(value: str) -> str:
    """Multi-line text (descriptions): line breaks kept for the reader, everything escaped."""
    return html.escape(visible(value.replace("\t", "\\t").replace("\r", "\\r")), quote=True)


def anchor(finding_id: str, prefix: str = "") -> str:
    """The element id of a finding: only letters, digits, ``_`` and ``-``.

    ``prefix`` tells servers apart when one page holds several (their ids repeat).
    """
    return "finding-" + _UNSAFE_ID.sub("_", prefix + finding_id)


def ref(finding_id: str, prefix: str = "") -> str:
    """A link to a finding's section."""
    return f'<a href="#{anchor(finding_id, prefix)}">{text(finding_id)}</a>'
