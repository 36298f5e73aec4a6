"""Attacker-written strings through every renderer: none survives as markup, formula or control.

The document puts XSS (``<script>``, ``onerror=``, ``javascript:`` URLs, SVG payloads),
spreadsheet formulas (``=cmd|...``, ``+``, ``-``, ``@``, tab and CR prefixes, full-width
``\\uff1d``), terminal escape sequences and Unicode direction overrides into every string field.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from html_page import EMITTED, parse
from report_documents import ALL, PAYLOADS, UNSAFE, XSS, hostile_document

from exhunt.document import ScanDocument
from exhunt.report.formats import FORMATS, RenderOptions, render, render_many

ATTRIBUTES = frozenset(
    {
        "lang", "charset", "http-equiv", "content", "name", "class", "id", "href",
        "xmlns", "viewbox", "role", "aria-labelledby", "width", "height", "patternunits",
        "patterntransform", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "fill",
        "fill-opacity", "opacity", "stroke", "stroke-width", "stroke-dasharray", "text-anchor",
        "font-size", "font-weight",
    }
)  # fmt: skip
"""Every attribute the report writes (``onerror``, ``src``, ``style`` are not among them)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


@pytest.fixture(scope="module")
def document() -> ScanDocument:
    return hostile_document()


def _raw_controls(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text.replace("\r\n", "\n"))})


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("fmt", sorted(FORMATS.names()))
def test_no_raw_control_or_direction_characters(
    document: ScanDocument, fmt: str, verbose: bool
) -> None:
    text = render(document, fmt, RenderOptions(verbose=verbose))
    assert _raw_controls(text) == []


@pytest.mark.parametrize("verbose", [False, True])
def test_html_has_no_element_or_attribute_from_the_payloads(
    document: ScanDocument, verbose: bool
) -> None:
    page = parse(render(document, "html", RenderOptions(verbose=verbose)))
    assert page.tags() <= EMITTED
    assert not {"script", "img", "iframe", "a href", "textarea"} & page.tags()
    assert page.attribute_names() <= ATTRIBUTES
    values = [v for e in page.elements for k, v in e.attrs.items() if k != "xmlns"]
    assert [v for v in values if "javascript" in v.lower() or "<" in v or "://" in v] == []
    assert len(page.styles) == 1  # "</style>" in a payload did not end the stylesheet early
    hrefs = [e.attrs["href"] for e in page.elements if "href" in e.attrs]
    assert all(
        h.startswith("#") and h[1:].replace("-", "").replace("_", "").isalnum() for h in hrefs
    )
    # The payloads are on the page as text, visibly.
    text = "".join(page.text)
    for payload in XSS:
        assert payload in text


def test_html_shows_escapes_for_invisible_characters(document: ScanDocument) -> None:
    text = "".join(parse(render(document, "html")).text)
    for escape in ("\\x1b[2J", "\\x1b]0;owned\\x07", "\\x9b31mcsi", "\\u202egpj.exe", "\\u2028"):
        assert escape in text


def test_csv_cells_are_never_formulas(document: ScanDocument) -> None:
    text = render(document, "csv")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(document.timeline)
    cells = [cell for row in rows[1:] for cell in row]
    running = [c for c in cells if c.lstrip(" ").startswith(FORMULA_START)]
    assert running == []
    assert any(cell.startswith("'=cmd|") for cell in cells)  # neutralised, still readable
    assert any(cell.startswith("'\\uff1d1+1") or cell.startswith("'\uff1d1+1") for cell in cells)
    assert any(cell.startswith("\\t=1+1") for cell in cells)  # a tab made visible, inert


def test_csv_of_several_servers_is_safe_too(document: ScanDocument) -> None:
    text = render_many([document, document], "csv")
    cells = [c for row in list(csv.reader(io.StringIO(text, newline="")))[1:] for c in row]
    assert [c for c in cells if c.lstrip(" ").startswith(FORMULA_START)] == []


def test_timesketch_keeps_values_exact_and_inert(document: ScanDocument) -> None:
    text = render(document, "timesketch")
    assert text.isascii()  # every non-ASCII and control character is a JSON escape
    events = [json.loads(line) for line in text.splitlines()]
    assert len(events) == len(PAYLOADS)
    excerpts = "".join(e["excerpt"] for e in events)
    for payload in PAYLOADS:
        assert payload in excerpts


def test_json_keeps_values_exact_and_inert(document: ScanDocument) -> None:
    text = render(document, "json")
    assert ScanDocument.from_json(text).verdict.reasons == list(PAYLOADS)
    assert "\\u202e" in text and "\\u009b" in text


def test_stix_bundle_is_valid_and_patterns_exact(document: ScanDocument, tmp_path: Path) -> None:
    import stix2

    text = render(document, "stix")
    assert text.isascii()
    bundle = stix2.parse(text, allow_custom=False)
    indicators = [o for o in bundle.objects if o.type == "indicator"]
    agents = [i for i in indicators if "User-Agent" in i.pattern]
    # Each payload is a user agent of its finding, and one more with a prefix.
    assert len(agents) == 2 * len(PAYLOADS)
    # Hostile "addresses" and hashes are not made into patterns; the valid ones are.
    addresses = sorted(i.pattern for i in indicators if "ipv4-addr" in i.pattern)
    assert len(addresses) == len(PAYLOADS)
    assert not [i for i in indicators if "SHA-256" in i.pattern and "alert" in i.pattern]
    # Read back as a feed, the values are the attacker's exactly.
    from exhunt.detect.ioc import load_indicators

    path = tmp_path / "hostile.json"
    path.write_text(text, "utf-8")
    values = {i.value for i in load_indicators([path]) if i.type == "user-agent"}
    assert {p.strip() for p in PAYLOADS} <= values  # feeds' values are trimmed of blanks


def test_text_report_shows_escapes(document: ScanDocument) -> None:
    text = render(document, "text", RenderOptions(verbose=True))
    assert "\\x1b[2J\\x1b]0;owned\\x07" in text
    assert "\\u202egpj.exe" in text
    assert ALL[:20] in text
