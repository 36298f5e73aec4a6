"""The store-backed peer baseline: a stored server's web files against its same-build peers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhunt.cli.main import main
from exhunt.testing.builder import EvidenceBuilder

BUILD = "15.1.2176.9"
HOUR = datetime(2021, 3, 5, 10, tzinfo=UTC)
AUTH = r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth"
LOGON = '<%@ Page Language="C#" %>\n<!-- stock logon page -->\n'


def server(root: Path, extra: dict[str, str]) -> Path:
    """A small server of BUILD: one HttpProxy log (for the build) and its owa\\auth pages."""
    builder = EvidenceBuilder(root, build=BUILD)
    builder.httpproxy("Owa", HOUR, [{"DateTime": HOUR, "UrlStem": "/owa/", "HttpStatus": 200}])
    builder.file(AUTH + r"\logon.aspx", LOGON)
    for name, content in extra.items():
        builder.file(AUTH + "\\" + name, content)
    return root


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("peers")
    store = base / "fleet.db"
    servers = {
        ("contoso", "a"): {},
        ("fabrikam", "b"): {},
        ("northwind", "c"): {"errorFF.aspx": "<%@ Page %>\n<% /* not stock */ %>\n"},
        ("tailspin", "d"): {"logon.aspx": LOGON + "<% Response.Write(1); %>\n"},
    }
    for (organisation, host), extra in servers.items():
        root = server(base / organisation / host, extra)
        code = main(["scan", "-q", "--format", "json", "--store", str(store),
                     "--organisation", organisation, str(root)])  # fmt: skip
        assert code in (0, 3)
    return store


def test_files_only_one_server_has_and_changed_stock_files(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["fleet", "peers", "--store", str(stored), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    found = {(r["organisation"], r["kind"], Path(r["path"].replace("\\", "/")).name) for r in rows}
    assert found == {("northwind", "added", "errorFF.aspx"), ("tailspin", "changed", "logon.aspx")}
    changed = next(r for r in rows if r["kind"] == "changed")
    assert changed["build"] == BUILD
    assert changed["peers"] == 3


def test_scope_limits_the_peers_and_the_rows(
    stored: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["fleet", "peers", "--store", str(stored), "--format", "json"]
    assert main([*args, "--org", "contoso", "--org", "tailspin"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # Two peers only: a change needs at least two agreeing peers, an addition none.
    assert rows == []
    assert main([*args, "--org", "contoso", "--org", "northwind"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["organisation"], r["kind"]) for r in rows] == [("northwind", "added")]
