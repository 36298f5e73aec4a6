"""Where exhunt keeps what it can rebuild (compiled rules and automata), and how it writes there.

``$EXHUNT_CACHE_DIR``, else ``$XDG_CACHE_HOME/exhunt``, else ``~/.cache/exhunt``. Entries are
named by a digest of what they were built from, so a changed input never reads a stale entry.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    configured = os.environ.get("EXHUNT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "exhunt"


def read_entry(name: str) -> bytes | None:
    """The cached bytes under ``name``, or None (absent or unreadable)."""
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def load_pickle(name: str) -> Any:
    """The object pickled under ``name``, or None when it is absent, unreadable or stale (a
    class that moved or changed since it was written). Only exhunt writes this folder."""
    data = read_entry(name)
    if data is None:
        return None
    try:
        return pickle.loads(data)
    except (EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None


def write_entry(name: str, data: bytes) -> None:
    """Store ``data`` under ``name`` atomically; a read-only cache is not an error."""
    path = cache_dir() / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as fh:
            fh.write(data)
        os.replace(fh.name, path)
    except OSError as exc:
        log.debug("cache entry %s not written: %s", name, exc)
