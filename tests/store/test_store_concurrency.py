"""Concurrent writers: processes opening a new store and saving at the same moment, some
the same evidence, store each scan exactly once and fail none."""

from __future__ import annotations

import multiprocessing

import pytest
from store_docs import document
from store_writers import write

from exhunt.store import open_store

WRITERS = 4
SHARED = 6
OWN = 6


def _documents(writer: int) -> list[tuple[str, str]]:
    shared = [("Contoso", document(host=f"SHARED{i}").to_json()) for i in range(SHARED)]
    own = [(f"Org{writer}", document(host=f"OWN{i}").to_json()) for i in range(OWN)]
    return shared + own if writer % 2 else own + shared


@pytest.mark.slow
def test_concurrent_writers_store_each_scan_once(target: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    processes = [
        context.Process(target=write, args=(target, _documents(w), barrier, results))
        for w in range(WRITERS)
    ]
    for process in processes:
        process.start()
    created = [results.get(timeout=300) for _ in processes]
    assert [c for c in created if isinstance(c, str)] == []
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    # Each writer's own servers are new; each shared server is new for exactly one writer.
    assert sum(sum(flags) for flags in created) == WRITERS * OWN + SHARED
    with open_store(target) as store:
        scans = store.scans()
        assert len(scans) == WRITERS * OWN + SHARED
        assert len({(s.organisation, s.host, s.evidence_sha256) for s in scans}) == len(scans)
        assert store.summary().organisations == WRITERS + 1
        assert store.summary().verdicts["compromised"] == len(scans)
