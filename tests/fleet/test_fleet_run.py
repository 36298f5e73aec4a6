"""A fleet run in a real local process pool into a real store: every good server stored once,
every bad one reported with its line, none stopping the others; reruns resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_scanners import DIES, RAISES, scan_or_crash
from fleet_servers import FLEET, copy_server, manifest

from exhunt.fleet import FleetOptions, JobFailure, load_manifest, run_fleet
from exhunt.fleet.pools import CRASHED
from exhunt.store import open_store

from fleetdata import SmallServer  # isort: skip

VERDICTS = {"clean": 4, "vulnerable": 2, "compromised": 2}


def _rows(fleet: list[SmallServer]) -> list[tuple[str, str, str | Path]]:
    return [(s.organisation, s.host, s.root) for s in fleet]


def test_a_fleet_is_stored_with_its_verdicts(
    tmp_path: Path, small_fleet: list[SmallServer], target: str
) -> None:
    plan = load_manifest(manifest(tmp_path / "m.csv", _rows(small_fleet)))
    with open_store(target) as store:
        report = run_fleet(plan, store, FleetOptions(workers=2))
        assert (report.rows, report.stored, report.unchanged, report.skipped) == (
            FLEET,
            FLEET,
            0,
            0,
        )
        assert report.failures == () and report.bad_rows == () and report.complete
        assert report.verdicts == VERDICTS
        assert report.workers == 2
        scans = store.scans()
        assert sorted((s.organisation, s.host) for s in scans) == sorted(
            (s.organisation, s.host) for s in small_fleet
        )
        assert {s.host: s.verdict for s in scans} == {
            s.host: ("compromised" if s.profile == "compromised" else s.profile)
            for s in small_fleet
        }
        assert all(j.status == "done" and j.attempts == 1 for j in store.jobs())


def test_bad_rows_are_reported_and_the_fleet_goes_on(
    tmp_path: Path, small_fleet: list[SmallServer], damaged_zip: Path, target: str
) -> None:
    good = _rows(small_fleet[:3])
    copy = copy_server(small_fleet[0], tmp_path / "copy-of-s0000")
    rows = [
        *good,
        ("Lost", "GONE01", tmp_path / "no-such-folder"),
        ("Upload", "HALF01", damaged_zip),
        ("Buggy", RAISES, small_fleet[4].root),
        ("Fatal", DIES, small_fleet[5].root),
        (small_fleet[0].organisation, small_fleet[0].host, copy),
        good[1],
    ]
    path = manifest(tmp_path / "m.csv", rows, extra="Contoso,,/e\n")
    with open_store(target) as store:
        report = run_fleet(load_manifest(path), store, FleetOptions(workers=2),
                           scanner=scan_or_crash)  # fmt: skip
        assert (report.stored, report.unchanged) == (3, 1)
        assert [(b.line, b.reason) for b in report.bad_rows] == [
            (10, "duplicate of line 3"), (11, "missing host")]  # fmt: skip
        failures = {f.host: f for f in report.failures}
        assert set(failures) == {"GONE01", "HALF01", RAISES, DIES}
        missing = tmp_path / "no-such-folder"
        assert failures["GONE01"] == JobFailure(
            5,
            "Lost",
            "GONE01",
            str(missing),
            f"EvidenceNotFoundError: evidence not found: {missing}",
        )
        assert failures["HALF01"].error.startswith("ArchiveError: ")
        assert failures[RAISES].error == "unexpected error: RuntimeError: parser bug on this server"
        assert failures[DIES].error == CRASHED
        assert not report.complete
        assert len(store.scans()) == 3
        failed = {j.host: j.error for j in store.jobs("failed")}
        assert failed == {host: f.error for host, f in failures.items()}


def test_a_rerun_skips_what_is_done_and_retries_failures_on_request(
    tmp_path: Path, small_fleet: list[SmallServer], sqlite_target: str
) -> None:
    rows = [*_rows(small_fleet[:2]), ("Buggy", RAISES, small_fleet[2].root)]
    plan = load_manifest(manifest(tmp_path / "m.csv", rows))
    with open_store(sqlite_target) as store:
        first = run_fleet(plan, store, FleetOptions(workers=1), scanner=scan_or_crash)
        again = run_fleet(plan, store, FleetOptions(workers=1), scanner=scan_or_crash)
        assert (first.stored, len(first.failures)) == (2, 1)
        assert (again.skipped, again.stored, again.ran, again.workers) == (2, 0, 0, 0)
        assert [(f.host, f.earlier) for f in again.failures] == [(RAISES, True)]
        retried = run_fleet(plan, store, FleetOptions(workers=1, retry_failed=True),
                            scanner=scan_or_crash)  # fmt: skip
        assert (retried.skipped, retried.ran) == (2, 1)
        assert [(f.host, f.earlier) for f in retried.failures] == [(RAISES, False)]
        assert [j.attempts for j in store.jobs("failed")] == [2]
        rescanned = run_fleet(plan, store, FleetOptions(workers=1, rescan=True))
        assert (rescanned.unchanged, rescanned.stored) == (2, 1)
        assert len(store.scans()) == 3


def test_invalid_rules_stop_the_run_and_leave_the_jobs_pending(
    tmp_path: Path, small_fleet: list[SmallServer], sqlite_target: str
) -> None:
    from exhunt.exceptions import RuleError
    from exhunt.options import ScanOptions

    rules = tmp_path / "broken.yml"
    rules.write_text("title: broken\ndetection: [\n")
    plan = load_manifest(manifest(tmp_path / "m.csv", _rows(small_fleet[:3])))
    options = FleetOptions(workers=1, scan=ScanOptions(sigma_paths=(rules,)))
    with open_store(sqlite_target) as store:
        with pytest.raises(RuleError, match=r"broken\.yml"):
            run_fleet(plan, store, options)
        assert {j.status for j in store.jobs()} == {"pending"}
        assert store.scans() == []
