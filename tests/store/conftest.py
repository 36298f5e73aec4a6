"""Fixtures of the store tests: real scans of small servers, and a store on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_backends import BACKENDS, store_target, use_bench_writer

from exhunt.document import ScanDocument
from exhunt.options import ScanOptions
from exhunt.scan import scan

use_bench_writer()
from fleetdata import SmallServer, write_small_server  # noqa: E402

# Two clean servers, one vulnerable, two compromised by the same campaign.
PROFILES = {"clean-a": ("clean", 1), "clean-b": ("clean", 2), "vulnerable": ("vulnerable", 3),
            "victim-a": ("compromised", 4), "victim-b": ("compromised", 5)}  # fmt: skip


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SmallServer]:
    root = tmp_path_factory.mktemp("servers")
    return {
        name: write_small_server(root / name, profile, seed)  # type: ignore[arg-type]
        for name, (profile, seed) in PROFILES.items()
    }


@pytest.fixture(scope="session")
def documents(servers: dict[str, SmallServer]) -> dict[str, ScanDocument]:
    return {name: scan([s.root], ScanOptions(jobs=1)) for name, s in servers.items()}


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store: an SQLite file, then a PostgreSQL schema."""
    with store_target(request.param, tmp_path) as url:
        yield url
