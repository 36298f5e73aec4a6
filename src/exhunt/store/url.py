"""Where the store lives: a file path becomes an SQLite URL, a database URL is taken as it is.

``--store`` takes either. PostgreSQL URLs use the psycopg (version 3) driver whatever driver
they name, or none; passwords never appear in messages.
"""

from __future__ import annotations

import os
from pathlib import Path

from exhunt.exceptions import StoreError

_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def store_url(target: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL for a ``--store`` value: a file path or a database URL.

    Raises:
        StoreError: a URL of a database exhunt does not support.
    """
    text = os.fspath(target)
    if "://" not in text:
        return "sqlite:///" + str(Path(text).expanduser().resolve())
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        return "postgresql+psycopg://" + rest
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return "sqlite://" + rest
    raise StoreError(
        f"unsupported store URL scheme {scheme!r}: give a file path (SQLite) or a postgresql:// URL"
    )


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}"
