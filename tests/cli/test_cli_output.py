"""What ``exhunt scan`` and ``exhunt report`` print: JSON documents, text reports, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import IIS_LOGS_REL, INSTALL_REL, Run, without_duration

from exhunt.cli.progress import ProgressBar
from exhunt.document import ScanDocument
from exhunt.options import ScanOptions
from exhunt.report.formats import render
from exhunt.scan import scan
from exhunt.testing.generator import ServerManifest

pytestmark = pytest.mark.integration

WIDTH = 80


def test_json_is_one_document(run: Run, compromised_server: ServerManifest) -> None:
    result = run("scan", compromised_server.root, "--format", "json")
    assert result.code == 3
    assert result.err == ""
    assert isinstance(json.loads(result.out), dict)
    doc = ScanDocument.from_json(result.out)
    assert doc.verdict.status.value == "compromised"
    assert doc.evidence.path == str(compromised_server.root)
    assert doc.to_json() + "\n" == result.out


def test_two_paths_give_an_array_of_two(
    run: Run, clean_server: ServerManifest, compromised_server: ServerManifest
) -> None:
    result = run("scan", clean_server.root, compromised_server.root, "--format", "json")
    assert result.code == 3
    documents = json.loads(result.out)
    assert isinstance(documents, list) and len(documents) == 2
    docs = [ScanDocument.from_json(json.dumps(d)) for d in documents]
    assert [d.evidence.path for d in docs] == [str(clean_server.root), str(compromised_server.root)]
    assert [d.verdict.status.value for d in docs] == ["clean", "compromised"]


def test_same_server_parts_give_one_document(run: Run, compromised_server: ServerManifest) -> None:
    install = compromised_server.root / INSTALL_REL
    iis_logs = compromised_server.root / IIS_LOGS_REL
    result = run("scan", install, iis_logs, "--same-server", "--format", "json")
    assert result.code == 3
    doc = ScanDocument.from_json(result.out)
    assert doc.evidence.path == f"{install}, {iis_logs}"
    assert doc.verdict.status.value == "compromised"
    categories = {f.category.value for f in doc.findings}
    assert {"exploitation", "webshell"} <= categories
    covered = {a.type for a in doc.coverage.artifacts}
    assert {"iis.w3c", "exchange.httpproxy", "exchange.ecp_server"} <= covered
    paths = {e.path.split("/")[0] for f in doc.findings for e in f.evidence}
    assert paths == {"V15", "LogFiles"}  # both parts, each under its own name


def test_output_file_gets_the_report(
    run: Run, compromised_server: ServerManifest, tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    result = run("scan", compromised_server.root, "--format", "json", "-o", target)
    assert (result.code, result.out, result.err) == (3, "", "")
    assert ScanDocument.from_json(target.read_text()).verdict.status.value == "compromised"
    text = tmp_path / "report.txt"
    assert run("scan", compromised_server.root, "--output", text).out == ""
    printed = run("scan", compromised_server.root).out
    assert without_duration(text.read_text(encoding="utf-8")) == without_duration(printed)


def test_output_inside_the_evidence_is_refused(run: Run, clean_server: ServerManifest) -> None:
    for target in (
        clean_server.root / "report.txt",
        clean_server.root / "C" / "inetpub" / "report.json",
        clean_server.root / "C" / ".." / "report.txt",
    ):
        result = run("scan", clean_server.root, "-o", target)
        assert result.code == 2
        assert result.out == ""
        assert f"--output {target} is inside the evidence {clean_server.root}" in result.err
        assert not target.exists()


def test_output_over_an_evidence_file_is_refused(run: Run, tmp_path: Path) -> None:
    log = tmp_path / "u_ex210303.log"
    log.write_bytes(b"#Software: Microsoft Internet Information Services 10.0\r\n")
    alias = tmp_path / "alias.log"
    alias.hardlink_to(log)
    for target in (log, tmp_path / "." / "u_ex210303.log", alias):
        result = run("scan", log, "-o", target)
        assert result.code == 2
        assert "is inside the evidence" in result.err
        assert log.read_bytes() == b"#Software: Microsoft Internet Information Services 10.0\r\n"


def test_output_in_a_missing_folder_is_refused_first(
    run: Run, clean_server: ServerManifest, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "report.txt"
    result = run("scan", clean_server.root, "-o", target)
    assert result.code == 2
    assert "does not exist" in result.err
    assert "Traceback" not in result.err


def test_report_renders_a_saved_document_again(
    run: Run, compromised_server: ServerManifest, tmp_path: Path
) -> None:
    saved = tmp_path / "saved.json"
    assert run("scan", compromised_server.root, "--format", "json", "-o", saved).code == 3
    scanned = run("scan", compromised_server.root).out
    again = run("report", saved, "--format", "text")
    assert again.code == 0 and again.err == ""
    assert without_duration(again.out) == without_duration(scanned)
    assert run("report", saved, "--format", "json").out == saved.read_text()
    verbose = run("report", saved, "-v")
    assert len(verbose.out.splitlines()) > len(again.out.splitlines())


def test_render_round_trip_is_exact(compromised_server: ServerManifest) -> None:
    doc = scan([compromised_server.root], ScanOptions(jobs=1))
    saved = ScanDocument.from_json(doc.to_json())
    assert saved.to_json() == doc.to_json()
    # Only the scan's own start and end lose their microseconds (JSON has milliseconds).
    assert saved.model_copy(update={"scan": doc.scan}) == doc
    for fmt in ("text", "json"):
        assert render(saved, fmt) == render(doc, fmt)


def test_report_refuses_what_is_not_a_document(run: Run, tmp_path: Path) -> None:
    for name, data in (("empty.json", b"{}"), ("noise.json", b"\x89PNG\r\n")):
        path = tmp_path / name
        path.write_bytes(data)
        result = run("report", path)
        assert result.code == 2
        assert result.out == ""
        errors = [line for line in result.err.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1
        assert f"{path} is not an exhunt result document" in errors[0]


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_text_report_layout(
    run: Run,
    clean_server: ServerManifest,
    compromised_server: ServerManifest,
    verbose: list[str],
) -> None:
    for server in (clean_server, compromised_server):
        text = run("scan", server.root, *verbose).out
        lines = text.splitlines()
        assert [line for line in lines if len(line) > WIDTH] == []
        assert lines[0].startswith("exhunt ")
        headings = [line.split(" ")[0] for line in lines if line and line[0].isupper()]
        assert headings[:2] == ["Evidence:", "Server:"]
        order = [h for h in headings if h in ("VERDICT:", "FINDINGS", "TIMELINE", "COVERAGE")]
        assert order == ["VERDICT:", "FINDINGS", "TIMELINE", "COVERAGE"]


def test_no_progress_bar_off_a_terminal(
    run: Run, clean_server: ServerManifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exhunt.cli.progress.SHOW_AFTER", 0.0)  # the bar would show at once
    assert ProgressBar(True).enabled is False  # stderr is captured, not a terminal
    result = run("scan", clean_server.root)
    assert result.code == 0
    assert result.err == ""
