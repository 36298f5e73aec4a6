"""Small servers and manifests for the fleet tests."""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from store_backends import use_bench_writer

use_bench_writer()
from fleetdata import SmallServer, profile_for, write_small_server  # noqa: E402

FLEET = 8
"""Servers of the standard small fleet: four clean, two vulnerable, two campaign victims."""


def write_fleet(root: Path, count: int) -> list[SmallServer]:
    return [write_small_server(root / f"s{i:04d}", profile_for(i, 3, 4), i) for i in range(count)]


def zip_folder(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return dest


def copy_server(server: SmallServer, dest: Path) -> Path:
    """The same evidence at another place (a second copy of one collection)."""
    shutil.copytree(server.root, dest)
    return dest


def manifest(path: Path, rows: list[tuple[str, str, str | Path]], extra: str = "") -> Path:
    lines = ["organisation,host,evidence"] + [f"{o},{h},{e}" for o, h, e in rows]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path
