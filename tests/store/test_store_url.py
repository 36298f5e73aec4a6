"""``--store`` values: file paths become SQLite URLs, PostgreSQL URLs use psycopg 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.exceptions import StoreError
from exhunt.store import redact, store_url


def test_a_path_is_an_sqlite_file_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_url("fleet.db") == f"sqlite:///{tmp_path}/fleet.db"
    assert store_url(tmp_path / "x" / "y.db") == f"sqlite:///{tmp_path}/x/y.db"


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:pw@db:5432/exhunt",
        "postgres://u:pw@db:5432/exhunt",
        "postgresql+psycopg2://u:pw@db:5432/exhunt",
        "POSTGRESQL://u:pw@db:5432/exhunt",
    ],
)
def test_postgresql_urls_use_psycopg3(given: str) -> None:
    assert store_url(given) == "postgresql+psycopg://u:pw@db:5432/exhunt"


def test_sqlite_urls_pass_through() -> None:
    assert store_url("sqlite:////srv/fleet.db") == "sqlite:////srv/fleet.db"


def test_other_databases_are_refused_by_name() -> None:
    with pytest.raises(StoreError, match="unsupported store URL scheme 'mysql'"):
        store_url("mysql://root@db/exhunt")


def test_passwords_never_appear() -> None:
    assert redact("postgresql+psycopg://u:s3cret@db/x") == "postgresql+psycopg://u:***@db/x"
    assert redact("postgresql+psycopg://u@db/x") == "postgresql+psycopg://u@db/x"
    assert redact("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
