"""The HTML report in a real browser: headless Chromium renders it under its own policy.

Checks that the timeline picture is drawn (the SVG has its size and the expected number of
event marks, its screenshot is a picture and not a blank), that the stylesheet applies under
the Content-Security-Policy (a refused inline style would show in the console and leave the
verdict banner uncoloured), that nothing logs an error, and that the print layout works.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium_page import pixels, require_chromium, start, stop
from report_documents import hostile_document, load

from exhunt.document import ScanDocument
from exhunt.report.formats import render

pytestmark = pytest.mark.integration

CRITICAL_RED = (185, 28, 28)
EXPECTED_MARKS = {"clean": 0, "compromised": 77, "attempted": 7}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    profile = Path(tempfile.mkdtemp(prefix="exhunt-chromium-"))
    driver = start(profile)
    try:
        yield driver
    finally:
        stop(driver, profile)


def _open(browser: Any, document: ScanDocument, tmp_path: Path) -> list[dict[str, Any]]:
    page = tmp_path / "report.html"
    page.write_text(render(document, "html"), "utf-8")
    browser.get(page.as_uri())
    return list(browser.get_log("browser"))


@pytest.mark.parametrize("name", sorted(EXPECTED_MARKS))
def test_report_renders_without_errors(browser: Any, name: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    console = _open(browser, load(name), tmp_path)
    assert console == []  # no script error, no policy violation, no failed load
    banner = browser.find_element(By.CSS_SELECTOR, "div.verdict")
    assert banner.value_of_css_property("color") == "rgba(255, 255, 255, 1)"
    svg = browser.find_element(By.CSS_SELECTOR, "svg.timeline")
    assert svg.size["width"] > 800 and svg.size["height"] > 100
    marks = browser.find_elements(By.CSS_SELECTOR, "svg.timeline circle.event")
    assert len(marks) == EXPECTED_MARKS[name]
    assert all(mark.is_displayed() for mark in marks)


def test_timeline_screenshot_shows_the_attack(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, load("compromised"), tmp_path)
    shot = browser.find_element(By.CSS_SELECTOR, "svg.timeline").screenshot_as_png
    colours = pixels(shot)
    assert len(set(colours)) > 20  # not blank: lanes, bars, grid, labels, marks
    red = sum(1 for c in colours if c[0] > 150 and c[1] < 90 and c[2] < 90)
    assert red > 400  # 75 critical marks and the first-malicious line
    assert CRITICAL_RED in set(colours)  # the legend's solid critical dot


def test_verdict_colours_by_status(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    expected = {"compromised": "rgba(153, 27, 27, 1)", "clean": "rgba(21, 128, 61, 1)"}
    for name, colour in expected.items():
        _open(browser, load(name), tmp_path)
        banner = browser.find_element(By.CSS_SELECTOR, "div.verdict")
        assert banner.value_of_css_property("background-color") == colour


def test_hostile_document_runs_nothing(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    console = _open(browser, hostile_document(), tmp_path)
    assert console == []
    assert browser.find_elements(By.CSS_SELECTOR, "script, img, iframe, a[href^=javascript]") == []
    assert browser.execute_script("return document.title").startswith("exhunt: EXCH<script>")
    assert browser.execute_script("return window.name") == ""


def test_print_layout(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions

    _open(browser, load("compromised"), tmp_path)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        article = browser.find_element(By.CSS_SELECTOR, "article.finding")
        assert article.value_of_css_property("break-inside") == "avoid"
        banner = browser.find_element(By.CSS_SELECTOR, "div.verdict")
        assert banner.value_of_css_property("background-color") == "rgba(153, 27, 27, 1)"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = base64.b64decode(browser.print_page(PrintOptions()))
    assert pdf.startswith(b"%PDF")
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page/") + pdf.count(b"/Type /Page ") >= 3
    )
