"""Hostile archives: escapes refused, links never created, limits enforced while streaming."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from evidence_layouts import server_files, tar_files, zip_files

from exhunt.evidence import ArchiveLimits, open_evidence
from exhunt.evidence.archive import name_parts, unsafe_reason
from exhunt.exceptions import ArchiveError, UsageError

GOOD = "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "'..' component in name"),
        ("..\\x", "'..' component in name"),
        ("a/../../x", "'..' component in name"),
        ("a\\..\\..\\x", "'..' component in name"),
        ("/etc/cron.d/x", "absolute name"),
        ("\\Windows\\x", "absolute name"),
        ("//server/share/x", "absolute name"),
        ("C:/Windows/x", "drive-letter name"),
        ("C:\\Windows\\x", "drive-letter name"),
        ("c:x", "drive-letter name"),
        ("a\x00b", "name contains a NUL byte"),
        ("./", "empty name"),
    ],
)
def test_unsafe_names(name: str, reason: str) -> None:
    assert unsafe_reason(name) == reason


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("fs/C:/Windows/x", ("fs", "C:", "Windows", "x")),
        ("a\\b\\c.log", ("a", "b", "c.log")),
        ("./a//b/", ("a", "b")),
        ("uploads/auto/C%3A/x", ("uploads", "auto", "C%3A", "x")),
    ],
)
def test_safe_names(name: str, parts: tuple[str, ...]) -> None:
    assert unsafe_reason(name) is None
    assert name_parts(name) == parts


def hostile_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(GOOD, b"ok")
        for name in ("../escaped-1", "..\\escaped-2", "/tmp/escaped-3", "C:\\escaped-4"):
            archive.writestr(name, b"evil")
        link = zipfile.ZipInfo("C/link-to-passwd")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path


def test_zip_escapes_and_links_are_refused(tmp_path: Path, workdir: Path) -> None:
    archive = hostile_zip(tmp_path / "hostile.zip")
    before = all_files(tmp_path)
    with open_evidence([archive], workdir=workdir) as ev:
        assert [f.rel for f in ev.files] == [GOOD]
        assert ev.skipped == [
            "../escaped-1: refused: '..' component in name",
            "..\\escaped-2: refused: '..' component in name",
            "/tmp/escaped-3: refused: absolute name",
            "C:\\escaped-4: refused: drive-letter name",
            "C/link-to-passwd: symbolic link, not created",
        ]
        (temp,) = workdir.iterdir()
        assert all_files(temp) == {f"part1/{GOOD}"}
        assert all_files(tmp_path) - before == {f"work/{temp.name}/part1/{GOOD}"}
    assert not Path("/tmp/escaped-3").exists()


def hostile_tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:

        def add(info: tarfile.TarInfo, data: bytes = b"") -> None:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)

        add(tarfile.TarInfo(GOOD), b"ok")
        add(tarfile.TarInfo("../escaped-1"), b"evil")
        add(tarfile.TarInfo("/tmp/escaped-2"), b"evil")
        symlink = tarfile.TarInfo("C/link")
        symlink.type, symlink.linkname = tarfile.SYMTYPE, "/etc/passwd"
        add(symlink)
        hardlink = tarfile.TarInfo("C/hard")
        hardlink.type, hardlink.linkname = tarfile.LNKTYPE, "/etc/shadow"
        add(hardlink)
        device = tarfile.TarInfo("C/dev-null")
        device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
        add(device)
        fifo = tarfile.TarInfo("C/fifo")
        fifo.type = tarfile.FIFOTYPE
        add(fifo)
    return path


def test_tar_escapes_links_and_devices_are_refused(tmp_path: Path, workdir: Path) -> None:
    archive = hostile_tar(tmp_path / "hostile.tar.gz")
    with open_evidence([archive], workdir=workdir) as ev:
        assert [f.rel for f in ev.files] == [GOOD]
        assert ev.skipped == [
            "../escaped-1: refused: '..' component in name",
            "/tmp/escaped-2: refused: absolute name",
            "C/link: symbolic link, not created",
            "C/hard: hard link, not created",
            "C/dev-null: device or special file, not created",
            "C/fifo: device or special file, not created",
        ]
        (temp,) = workdir.iterdir()
        assert all_files(temp) == {f"part1/{GOOD}"}
    assert not (tmp_path / "escaped-1").exists()
    assert not Path("/tmp/escaped-2").exists()


def test_duplicate_member_keeps_the_first(tmp_path: Path, workdir: Path) -> None:
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(GOOD, b"first")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr(GOOD, b"second")
    with open_evidence([archive], workdir=workdir) as ev:
        assert ev.head(ev.files[0]) == b"first"
        assert ev.skipped == [f"{GOOD}: duplicate name, first copy kept"]


def expect_archive_error(archive: Path, workdir: Path, limits: ArchiveLimits, *words: str) -> None:
    with pytest.raises(ArchiveError) as caught:
        open_evidence([archive], limits=limits, workdir=workdir)
    message = str(caught.value)
    assert str(archive) in message
    for word in words:
        assert word in message
    assert caught.value.path == str(archive)
    assert list(workdir.iterdir()) == []  # the partial unpack was removed


def test_member_size_limit(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "big.zip", {GOOD: b"x" * 1000})
    limits = ArchiveLimits(max_member_bytes=999)
    expect_archive_error(archive, workdir, limits, f"member '{GOOD}'", "declares 1,000 bytes")


def test_total_size_limit(tmp_path: Path, workdir: Path) -> None:
    archive = tar_files(tmp_path / "t.tar.gz", {"a.log": b"x" * 600, "b.log": b"y" * 600})
    limits = ArchiveLimits(max_total_bytes=1000)
    expect_archive_error(archive, workdir, limits, "member 'b.log'", "more than 1,000 bytes")


def test_member_count_limit(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "many.zip", {f"{i}.log": b"x" for i in range(5)})
    limits = ArchiveLimits(max_members=4)
    expect_archive_error(archive, workdir, limits, "member '4.log'", "more than 4 members")


def test_compression_ratio_limit(tmp_path: Path, workdir: Path) -> None:
    archive = tar_files(tmp_path / "bomb.tar.gz", {"zeros.bin": bytes(4 * 1024 * 1024)})
    limits = ArchiveLimits(max_ratio=50, ratio_floor_bytes=0)
    expect_archive_error(archive, workdir, limits, "member 'zeros.bin'", "50 times")


def test_ratio_floor_lets_small_repetitive_archives_pass(tmp_path: Path, workdir: Path) -> None:
    archive = tar_files(tmp_path / "logs.tar.gz", {"C/Windows/x.log": bytes(1024 * 1024)})
    with open_evidence([archive], workdir=workdir, limits=ArchiveLimits(max_ratio=50)) as ev:
        assert ev.files[0].size == 1024 * 1024


def lying_zip(path: Path, real: bytes, declared: int) -> Path:
    """A zip whose headers declare ``declared`` bytes for a member holding ``real``."""
    zip_files(path, {GOOD: real})
    data = bytearray(path.read_bytes())
    size = len(real).to_bytes(4, "little")
    # Uncompressed size: local header offset 22, central directory entry offset 24.
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == size and data[central + 24 : central + 28] == size
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")
    data[central + 24 : central + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def test_lying_zip_header_does_not_get_past_the_member_limit(tmp_path: Path, workdir: Path) -> None:
    archive = lying_zip(tmp_path / "liar.zip", bytes(1_000_000), declared=10)
    expect_archive_error(archive, workdir, ArchiveLimits(max_member_bytes=100), f"member '{GOOD}'")


def test_lying_zip_header_within_limits_is_reported_damaged(tmp_path: Path, workdir: Path) -> None:
    archive = lying_zip(tmp_path / "liar.zip", bytes(1000), declared=10)
    expect_archive_error(archive, workdir, ArchiveLimits(), "damaged", f"member '{GOOD}'")


@pytest.mark.parametrize("name", ["cut.zip", "cut.tar.gz"])
def test_damaged_archives(tmp_path: Path, workdir: Path, name: str) -> None:
    whole = tmp_path / f"whole-{name}"
    if name.endswith(".zip"):
        zip_files(whole, {GOOD: os.urandom(200_000)})
    else:
        tar_files(whole, {GOOD: os.urandom(200_000)})
    archive = tmp_path / name
    archive.write_bytes(whole.read_bytes()[:100_000])
    expect_archive_error(archive, workdir, ArchiveLimits(), "damaged")


def test_encrypted_zip(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "secret.zip", {GOOD: b"ciphertext"})
    data = bytearray(archive.read_bytes())
    # Set the "encrypted" bit of the general purpose flags in both headers.
    data[data.find(b"PK\x03\x04") + 6] |= 0x1
    data[data.find(b"PK\x01\x02") + 8] |= 0x1
    archive.write_bytes(bytes(data))
    expect_archive_error(archive, workdir, ArchiveLimits(), "encrypted")


def test_workdir_inside_the_evidence_is_refused(tree) -> None:
    root = tree(server_files())
    with pytest.raises(UsageError, match="inside the evidence"):
        open_evidence([root], workdir=root / "C")


def test_missing_workdir_is_refused(tmp_path: Path) -> None:
    archive = zip_files(tmp_path / "kape.zip", server_files())
    with pytest.raises(UsageError, match="does not exist"):
        open_evidence([archive], workdir=tmp_path / "nowhere")


def test_unsupported_compression_method_skips_the_member(tmp_path: Path, workdir: Path) -> None:
    archive = zip_files(tmp_path / "deflate64.zip", {GOOD: b"x" * 100, "C/Windows/ok.log": b"ok"})
    data = bytearray(archive.read_bytes())
    # Compression method 9 (Deflate64, written by Windows for large files) for the first member.
    data[data.find(b"PK\x03\x04") + 8] = 9
    data[data.find(b"PK\x01\x02") + 10] = 9
    archive.write_bytes(bytes(data))
    with open_evidence([archive], workdir=workdir) as ev:
        assert [f.rel for f in ev.files] == ["C/Windows/ok.log"]
        assert ev.skipped == [
            f"{GOOD}: compression method not supported (That compression method is not supported)"
        ]
