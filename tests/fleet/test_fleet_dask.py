"""The fleet on a real Dask cluster (a LocalCluster of worker processes on 127.0.0.1): the same
results as the local pool, evidence shipped to workers, and a worker that dies reported."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_scanners import DIES, scan_or_crash
from fleet_servers import manifest

from exhunt.exceptions import FleetError
from exhunt.fleet import FleetOptions, load_manifest, run_fleet
from exhunt.store import open_store

from fleetdata import SmallServer  # isort: skip

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    ) as local:
        yield local.scheduler_address


def test_a_fleet_on_dask_workers(
    tmp_path: Path, small_fleet: list[SmallServer], cluster: str, sqlite_target: str
) -> None:
    rows = [(s.organisation, s.host, s.root) for s in small_fleet]
    plan = load_manifest(manifest(tmp_path / "m.csv", rows))
    with open_store(sqlite_target) as store:
        report = run_fleet(plan, store, FleetOptions(dask=cluster))
        assert (report.stored, report.failures, report.workers) == (len(small_fleet), (), 2)
        assert report.verdicts == {"clean": 4, "vulnerable": 2, "compromised": 2}
        again = run_fleet(plan, store, FleetOptions(dask=cluster))
        assert (again.skipped, again.ran) == (len(small_fleet), 0)


def test_archives_shipped_to_the_workers(
    tmp_path: Path, good_zip: Path, cluster: str, sqlite_target: str
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    rows = [("Contoso", "EX00003", good_zip), ("Contoso", "FOLDER", folder)]
    plan = load_manifest(manifest(tmp_path / "m.csv", rows))
    with open_store(sqlite_target) as store:
        report = run_fleet(plan, store, FleetOptions(dask=cluster, ship=True))
        assert report.stored == 1
        assert report.verdicts == {"compromised": 1}
        [scan] = store.scans()
        assert scan.evidence_path == str(good_zip)
        assert store.document(scan.id).evidence.kind == "archive"
        [failure] = report.failures
        assert failure.error.startswith("UnsupportedEvidenceError: only archives and single files")


def test_a_worker_that_dies_fails_its_job_only(
    tmp_path: Path, small_fleet: list[SmallServer], cluster: str, sqlite_target: str
) -> None:
    rows = [(s.organisation, s.host, s.root) for s in small_fleet[:2]]
    rows.append(("Fatal", DIES, small_fleet[2].root))
    plan = load_manifest(manifest(tmp_path / "m.csv", rows))
    with open_store(sqlite_target) as store:
        report = run_fleet(plan, store, FleetOptions(dask=cluster), scanner=scan_or_crash)
    assert report.stored == 2
    [failure] = report.failures  # Dask gave up after the worker died on it again and again
    assert (failure.host, failure.error.split(":")[0]) == (DIES, "KilledWorker")


def test_an_unreachable_scheduler_is_a_fleet_error(
    tmp_path: Path, small_fleet: list[SmallServer], sqlite_target: str
) -> None:
    plan = load_manifest(manifest(tmp_path / "m.csv", [("A", "B", small_fleet[0].root)]))
    with open_store(sqlite_target) as store, pytest.raises(FleetError, match="cannot reach"):
        run_fleet(plan, store, FleetOptions(dask="tcp://127.0.0.1:9"))
