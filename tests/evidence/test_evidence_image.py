"""Disk images: an NTFS volume holding a compromised server's drive C, raw and converted to the
container formats responders receive (VHDX, VMDK, E01), gives the same result as the same files
in a folder; only what a scan reads is copied out, with its times; bad images get a clear error.

The image (tests/data/images) is built by ``python -m exhunt.testing.diskimage`` from the seeded
example server; converting it needs qemu-img and ewfacquire (Debian qemu-utils, ewf-tools).
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhunt.document import ScanDocument
from exhunt.evidence import open_evidence
from exhunt.evidence.image import is_disk_image, wanted
from exhunt.exceptions import UnsupportedEvidenceError
from exhunt.options import ScanOptions
from exhunt.scan import scan
from exhunt.testing.demo import write_demo
from exhunt.testing.diskimage import EXTRA_FILES, keep

IMAGE = Path(__file__).parents[1] / "data" / "images" / "compromised-drive-c.img.xz"
pytest.importorskip("dissect.target")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("image") / "drive-c.img"
    with lzma.open(IMAGE) as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same files as the image, in a folder copy of drive C."""
    work = tmp_path_factory.mktemp("folder")
    write_demo(work / "demo")
    drive = work / "demo" / "compromised-server" / "C"
    copy = work / "server" / "C"
    for path in drive.rglob("*"):
        rel = path.relative_to(drive).as_posix()
        if path.is_file() and keep(rel):
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy / rel)
    return work / "server"


@pytest.fixture(scope="module")
def from_raw(raw: Path) -> ScanDocument:
    return scan([raw], ScanOptions(jobs=1))


def _findings(document: ScanDocument) -> list[tuple[str, str, list[tuple[str, int]]]]:
    return sorted(
        (f.rule, f.title, sorted((e.windows_path or "", e.line or 0) for e in f.evidence))
        for f in document.findings
    )


def _hashes(document: ScanDocument) -> dict[str, str]:
    return {f.path.split("/", 1)[1]: f.sha256 for f in document.evidence.files if f.sha256}


def test_an_ntfs_volume_image_scans_like_its_files(from_raw: ScanDocument, folder: Path) -> None:
    from_folder = scan([folder], ScanOptions(jobs=1))
    assert from_raw.evidence.kind == "image"
    assert from_raw.verdict.status.value == from_folder.verdict.status.value == "compromised"
    assert from_raw.verdict.first_malicious == from_folder.verdict.first_malicious
    assert _findings(from_raw) == _findings(from_folder)
    assert from_raw.exchange.build == from_folder.exchange.build == "15.1.2106.2"
    ours = _hashes(from_raw)
    assert ours == {rel: sha for rel, sha in _hashes(from_folder).items() if rel in ours}
    assert len(ours) > 100


def test_only_what_a_scan_reads_is_copied_out_with_its_times(raw: Path) -> None:
    with open_evidence([raw]) as evidence:
        paths = {f.windows_path: f for f in evidence.files}
        assert evidence.kind == "image"
        assert evidence.drives == {"C": "C"}
        tools = paths["C:\\Users\\admin\\Desktop\\tools.7z"].real.read_bytes()
    assert "C:\\Users\\admin\\Desktop\\tools.7z" in paths  # an archive anywhere
    assert "C:\\Users\\admin\\Documents\\notes.txt" not in paths
    assert "C:\\Windows\\System32\\drivers\\etc\\hosts" not in paths
    assert "C:\\System Volume Information\\copy.zip" not in paths  # shadow copy store
    dump = paths["C:\\Windows\\Temp\\lsass.dmp"]
    assert dump.mtime == datetime(2021, 3, 4, 1, 15, 41, 144000, tzinfo=UTC)
    desktop = paths["C:\\Users\\admin\\Desktop\\tools.7z"]
    data = EXTRA_FILES["Users/admin/Desktop/tools.7z"]
    assert desktop.size == len(data)
    assert tools == data


def test_the_image_is_only_read(raw: Path) -> None:
    before = (raw.stat().st_mtime_ns, hashlib.sha256(raw.read_bytes()).hexdigest())
    with open_evidence([raw]) as evidence:
        assert evidence.files
    assert (raw.stat().st_mtime_ns, hashlib.sha256(raw.read_bytes()).hexdigest()) == before


