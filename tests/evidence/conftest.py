"""Fixtures of the evidence tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from evidence_layouts import write_files


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., Path]:
    """Make a folder of files: ``tree(files, name)``."""

    def make(files: Mapping[str, bytes], name: str = "evidence") -> Path:
        return write_files(tmp_path / name, files)

    return make


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working folder for unpacking, apart from the evidence."""
    path = tmp_path / "work"
    path.mkdir()
    return path
