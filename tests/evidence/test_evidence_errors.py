"""Evidence that cannot be used fails with the right exception and a clear message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exhunt.evidence import open_evidence
from exhunt.exceptions import (
    EvidenceNotFoundError,
    EvidenceUnreadableError,
    UnsupportedEvidenceError,
)


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    with pytest.raises(EvidenceNotFoundError) as caught:
        open_evidence([missing])
    assert str(caught.value) == f"evidence not found: {missing}"
    assert caught.value.exit_code == 10


def test_one_missing_part_fails_the_whole(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("x")
    with pytest.raises(EvidenceNotFoundError, match="nothing-here"):
        open_evidence([tmp_path / "logs", tmp_path / "nothing-here"])


def test_no_path() -> None:
    with pytest.raises(EvidenceNotFoundError, match="no evidence path given"):
        open_evidence([])


def deny(monkeypatch: pytest.MonkeyPatch, target: Path) -> None:
    """Make reading ``target`` fail as it does without permission (tests may run as root)."""
    real_scandir, real_open = os.scandir, Path.open

    def scandir(path: object = ".") -> object:
        if Path(os.fspath(path)) == target:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    def path_open(self: Path, *args: object, **kwargs: object) -> object:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "open", path_open)


def test_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "a.log").write_text("x")
    deny(monkeypatch, folder)
    with pytest.raises(EvidenceUnreadableError) as caught:
        open_evidence([folder])
    assert str(caught.value) == f"cannot read evidence {folder}: permission denied"
    assert caught.value.exit_code == 11


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "u_ex210303.log"
    log.write_text("x")
    deny(monkeypatch, log)
    with pytest.raises(EvidenceUnreadableError, match="permission denied"):
        open_evidence([log])


def test_unreadable_subfolder_is_recorded_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ev" / "C" / "locked").mkdir(parents=True)
    (tmp_path / "ev" / "C" / "a.log").write_text("x")
    deny(monkeypatch, tmp_path / "ev" / "C" / "locked")
    with open_evidence([tmp_path / "ev"]) as ev:
        assert [f.rel for f in ev.files] == ["C/a.log"]
        assert ev.skipped == ["C/locked/: folder not readable (Permission denied)"]


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty" / "C" / "Windows").mkdir(parents=True)
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([tmp_path / "empty"])
    assert str(caught.value) == f"{tmp_path / 'empty'} contains no files"
    assert caught.value.exit_code == 12


def test_folder_of_only_links_out(tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(UnsupportedEvidenceError, match="contains no files that can be read"):
        open_evidence([tmp_path / "ev"])


@pytest.mark.parametrize(
    ("name", "content", "looks"),
    [
        ("tool.exe", b"MZ\x90\x00" + bytes(100), "a Windows executable or DLL"),
        ("SYSTEM", b"regf" + bytes(100), "a Windows registry hive"),
        ("blob.bin", bytes(range(256)) * 4, "binary data"),
        ("empty.log", b"", "an empty file"),
        ("collection.7z", b"7z\xbc\xaf'\x1c" + bytes(10), "a 7-Zip archive"),
    ],
)
def test_wrong_kind_of_file(tmp_path: Path, name: str, content: bytes, looks: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([path])
    message = str(caught.value)
    assert message.startswith(f"{path} is neither an archive nor a text log: it looks like {looks}")


def test_a_disk_image_that_cannot_be_opened(tmp_path: Path) -> None:
    pytest.importorskip("dissect.target")
    path = tmp_path / "disk.E01"
    path.write_bytes(b"EVF\x09\x0d\x0a\xff\x00" + bytes(100))
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([path])
    assert str(caught.value).startswith(f"{path}: the disk image cannot be opened (")


def test_file_named_like_an_archive_but_not_one(tmp_path: Path) -> None:
    path = tmp_path / "triage.zip"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(50))
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([path])
    assert str(caught.value) == (
        f"{path} is named like an archive but is not one: it looks like a PNG image"
    )


def test_text_named_like_an_archive_is_read_as_a_log(tmp_path: Path) -> None:
    # Content decides, not the name.
    path = tmp_path / "logs.tar.gz"
    path.write_text("#Software: Microsoft Internet Information Services 10.0\n")
    with open_evidence([path]) as ev:
        assert ev.kind == "file"


def test_pipe_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedEvidenceError, match="neither a folder nor a file"):
        open_evidence([fifo])
