"""``exhunt baseline build``, ``scan --baseline`` and peers scanned together, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exhunt.cli.main import main

AUTH = "C/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth"


def _server(root: Path, logon: str, extra: bool = False) -> Path:
    auth = root / AUTH
    (auth / "15.2.1118.7" / "themes").mkdir(parents=True)
    (auth / "15.2.1118.7" / "themes" / "a.css").write_text("css", "utf-8")
    (auth / "logon.aspx").write_text(logon, "utf-8")
    (root / "C/Program Files/Microsoft/Exchange Server/V15/Bin").mkdir(parents=True)
    (root / "C/Program Files/Microsoft/Exchange Server/V15/Bin/ExSetup.exe").write_text("x")
    if extra:
        (auth / "help.aspx").write_text('<%@ Page Language="C#" %>hi', "utf-8")
    return root


@pytest.fixture
def servers(tmp_path: Path) -> list[Path]:
    return [
        _server(tmp_path / "s1", "<%@ Page %>"),
        _server(tmp_path / "s2", "<%@ Page %>"),
        _server(tmp_path / "s3", "<%@ Page %>changed", extra=True),
    ]


def _rules(document: dict[str, object]) -> list[list[str]]:
    return sorted(f["rules"] for f in document["findings"])  # type: ignore[index, union-attr]


def test_peers_scanned_together(servers: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", *map(str, servers), "-q", "--format", "json"]) == 3
    documents = json.loads(capsys.readouterr().out)
    assert [_rules(d) for d in documents[:2]] == [[], []]
    assert _rules(documents[2]) == [
        ["exhunt.baseline.added", "exhunt.files.web-script", "exhunt.ioc.file"],
        ["exhunt.baseline.changed"],
    ]


def test_baseline_build_and_compare(
    servers: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "build", str(servers[0]), str(servers[1]), "-o", str(baseline)]) == 0
    data = json.loads(baseline.read_text("utf-8"))
    assert list(data["builds"]) == ["15.2.1118.7"]
    assert list(data["builds"]["15.2.1118.7"]["files"]) == [
        "exchange/frontend/httpproxy/owa/auth/logon.aspx"
    ]
    capsys.readouterr()
    assert (
        main(["scan", str(servers[2]), "--baseline", str(baseline), "-q", "--format", "json"]) == 3
    )
    document = json.loads(capsys.readouterr().out)
    assert _rules(document) == [
        ["exhunt.baseline.added", "exhunt.files.web-script", "exhunt.ioc.file"],
        ["exhunt.baseline.changed"],
    ]
    assert (
        main(["scan", str(servers[0]), "--baseline", str(baseline), "-q", "--format", "json"]) == 0
    )
