"""Windows path mapping, case-insensitive lookups and reading files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from evidence_layouts import server_files

from exhunt.evidence import EvidenceFile, open_evidence
from exhunt.evidence.winpath import clean, expand, key

LOGON = "D/Exchange/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx"


@pytest.fixture
def evidence(tree):
    with open_evidence([tree(server_files())]) as ev:
        yield ev


@pytest.mark.parametrize(
    "query",
    [
        "D:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
        "d:\\exchange\\v15\\FRONTEND\\httpproxy\\OWA\\AUTH\\LOGON.ASPX",
        "D:/Exchange/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx",
        "\\\\?\\D:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
        '"D:\\Exchange\\\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx"',
        "%ExchangeInstallDir%FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
        "%EXCHANGEINSTALLDIR%\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
    ],
)
def test_resolve_any_spelling(evidence, query: str) -> None:
    found = evidence.resolve(query)
    assert found is not None and found.rel == LOGON


def test_resolve_with_system_variables(evidence) -> None:
    found = evidence.resolve("%SystemDrive%\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex210303.log")
    assert found is not None and found.rel == "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"
    config = evidence.resolve("%windir%\\System32\\inetsrv\\config\\applicationHost.config")
    assert config == evidence.iis_file


def test_resolve_misses(evidence) -> None:
    assert evidence.resolve("E:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx") is None
    assert evidence.resolve("D:\\Exchange\\V15") is None  # a folder, not a file
    assert evidence.resolve("%UnknownVariable%\\x") is None
    assert evidence.resolve("") is None


def test_resolve_dir(evidence) -> None:
    assert evidence.resolve_dir("c:\\INETPUB\\logs\\logfiles\\w3svc1\\") == (
        "C/inetpub/logs/LogFiles/W3SVC1"
    )
    assert evidence.resolve_dir("%ExchangeInstallDir%") == "D/Exchange/V15"
    assert evidence.resolve_dir("D:\\") == "D"
    assert evidence.resolve_dir("C:\\Program Files") is None


def test_windows_path_of_folders_and_files(evidence) -> None:
    assert evidence.windows_path("C") == "C:\\"
    assert evidence.windows_path("C/inetpub") == "C:\\inetpub"
    assert evidence.windows_path("c/INETPUB/") == "C:\\INETPUB"
    assert evidence.windows_path("not/mapped") is None
    assert evidence.windows_path("") is None


def test_iter_under_ignores_case(evidence) -> None:
    rels = [f.rel for f in evidence.iter_under("d/exchange/v15/LOGGING")]
    assert rels == ["D/Exchange/V15/Logging/HttpProxy/Owa/HttpProxy_2021030100-1.LOG"]
    assert [f.rel for f in evidence.iter_under("C/inetpub/")] == [
        "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log",
        "C/inetpub/wwwroot/aspnet_client/system_web/x.aspx",
    ]
    assert list(evidence.iter_under("C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log")) == []
    assert list(evidence.iter_under("C/inet")) == []
    assert list(evidence.iter_under("")) == list(evidence.files)


def test_open_and_head(evidence) -> None:
    file = evidence.resolve("D:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx")
    with evidence.open(file) as handle:
        assert handle.read() == b"<%@ Page %>"
        assert handle.readable() and not handle.writable()
    assert evidence.head(file, 3) == b"<%@"
    assert evidence.head(file) == b"<%@ Page %>"


def test_open_refuses_a_file_of_other_evidence(evidence, tmp_path: Path) -> None:
    stranger = EvidenceFile(rel=LOGON, real=tmp_path / "x", size=1, mtime=None)
    with pytest.raises(ValueError, match="not a file of this evidence"):
        evidence.open(stranger)


def test_files_are_sorted_by_rel(tree) -> None:
    root = tree({"b.log": b"x", "B/a.log": b"x", "a/Z.log": b"x", "a/b.log": b"x"})
    with open_evidence([root]) as ev:
        assert [f.rel for f in ev.files] == ["B/a.log", "a/Z.log", "a/b.log", "b.log"]


def test_symlinks_are_not_followed_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    root = tmp_path / "ev"
    (root / "C" / "Windows").mkdir(parents=True)
    (root / "C" / "Windows" / "real.log").write_text("x")
    (root / "C" / "out.txt").symlink_to(outside / "secret.txt")
    (root / "C" / "outdir").symlink_to(outside)
    (root / "C" / "loop").symlink_to(root / "C")
    (root / "C" / "alias.log").symlink_to(root / "C" / "Windows" / "real.log")
    with open_evidence([root]) as ev:
        assert [f.rel for f in ev.files] == ["C/Windows/real.log", "C/alias.log"]
        assert sorted(ev.skipped) == [
            "C/loop: symbolic link to a folder, not followed",
            "C/out.txt: symbolic link pointing outside the evidence, not followed",
            "C/outdir: symbolic link pointing outside the evidence, not followed",
        ]


def test_special_files_are_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    root.mkdir()
    (root / "a.log").write_text("x")
    os.mkfifo(root / "pipe")
    with open_evidence([root]) as ev:
        assert [f.rel for f in ev.files] == ["a.log"]
        assert ev.skipped == ["pipe: not a regular file (device, pipe or socket)"]


def test_undecodable_file_names_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    root.mkdir()
    raw_name = b"shell\xff.aspx".decode("utf-8", "surrogateescape")
    (root / raw_name).write_text("x")
    with open_evidence([root]) as ev:
        (file,) = ev.files
        assert file.rel == "shell\ufffd.aspx"
        assert ev.head(file) == b"x"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("C:/Windows/", "C:\\Windows"),
        ("C:", "C:\\"),
        ("C:\\", "C:\\"),
        ("\\\\?\\C:\\x", "C:\\x"),
        ("\\\\.\\C:\\x", "C:\\x"),
        ("C:\\a\\\\b\\\\\\c", "C:\\a\\b\\c"),
        ('  "C:\\Program Files\\x"  ', "C:\\Program Files\\x"),
    ],
)
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_expand_keeps_unknown_variables() -> None:
    variables = {"SystemDrive": "E:", "ExchangeInstallDir": "E:\\Ex\\V15\\"}
    assert expand("%systemdrive%\\inetpub", variables) == "E:\\inetpub"
    assert expand("%ExchangeInstallDir%Bin", variables) == "E:\\Ex\\V15\\Bin"
    assert expand("%TEMP%\\x", variables) == "%TEMP%\\x"
    assert key("E:\\Ex\\") == "e:\\ex"
