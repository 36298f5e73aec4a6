"""Fixtures of the fleet tests: small servers on disk, archives, stores on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_servers import FLEET, write_fleet, zip_folder
from store_backends import BACKENDS, store_target

from fleetdata import SmallServer  # isort: skip


@pytest.fixture(scope="session")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> list[SmallServer]:
    return write_fleet(tmp_path_factory.mktemp("fleet"), FLEET)


@pytest.fixture(scope="session")
def damaged_zip(tmp_path_factory: pytest.TempPathFactory, small_fleet: list[SmallServer]) -> Path:
    """A server's collection as a .zip cut off half-way (a failed upload)."""
    whole = zip_folder(small_fleet[0].root, tmp_path_factory.mktemp("zips") / "whole.zip")
    damaged = whole.with_name("damaged.zip")
    data = whole.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    return damaged


@pytest.fixture(scope="session")
def good_zip(tmp_path_factory: pytest.TempPathFactory, small_fleet: list[SmallServer]) -> Path:
    return zip_folder(small_fleet[3].root, tmp_path_factory.mktemp("zips") / "victim.zip")


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_target(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_target(tmp_path: Path) -> str:
    return str(tmp_path / "fleet.db")