@pytest.mark.parametrize("fmt", ["vhdx", "vmdk", "e01"])
def test_container_formats_give_the_same_result(
    fmt: str, raw: Path, from_raw: ScanDocument, tmp_path: Path
) -> None:
    if fmt == "e01":
        subprocess.run(
            [_tool("ewfacquire"), "-u", "-q", "-t", str(tmp_path / "disk"), "-f", "encase6",
             "-S", "0", str(raw)],
            check=True, capture_output=True,
        )  # fmt: skip
        image = tmp_path / "disk.E01"
    else:
        image = tmp_path / f"disk.{fmt}"
        subprocess.run(
            [_tool("qemu-img"), "convert", "-f", "raw", "-O", fmt, str(raw), str(image)],
            check=True, capture_output=True,
        )  # fmt: skip
    document = scan([image], ScanOptions(jobs=1))
    assert document.evidence.kind == "image"
    assert _findings(document) == _findings(from_raw)
    assert _hashes(document) == _hashes(from_raw)


def test_what_a_scan_reads(tmp_path: Path) -> None:
    installs = ("program files/microsoft/exchange server/v15/", "exchange/")
    assert wanted("inetpub/logs/logfiles/w3svc1/u_ex210303.log", installs)
    assert wanted("windows/system32/winevt/logs/security.evtx", installs)
    assert wanted("exchange/logging/httpproxy/owa/httpproxy_2021030306-1.log", installs)
    assert wanted("exchange/frontend/httpproxy/owa/auth/logon.aspx", installs)
    assert wanted("exchange/bin/exsetup.exe", installs)
    assert not wanted("exchange/bin/microsoft.exchange.data.dll", installs)
    assert not wanted("exchange/logging/diagnostics/dailyperformancelogs/a.blg", installs)
    assert wanted("users/bob/appdata/local/temp/out.rar", installs)
    assert wanted(
        "windows/microsoft.net/framework64/v4.0.30319/temporary asp.net files/owa/a/b.dll",
        installs,
    )
    assert not wanted("windows/winsxs/amd64_x/update.zip", installs)
    assert not wanted("windows/installer/1a2b.zip", installs)
    assert not wanted("system volume information/{3808876b}", installs)
    assert not wanted("users/bob/documents/report.docx", installs)


def test_image_signatures(tmp_path: Path) -> None:
    assert is_disk_image(tmp_path / "x.bin", b"EVF\x09\x0d\x0a\xff\x00" + b"\x00" * 600)
    assert is_disk_image(tmp_path / "x.bin", b"vhdxfile" + b"\x00" * 600)
    volume = b"\xebR\x90NTFS    " + b"\x00" * 500
    assert is_disk_image(tmp_path / "c.img", volume)
    assert not is_disk_image(tmp_path / "c.log", volume)  # only with an image's name
    assert not is_disk_image(tmp_path / "u_ex210303.log", b"#Software: Microsoft IIS")


def test_a_damaged_image_is_a_clear_error(raw: Path, tmp_path: Path) -> None:
    fake = tmp_path / "server.vhdx"
    fake.write_bytes(b"vhdxfile" + os.urandom(4096))
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([fake])
    assert str(caught.value).startswith(f"{fake}: the disk image cannot be opened (")
    empty = tmp_path / "blank.img"
    empty.write_bytes(b"\x00" * 510 + b"\x55\xaa" + b"\x00" * 4096)
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([empty])
    assert str(caught.value).startswith(f"{empty}:")


def test_a_truncated_image_reads_what_it_can(raw: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.img"
    with raw.open("rb") as source:
        cut.write_bytes(source.read(raw.stat().st_size // 2))
    try:
        with open_evidence([cut]) as evidence:
            files, skipped = len(evidence.files), evidence.skipped
    except UnsupportedEvidenceError as exc:  # nothing readable: said, not a crash
        assert str(exc).startswith(str(cut))
        return
    assert files > 0 and all(": " in line for line in skipped)


def test_without_dissect_the_message_says_how_to_install_it(
    raw: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dissect.target", None)
    with pytest.raises(UnsupportedEvidenceError) as caught:
        open_evidence([raw])
    assert "pip install 'exhunt[image]'" in str(caught.value)
