"""A writer process for the concurrency tests (importable by spawned processes)."""

from __future__ import annotations

import traceback
from typing import Any

from exhunt.document import ScanDocument
from exhunt.store import open_store


def write(target: str, documents: list[tuple[str, str]], barrier: Any, results: Any) -> None:
    """Open the store when every writer is ready, save each (organisation, JSON) document;
    put the list of created flags, or the error, on ``results``."""
    try:
        barrier.wait()
        with open_store(target) as store:
            created = [
                store.save(ScanDocument.from_json(text), org).created for org, text in documents
            ]
        results.put(created)
    except BaseException:
        results.put(traceback.format_exc())
        raise
