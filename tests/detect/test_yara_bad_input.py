"""Hostile file trees: reported, never fatal, the evidence untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from exhunt.detect.content import ContentLimits, ContentTask, analyse
from exhunt.detect.rules import RuleSpec, load_ruleset
from exhunt.detect.yara import YaraScanner
from exhunt.detect.yararule import YaraRecordRule
from exhunt.options import ScanOptions
from exhunt.scan import scan

SHELL = b'<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>'


def _snapshot(root: Path) -> dict[str, tuple[int, float, str]]:
    state = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            state[str(path)] = (len(data), path.stat().st_mtime, hashlib.sha256(data).hexdigest())
    return state


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    root = tmp_path / "upload"
    root.mkdir()
    (root / "empty.aspx").write_bytes(b"")
    (root / "shell.aspx").write_bytes(SHELL)
    with (root / "sparse.bin").open("wb") as fh:
        fh.truncate(3 << 20)  # sparse: 3 MiB of nothing on disk
    os.symlink(root, root / "loop")
    os.symlink(root / "missing", root / "dangling")
    odd = os.fsencode(str(root)) + b"/\xff\xfeodd.aspx"
    with open(odd, "wb") as fh:
        fh.write(SHELL)
    return root


def test_hostile_tree_is_reported_not_fatal(hostile: Path) -> None:
    before = _snapshot(hostile)
    document = scan([hostile], ScanOptions(jobs=1, max_file_bytes=1 << 20))
    shells = sorted({
        loc.path for f in document.findings for loc in f.evidence
        if (loc.rule or "").startswith("exhunt.yara.")
    })  # fmt: skip
    assert shells == ["shell.aspx", "\ufffd\ufffdodd.aspx"]
    skipped = document.coverage.skipped
    assert any(s.startswith("sparse.bin: larger than the 1,048,576-byte limit") for s in skipped)
    assert any(s.startswith("loop: symbolic link to a folder") for s in skipped)
    assert any(s.startswith("dangling: not readable") for s in skipped)
    assert _snapshot(hostile) == before


def test_file_changed_during_scan_is_noted(tmp_path: Path) -> None:
    path = tmp_path / "grow.aspx"
    path.write_bytes(SHELL)
    task = ContentTask("grow.aspx", str(path), size=10, mode="scan")
    result = analyse(task, None, ContentLimits())
    assert result.changed == f"size changed while scanned (listed 10 bytes, read {len(SHELL)})"
    assert dict(result.hashes)["sha256"] == hashlib.sha256(SHELL).hexdigest()


def test_vanished_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    task = ContentTask("gone.aspx", str(tmp_path / "gone.aspx"), size=5, mode="scan")
    result = analyse(task, None, ContentLimits())
    assert result.error == "could not read: No such file or directory"
    assert result.hashes == ()


def test_zero_byte_file_is_hashed_and_scanned(tmp_path: Path) -> None:
    path = tmp_path / "empty.aspx"
    path.write_bytes(b"")
    (rule,) = [r for r in load_ruleset(RuleSpec()).rules if isinstance(r, YaraRecordRule)]
    scanner = YaraScanner(rule.compiled)
    result = analyse(ContentTask("empty.aspx", str(path), 0, "scan"), scanner, ContentLimits())
    assert result.scanned and result.matches == ()
    assert dict(result.hashes)["md5"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_sniffed_file_without_markers_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "app.js"
    path.write_bytes(b"function f(){}" * 1000)
    result = analyse(ContentTask("app.js", str(path), 14000, "sniff"), None, ContentLimits())
    assert (result.read_bytes, result.hashes, result.scanned) == (4096, (), False)


def test_parallel_and_serial_scans_agree(hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("exhunt.detect.content.PARALLEL_MIN_BYTES", 0)
    serial = scan([hostile], ScanOptions(jobs=1, max_file_bytes=1 << 20))
    parallel = scan([hostile], ScanOptions(jobs=2, max_file_bytes=1 << 20))
    assert [f.rules for f in serial.findings] == [f.rules for f in parallel.findings]
