"""The installed commands in their own process: ``python -m exhunt`` and ``exhunt``.

stdout and stderr are pipes here, as in a script or a CI job: the report must be alone on
stdout and nothing (no progress bar, no escape sequence) may reach stderr on success.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exhunt.document import ScanDocument
from exhunt.testing.generator import ServerManifest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

ENTRY_POINT = Path(sys.executable).parent / "exhunt"


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TERM")}
    return subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        env=env,
        check=False,
    )


def test_python_dash_m(clean_server: ServerManifest) -> None:
    done = _run(sys.executable, "-m", "exhunt", "scan", clean_server.root, "--format", "json")
    assert done.returncode == 0
    assert done.stderr == ""
    assert ScanDocument.from_json(done.stdout).verdict.status.value == "clean"


def test_entry_point(compromised_server: ServerManifest) -> None:
    if not ENTRY_POINT.is_file():
        pytest.skip(f"no {ENTRY_POINT}: exhunt is not installed in this environment")
    done = _run(ENTRY_POINT, "scan", compromised_server.root, "-j", "2")
    assert done.returncode == 3
    assert done.stderr == ""  # no progress bar off a terminal, however long the scan
    assert "\x1b" not in done.stdout
    assert "VERDICT: COMPROMISED" in done.stdout


def test_entry_point_error(tmp_path: Path) -> None:
    if not ENTRY_POINT.is_file():
        pytest.skip(f"no {ENTRY_POINT}: exhunt is not installed in this environment")
    missing = tmp_path / "missing"
    done = _run(ENTRY_POINT, "scan", missing)
    assert done.returncode == 10
    assert done.stdout == ""
    assert done.stderr == f"exhunt: error: evidence not found: {missing}\n"
