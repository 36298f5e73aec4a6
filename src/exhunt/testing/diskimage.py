"""Build the NTFS disk image the image tests read: a compromised server's drive C, cut down.

    python -m exhunt.testing.diskimage OUTPUT.img.xz

Needs ntfs-3g (``mkntfs`` and the FUSE driver) and root, to mount the new volume and copy
files in with their times. The image holds the seeded compromised example server's attack days
(3 to 5 March 2021: IIS, HttpProxy, ECP and OAB logs), its web folders, configuration, LSASS dump
and staging archive, plus files a scan must not copy out (a document, the hosts file) or must
find by extension elsewhere (an archive on a desktop, one in System Volume Information that is
left out). The result is xz-compressed; tests decompress it into a temporary folder.
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from exhunt.testing.demo import write_demo

SIZE_MB = 48
ATTACK_DAYS = ("210303", "210304", "210305", "20210303", "20210304", "20210305")
EXTRA_FILES = {
    "Users/admin/Documents/notes.txt": b"quarterly figures\r\n",
    "Windows/System32/drivers/etc/hosts": b"127.0.0.1 localhost\r\n",
    "Users/admin/Desktop/tools.7z": b"7z\xbc\xaf'\x1c\x00\x04" + b"\x00" * 24,
    "System Volume Information/copy.zip": b"PK\x05\x06" + b"\x00" * 18,
}
EXTRA_TIME = datetime(2021, 3, 5, 3, 20, tzinfo=UTC).timestamp()


def keep(rel: str) -> bool:
    """The files of the example server's drive C that go into the image."""
    lowered = f"/{rel.lower()}"
    is_log = lowered.endswith(".log") and ("/logging/" in lowered or "/logfiles/" in lowered)
    return not is_log or any(day in rel for day in ATTACK_DAYS)


def build(output: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_demo(work / "examples")
        drive = work / "examples" / "compromised-server" / "C"
        raw = work / "drive-c.img"
        with raw.open("wb") as handle:
            handle.truncate(SIZE_MB << 20)
        subprocess.run(["mkntfs", "-F", "-q", "-f", "-L", "System", str(raw)], check=True)
        mount = work / "mnt"
        mount.mkdir()
        subprocess.run(["ntfs-3g", str(raw), str(mount)], check=True)
        try:
            _fill(drive, mount)
        finally:
            subprocess.run(["umount", str(mount)], check=True)
        with raw.open("rb") as source, lzma.open(output, "wb", preset=9) as target:
            shutil.copyfileobj(source, target, 1 << 20)


def _fill(drive: Path, mount: Path) -> None:
    for path in sorted(drive.rglob("*")):
        rel = path.relative_to(drive).as_posix()
        if path.is_file() and keep(rel):
            dest = mount / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    for rel, data in EXTRA_FILES.items():
        dest = mount / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        os.utime(dest, (EXTRA_TIME, EXTRA_TIME))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
