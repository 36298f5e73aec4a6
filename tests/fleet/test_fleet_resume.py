"""Killed at any moment, a fleet run resumes exactly once: ``exhunt fleet scan`` is killed
(SIGKILL, the whole process group, workers included) twice while it stores results, then run
to the end. Every server is stored once; no job was recorded twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fleet_servers import manifest, write_fleet

from exhunt.store import Store, open_store

pytestmark = pytest.mark.slow
SERVERS = 60
TIMEOUT = 600


def _start(path: Path, target: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "exhunt", "fleet", "scan", str(path), "--store", target,
               "--workers", "2", "--quiet"]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def _stored(store: Store) -> int:
    return len(store.scans())


def _kill_after(process: subprocess.Popen[bytes], store: Store, at_least: int) -> int:
    """SIGKILL the run once ``at_least`` scans are stored; the count when it died."""
    deadline = time.monotonic() + TIMEOUT
    while _stored(store) < at_least:
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the fleet run made no progress"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return _stored(store)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_run_resumes_without_loss_or_double(
    backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from store_backends import store_target

    fleet = write_fleet(tmp_path_factory.mktemp("resume"), SERVERS)
    path = manifest(tmp_path / "m.csv", [(s.organisation, s.host, s.root) for s in fleet])
    with store_target(backend, tmp_path) as target, open_store(target) as store:
        first = _kill_after(_start(path, target), store, 3)
        second = _kill_after(_start(path, target), store, first + 3)
        assert first < second < SERVERS, "the run ended before it was killed"
        assert len([j for j in store.jobs() if j.status == "done"]) == second

        last = _start(path, target)
        out, err = last.communicate(timeout=TIMEOUT)
        assert last.returncode == 0, err.decode()
        assert f"done before     {second}\n" in out.decode()
        assert f"{SERVERS - second} stored, 0 already stored" in out.decode()

        scans = store.scans()
        assert len(scans) == SERVERS
        assert sorted((s.organisation, s.host) for s in scans) == sorted(
            (s.organisation, s.host) for s in fleet
        )
        jobs = store.jobs()
        assert [(j.status, j.attempts) for j in jobs] == [("done", 1)] * SERVERS
        assert len({j.scan_id for j in jobs}) == SERVERS
        documents, findings, expected = store._read(lambda c: c.exec_driver_sql(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM findings), "
            "(SELECT sum(finding_count) FROM scans)").one())  # fmt: skip
        assert (documents, findings) == (SERVERS, expected)
