"""``exhunt report`` and ``exhunt scan`` offer every format, for one server or several."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import stix2
from html_page import parse
from report_documents import DOCUMENTS, FORMATS, load

from exhunt.cli.main import main
from exhunt.report.formats import render
from exhunt.testing.builder import EvidenceBuilder, Row

DAY = date(2021, 3, 3)
ATTACKER = "104.140.114.110"


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_report_renders_each_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "report", DOCUMENTS / "attempted.json", "--format", fmt)
    assert (code, err) == (0, "")
    assert out == render(load("attempted"), fmt)


def test_report_of_an_array_is_one_combined_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "fleet.json"
    docs = [json.loads((DOCUMENTS / f"{n}.json").read_text()) for n in ("compromised", "attempted")]
    saved.write_text(json.dumps(docs))
    code, out, _ = _run(capsys, "report", saved, "--format", "stix")
    assert code == 0
    bundle = stix2.parse(out, allow_custom=False)
    assert sorted(o.name for o in bundle.objects if o.type == "identity") == [
        "EXCH01",
        "EXCH19",
        "exhunt",
    ]
    code, out, _ = _run(capsys, "report", saved, "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(out)))) == 78 + 7
    code, out, _ = _run(capsys, "report", saved, "--format", "json")
    assert [d["evidence"]["host"] for d in json.loads(out)] == ["EXCH01", "EXCH19"]
    code, out, _ = _run(capsys, "report", saved, "--format", "html", "-o", tmp_path / "r.html")
    assert code == 0 and out == ""
    page = parse((tmp_path / "r.html").read_text("utf-8"))
    assert len(page.with_class("section", "server")) == 2


def test_report_refuses_an_empty_array(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "none.json"
    saved.write_text("[]")
    code, out, err = _run(capsys, "report", saved)
    assert (code, out) == (2, "")
    assert f"{saved} holds no result document" in err


def test_scan_and_report_offer_the_same_formats(capsys: pytest.CaptureFixture[str]) -> None:
    choices = "[csv|html|json|stix|text|timesketch]"
    for command in ("scan", "report"):
        code, out, _ = _run(capsys, command, "--help")
        assert code == 0
        assert choices in out.replace("\n", "").replace(" ", "")


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two small servers, each with a web shell used from a published attacker address."""
    roots = []
    for n, host in enumerate(("EXCH01", "EXCH02"), 1):
        b = EvidenceBuilder(tmp_path_factory.mktemp(f"server{n}") / "evidence", host=host,
                            build="15.1.2106.2")  # fmt: skip
        rows: list[Row] = [_request(6, 51 + m, "/owa/auth/logon.aspx", "GET") for m in range(3)]
        rows.append(_request(7, 5, "/owa/auth/shell.aspx", "POST"))
        b.iis(1, DAY, rows)
        shell = b.exchange("FrontEnd", "HttpProxy", "owa", "auth", "shell.aspx")
        b.file(shell, '<%@ Page Language="Jscript"%><%eval(Request.Item["p"],"unsafe");%>',
               datetime(2021, 3, 3, 7, 0, tzinfo=UTC))  # fmt: skip
        roots.append(b.root)
    return roots


def _request(hour: int, minute: int, stem: str, method: str) -> Row:
    return {
        "time": datetime(2021, 3, 3, hour, minute, tzinfo=UTC), "s-ip": "10.0.0.5",
        "cs-method": method, "cs-uri-stem": stem, "cs-uri-query": "-", "s-port": 443,
        "cs-username": "-", "c-ip": ATTACKER, "cs(User-Agent)": "antSword/v2.1",
        "sc-status": 200, "sc-substatus": 0, "sc-win32-status": 0, "time-taken": 15,
    }  # fmt: skip


@pytest.mark.integration
def test_scan_writes_each_format(
    evidence: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "scan", evidence[0], "-q", "-j", "1", "--format", "csv")
    assert code == 3
    rows = list(csv.DictReader(io.StringIO(out)))
    # No log names the server here: its evidence path stands for it.
    assert rows and {r["host"] for r in rows} == {str(evidence[0])}
    assert any(r["data_type"] == "exhunt:iis:w3c" and "/owa/auth/shell.aspx" in r["message"]
               for r in rows)  # fmt: skip
    code, out, _ = _run(capsys, "scan", evidence[0], "-q", "-j", "1", "--format", "timesketch")
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == len(rows)
    target = tmp_path / "report.html"
    code, out, _ = _run(capsys, "scan", evidence[0], "-q", "-j", "1", "--format", "html", "-o",
                        target)  # fmt: skip
    assert (code, out) == (3, "")
    page = parse(target.read_text("utf-8"))
    assert page.with_class("svg", "timeline") and page.with_class("circle", "event")


@pytest.mark.integration
def test_scan_of_two_servers_is_one_stix_bundle(
    evidence: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "scan", *evidence, "-q", "-j", "1", "--format", "stix")
    assert code == 3
    bundle = stix2.parse(out, allow_custom=False)
    servers = [o for o in bundle.objects if o.type == "identity" and o.name != "exhunt"]
    assert sorted(s.name for s in servers) == sorted(str(e) for e in evidence)
    address = [o for o in bundle.objects if o.type == "indicator" and ATTACKER in o.pattern]
    assert len(address) == 1  # one indicator, sighted on both servers
    sightings = [o for o in bundle.objects if o.type == "sighting"]
    assert {s.where_sighted_refs[0] for s in sightings if s.sighting_of_ref == address[0].id} == {
        s.id for s in servers
    }
