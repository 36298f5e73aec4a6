"""Fixtures of the command-line tests: small example servers and an in-process runner."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cli_run import Run, in_process

from exhunt.testing.builder import EvidenceBuilder, Row
from exhunt.testing.generator import ServerManifest, write_server


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The CLI configures the root logger; give it back as it was after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``exhunt ARGV`` in this process and return its exit code, stdout and stderr."""
    return in_process(capsys)


def _small(factory: pytest.TempPathFactory, profile: str) -> ServerManifest:
    # A few mailboxes and little user traffic: the attack and the near misses are all there.
    return write_server(factory.mktemp(profile) / "server", profile, users=3, density=0.1)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def clean_server(tmp_path_factory: pytest.TempPathFactory) -> ServerManifest:
    return _small(tmp_path_factory, "clean")


@pytest.fixture(scope="session")
def compromised_server(tmp_path_factory: pytest.TempPathFactory) -> ServerManifest:
    return _small(tmp_path_factory, "compromised")


@pytest.fixture(scope="session")
def high_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Evidence whose most severe finding is high: one day of IIS logs and an LSASS dump."""
    b = EvidenceBuilder(tmp_path_factory.mktemp("high") / "evidence", build="15.1.2176.9")
    day = date(2021, 3, 4)
    rows: list[Row] = [
        {"time": datetime(2021, 3, 4, hour, 5, tzinfo=UTC), "cs-method": "GET",
         "cs-uri-stem": "/owa/healthcheck.htm", "c-ip": "127.0.0.1", "sc-status": 200}
        for hour in range(24)
    ]  # fmt: skip
    b.iis(1, day, rows)
    b.file(
        "%windir%\\Temp\\lsass.dmp",
        b"MDMP\x93\xa7" + bytes(26),
        datetime(2021, 3, 4, 1, tzinfo=UTC),
    )
    return b.root
