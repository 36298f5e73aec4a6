"""``exhunt rules list | lint | test`` and ``exhunt --yara`` with user rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.cli.main import main

GOOD = 'rule user_marker { meta: score = 90 strings: $a = "user-marker-77" condition: $a }\n'
BAD = "rule user_bad {\n  condition: nothing_here\n}\n"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXHUNT_CACHE_DIR", str(tmp_path / "cache"))


def _user_rules(tmp_path: Path, bad: bool = False) -> Path:
    folder = tmp_path / "yara"
    folder.mkdir()
    (folder / "good.yar").write_text(GOOD, "utf-8")
    if bad:
        (folder / "bad.yar").write_text(BAD, "utf-8")
    return folder


def test_list_names_bundled_and_user_yara(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rules", "list", "--yara", str(_user_rules(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "yara\tyara.user_marker\thigh\tYARA user_marker: rule matched" in lines
    assert any(line.startswith("yara\texhunt.yara.godzilla\tcritical\t") for line in lines)
    assert any(line.startswith("sigma\t") for line in lines)
    assert any(line.startswith("ioc\texhunt.ioc.hash\t") for line in lines)


def test_lint_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _user_rules(tmp_path, bad=True)
    assert main(["rules", "lint", "--no-bundled", "--yara", str(folder)]) == 14
    out = capsys.readouterr().out
    assert out == f"{folder / 'bad.yar'}:2: error[E009]: unknown identifier `nothing_here`\n"


def test_test_runs_bundled_and_user_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _user_rules(tmp_path)
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "user_marker.yml").write_text(
        "rule: yara.user_marker\nartifact: fs.file\n"
        "match:\n- {path: 'C:\\\\upload\\\\a.aspx', content: 'user-marker-77'}\n"
        "no_match:\n- {path: 'C:\\\\upload\\\\a.aspx', content: 'user-marker-78'}\n",
        "utf-8",
    )
    args = ["rules", "test", "--yara", str(folder), "--examples", str(examples)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.endswith(" passed, 0 failed\n")
    (examples / "wrong.yml").write_text(
        "rule: yara.user_marker\nartifact: fs.file\n"
        "match:\n- {path: 'C:\\\\upload\\\\b.aspx', content: 'nothing'}\n"
        "no_match:\n- {path: 'C:\\\\upload\\\\b.aspx', content: 'nothing'}\n",
        "utf-8",
    )
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "FAIL wrong.yml (yara.user_marker): did not match:" in out


def test_scan_plain_folder_with_user_yara(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "a.txt").write_text("xx user-marker-77 xx", "utf-8")
    code = main(
        ["scan", str(upload), "--yara", str(_user_rules(tmp_path)), "-q", "--format", "json"]
    )
    assert code == 3
    assert '"rule": "yara.user_marker"' in capsys.readouterr().out
