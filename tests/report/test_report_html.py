"""The HTML report: standalone, strict policy, sections in reading order, a timeline picture."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import UTC, datetime

import pytest
from html_page import EMITTED, parse
from report_documents import NAMES, load

from exhunt.document import ScanDocument
from exhunt.report.formats import RenderOptions, render, render_many
from exhunt.report.htmlparts import EVIDENCE_SHOWN
from exhunt.report.svg import timeline_svg


@pytest.mark.parametrize("name", NAMES)
def test_page_is_standalone_with_a_strict_policy(name: str) -> None:
    html = render(load(name), "html")
    page = parse(html)
    assert page.tags() <= EMITTED
    assert "script" not in page.tags() and "img" not in page.tags()
    assert len(page.styles) == 1
    # Nothing to fetch: the only links are anchors inside the page.
    hrefs = [e.attrs["href"] for e in page.elements if "href" in e.attrs]
    assert all(h.startswith("#") for h in hrefs)
    assert not {"src", "srcset", "action", "style"} & page.attribute_names()
    assert not [n for n in page.attribute_names() if n.startswith("on")]
    # Addresses in the evidence are text, never attribute values (the SVG namespace aside).
    values = [v for e in page.elements for k, v in e.attrs.items() if k != "xmlns"]
    assert [v for v in values if "://" in v or v.lower().startswith("javascript")] == []
    policy = next(e.attrs["content"] for e in page.elements if e.attrs.get("http-equiv"))
    digest = base64.b64encode(hashlib.sha256(page.styles[0].encode()).digest()).decode()
    assert policy == (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "script-src 'none'; base-uri 'none'; form-action 'none'"
    )


def test_every_anchor_link_has_its_target() -> None:
    page = parse(render(load("compromised"), "html"))
    ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
    targets = {e.attrs["href"][1:] for e in page.elements if "href" in e.attrs}
    assert targets <= ids
    assert {"finding-F1", "finding-F5", "action-1", "action-10"} <= ids


def test_sections_in_reading_order() -> None:
    page = parse(render(load("compromised"), "html"))
    headings = [t for t in page.text if t.strip()]
    order = ["Timeline", "What to do now", "Findings (5)", "Exchange server", "Coverage"]
    positions = [headings.index(h) for h in order]
    assert positions == sorted(positions)
    verdict = page.with_class("div", "verdict")
    assert len(verdict) == 1 and "verdict-compromised" in verdict[0].attrs["class"]
    first = "".join(page.text).index("Compromised: the server was successfully attacked")
    assert first < "".join(page.text).index("Timeline")


def test_timeline_picture_marks_every_event_in_the_logged_period() -> None:
    document = load("compromised")
    picture = timeline_svg(document)
    svg = parse(picture.svg)
    marks = svg.with_class("circle", "event")
    # 78 timeline entries; the one informational archive from 2020 lies outside the logs.
    assert len(marks) == picture.marks == len(document.timeline) - 1 == 77
    assert picture.outside == 1
    severities = Counter(m.attrs["class"].split()[1] for m in marks)
    assert severities == {"sev-critical": 75, "sev-high": 2}
    assert len(svg.with_class("line", "first-malicious")) == 1
    assert len(svg.with_class("rect", "gap")) == 2  # the IIS gap, and the cut-short file
    assert len(svg.with_class("rect", "expected")) == 1  # ... drawn fainter
    assert len(svg.with_class("rect", "logged")) == 6
    assert len(svg.with_class("text", "lane-label")) == 7
    page = parse(render(document, "html"))
    assert len(page.with_class("svg", "timeline")) == 1
    assert len(page.with_class("circle", "event")) == 77  # the close-up's are zoom-event
    text = "".join(page.text)
    assert "77 evidence events" in text
    assert "Not drawn: 1 informational event outside the logged period" in text


def test_first_malicious_line_is_at_its_time() -> None:
    page = parse(render(load("attempted"), "html"))
    line = page.with_class("line", "first-malicious")[0]
    marks = page.with_class("circle", "sev-high")
    # F1's first line (14:02:11Z) is the first malicious moment: same x.
    assert float(line.attrs["x1"]) in {float(m.attrs["cx"]) for m in marks}
    assert "first malicious 2022-11-23T14:02:11Z" in "".join(page.text)


def test_clean_server_page() -> None:
    page = parse(render(load("clean"), "html"))
    assert len(page.with_class("circle", "event")) == 0  # its one event is from 2020
    assert page.with_class("div", "verdict-clean")
    actions = page.with_class("li", "action")
    assert [a.attrs["class"] for a in actions] == ["action action-older-logs"]


def test_evidence_lines_are_capped_unless_verbose() -> None:
    document = load("compromised")
    short = parse(render(document, "html"))
    full = parse(render(document, "html", RenderOptions(verbose=True)))
    rows = lambda page: sum(1 for e in page.elements if e.tag == "tr")  # noqa: E731
    assert rows(full) - rows(short) == 51 - EVIDENCE_SHOWN + 24 - EVIDENCE_SHOWN
    assert "31 more evidence lines in the JSON document" in "".join(short.text)


def test_findings_link_back_to_their_actions() -> None:
    page = parse(render(load("compromised"), "html"))
    text = "".join(page.text)
    assert "Because of F1, F2, F3, F4" in text
    # F3 (the LSASS dump) calls for preserving, examining, resetting, hunting and rebuilding.
    assert "rulesexhunt.files.lsass-dumpactions1, 4, 5, 6, 8A dump of lsass.exe" in text


def test_several_servers_on_one_page() -> None:
    documents = [load("compromised"), load("attempted")]
    page = parse(render_many(documents, "html"))
    assert len(page.with_class("section", "server")) == 2
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    assert {"s1-server", "s2-server", "finding-s1-F1", "finding-s2-F1"} <= set(ids)
    assert len(page.with_class("svg", "timeline")) == 2


def test_print_stylesheet() -> None:
    css = parse(render(load("clean"), "html")).styles[0]
    assert "@media print" in css
    assert "break-inside: avoid" in css
    assert "print-color-adjust: exact" in css


def test_document_without_times_has_no_picture() -> None:
    data = load("clean").to_dict()
    data["timeline"], data["coverage"] = [], {}
    page = parse(render(ScanDocument.model_validate(data), "html"))
    assert "svg" not in page.tags()
    assert "No evidence event has a time." in "".join(page.text)


def test_close_up_of_the_first_attack_burst() -> None:
    document = load("compromised")
    page = parse(render(document, "html"))
    assert len(page.with_class("svg", "timeline-zoom")) == 1
    text = "".join(page.text)
    heading = (
        "Close-up: the first burst of the attack (2021-03-03 06:51:00Z to 2021-03-03 06:57:00Z)"
    )
    assert heading in text
    start = datetime(2021, 3, 3, 6, 51, tzinfo=UTC)
    end = datetime(2021, 3, 3, 6, 57, tzinfo=UTC)
    inside = [t for t in document.timeline if start <= t.time <= end]
    assert len(page.with_class("circle", "zoom-event")) == len(inside) == 27
    assert f"{len(inside)} evidence events in this period." in text
    # The SSRF, the ECP commands and the web shell's first use: 06:51:30 to 06:53:52.
    assert max(t.time for t in inside) == datetime(2021, 3, 3, 6, 53, 52, 559000, tzinfo=UTC)


def test_no_close_up_when_the_whole_picture_is_short() -> None:
    data = load("attempted").to_dict()
    data["coverage"]["artifacts"] = []
    data["findings"] = data["findings"][:1]
    data["timeline"] = [t for t in data["timeline"] if t["finding_ids"] == ["F1"]]
    data["timeline"][-1]["time"] = "2022-11-23T14:20:00Z"
    data["verdict"]["last_malicious"] = "2022-11-23T14:20:00Z"
    page = parse(render(ScanDocument.model_validate(data), "html"))
    assert page.with_class("svg", "timeline") and not page.with_class("svg", "timeline-zoom")
