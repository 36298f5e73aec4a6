"""``exhunt scan`` exit codes (docs/cli.md), each failure with one line on stderr naming it."""

from __future__ import annotations

import json
import os
import random
import zipfile
from pathlib import Path

import pytest
from cli_run import Result, Run

from exhunt.testing.generator import ServerManifest

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
BAD_CONDITION = """\
title: Condition that does not parse
id: 5a0c3a45-8f0e-4f4e-9a70-0c2f5b1d6e11
logsource:
    category: webserver
detection:
    selection:
        cs-uri-stem: /ecp/x.js
    condition: selection and
level: high
"""


def one_error_line(result: Result, *names: str | Path) -> str:
    """The run failed with nothing on stdout and one line on stderr naming ``names``."""
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    line = result.err.strip()
    assert line.startswith("exhunt: error: ")
    for name in names:
        assert str(name) in line
    return line


def usage_error(result: Result, *words: str) -> str:
    """A usage error (exit 2): click's usage lines, and the error naming ``words``."""
    assert result.code == 2
    assert result.out == ""
    error = [line for line in result.err.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, result.err
    for word in words:
        assert word in error[0]
    return error[0]


def test_clean_server_exits_0(run: Run, clean_server: ServerManifest) -> None:
    result = run("scan", clean_server.root)
    assert result.code == 0
    assert result.err == ""
    assert "VERDICT: CLEAN" in result.out


def test_compromised_server_exits_3(run: Run, compromised_server: ServerManifest) -> None:
    assert run("scan", compromised_server.root, "-q").code == 3
    # A critical web shell finding is at least critical too.
    assert run("scan", compromised_server.root, "-q", "--fail-on", "critical").code == 3


def test_fail_on_is_about_the_most_severe_finding(run: Run, high_only: Path) -> None:
    assert run("scan", high_only, "-q").code == 3
    assert run("scan", high_only, "-q", "--fail-on", "critical").code == 0


def test_fail_on_info_counts_informational_findings(run: Run, clean_server: ServerManifest) -> None:
    # The clean server's antivirus archive is an informational finding.
    assert run("scan", clean_server.root, "-q", "--fail-on", "info").code == 3
    assert run("scan", clean_server.root, "-q", "--fail-on", "low").code == 0


def test_bad_option_exits_2(run: Run, clean_server: ServerManifest) -> None:
    usage_error(run("scan", clean_server.root, "--no-such-option"), "--no-such-option")
    usage_error(run("scan", clean_server.root, "--fail-on", "severe"), "--fail-on", "severe")


@pytest.mark.parametrize("value", ["yesterday", "2021-13-01", "03/04/2021"])
def test_bad_since_exits_2(run: Run, clean_server: ServerManifest, value: str) -> None:
    usage_error(run("scan", clean_server.root, "--since", value), "--since", value)


def test_since_after_until_exits_2(run: Run, clean_server: ServerManifest) -> None:
    result = run(
        "scan", clean_server.root, "--since", "2021-03-05T00:00:00Z", "--until", "2021-03-01"
    )
    usage_error(result, "--since", "2021-03-05T00:00:00Z", "2021-03-01T00:00:00Z")


def test_missing_path_exits_10(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-evidence"
    result = run("scan", missing)
    assert result.code == 10
    one_error_line(result, missing)


def test_unreadable_path_exits_11(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "u_ex210303.log").write_bytes(
        b"#Software: Microsoft Internet Information Services\r\n"
    )
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK | os.X_OK):
            pytest.skip("running as a user that reads any folder (root): cannot test")
        result = run("scan", folder)
        assert result.code == 11
        assert "permission denied" in one_error_line(result, folder)
    finally:
        folder.chmod(0o755)


def test_io_error_exits_11(run: Run) -> None:
    # Reading the first byte of a process's own memory file fails with EIO, even for root.
    mem = Path("/proc/self/mem")
    if not mem.is_file():
        pytest.skip("no /proc/self/mem on this system")
    result = run("scan", mem)
    assert result.code == 11
    assert "Input/output error" in one_error_line(result, mem)


def test_empty_folder_exits_12(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("scan", empty)
    assert result.code == 12
    assert "contains no files" in one_error_line(result, empty)


@pytest.mark.parametrize(
    ("name", "data", "looks"),
    [
        ("screenshot.png", PNG + bytes(64), "a PNG image"),
        (
            "blob.bin",
            random.Random(3).randbytes(4096).replace(b"\x00", b"\x01") + b"\x00",
            "binary",
        ),
        ("collection.zip", b"PK\x03\x04 not really", None),
    ],
)
def test_unsupported_file_exits_12_or_13(
    run: Run, tmp_path: Path, name: str, data: bytes, looks: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = run("scan", path)
    if looks is None:  # named and started like a zip, but damaged
        assert result.code == 13
        one_error_line(result, path)
    else:
        assert result.code == 12
        assert looks in one_error_line(result, path)


def test_zip_with_path_escape_skips_the_member_and_says_so(run: Run, tmp_path: Path) -> None:
    archive = tmp_path / "triage.zip"
    with zipfile.ZipFile(archive, "w") as members:
        members.writestr("C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "#Software: IIS\r\n")
        members.writestr("../../outside.aspx", "<%@ Page %>")
    result = run("scan", archive, "--format", "json")
    assert result.code == 0
    skipped = json.loads(result.out)["coverage"]["skipped"]
    assert any("../../outside.aspx" in item and "refused" in item for item in skipped)


def test_zip_with_path_escape_is_never_unpacked_outside(run: Run, tmp_path: Path) -> None:
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    archive = tmp_path / "triage.zip"
    with zipfile.ZipFile(archive, "w") as members:
        members.writestr("C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log", "#Software: IIS\r\n")
        members.writestr("../../outside.aspx", "<%@ Page %>")
    result = run("scan", archive, "--workdir", work, "--format", "json")
    assert not (tmp_path / "outside.aspx").exists()
    assert not (work.parent / "outside.aspx").exists()
    assert list(work.iterdir()) == []
    assert "\"../../outside.aspx: refused: '..' component in name\"" in result.out


def test_invalid_sigma_rule_exits_14(
    run: Run, clean_server: ServerManifest, tmp_path: Path
) -> None:
    rule = tmp_path / "broken.yml"
    rule.write_text(BAD_CONDITION)
    result = run("scan", clean_server.root, "--sigma", rule)
    assert result.code == 14
    line = one_error_line(result, rule)
    assert f"{rule}:" in line  # file and line


def test_skip_invalid_rules_lists_the_rule(
    run: Run, clean_server: ServerManifest, tmp_path: Path
) -> None:
    from exhunt.document import ScanDocument

    rule = tmp_path / "broken.yml"
    rule.write_text(BAD_CONDITION)
    result = run(
        "scan", clean_server.root, "--sigma", rule, "--skip-invalid-rules", "--format", "json"
    )
    assert result.code == 0
    doc = ScanDocument.from_json(result.out)
    assert [(e.component, e.path) for e in doc.errors] == [("rules", str(rule))]
    assert doc.errors[0].line is not None
    assert doc.verdict.status.value == "clean"
