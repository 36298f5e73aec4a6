"""Evidence is never changed: every file hashes the same before and after a full read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evidence_layouts import prefixed, server_files, write_files, zip_files

from exhunt.evidence import open_evidence


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root``: content hash (files), mode and modification time."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        state[path.relative_to(root).as_posix()] = (digest, st.st_mode, st.st_mtime_ns)
    return state


def read_everything(evidence) -> int:
    total = 0
    for file in evidence.iter_under(""):
        with evidence.open(file) as handle:
            total += len(handle.read())
        evidence.head(file)
        evidence.windows_path(file.rel)
        if file.windows_path:
            assert evidence.resolve(file.windows_path) == file
    return total


def test_folder_is_unchanged_by_opening_and_reading(tmp_path: Path) -> None:
    files = {
        **server_files(),
        **prefixed("V", {"uploads/auto/C%3A/x.log": b"x", "uploads.json": b"{}"}),
        "V/client_info.json": json.dumps({"Hostname": "EXCH01"}).encode(),
    }
    root = write_files(tmp_path / "evidence", files)
    before = snapshot(root)
    with open_evidence([root]) as ev:
        assert read_everything(ev) == sum(len(data) for data in files.values())
        assert len(ev.files) == len(files)
    assert snapshot(root) == before


def test_archive_and_its_folder_are_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    folder.mkdir()
    archive = zip_files(folder / "kape.zip", server_files())
    work = tmp_path / "work"
    work.mkdir()
    before = snapshot(folder)
    with open_evidence([archive], workdir=work) as ev:
        read_everything(ev)
        assert all(not f.real.is_relative_to(folder) for f in ev.files)
    assert snapshot(folder) == before
    assert list(work.iterdir()) == []
