"""``exhunt fleet scan | summary | pivot | jobs`` and ``exhunt scan --store``: exit codes, the
run report, and each format of the fleet's answers."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleet_servers import manifest

from exhunt.cli.main import main
from exhunt.store import open_store
from exhunt.testing import scenarios as sc

from fleetdata import SmallServer  # isort: skip


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    logger = logging.getLogger("exhunt")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:], logger.propagate = handlers, propagate
    logger.setLevel(level)


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="module")
def scanned(
    tmp_path_factory: pytest.TempPathFactory, small_fleet: list[SmallServer]
) -> tuple[Path, Path]:
    """The small fleet scanned into a store once, plus one missing server and a bad row."""
    folder = tmp_path_factory.mktemp("cli")
    rows = [(s.organisation, s.host, s.root) for s in small_fleet]
    rows.append(("Lost", "GONE01", folder / "nothing"))
    path = manifest(folder / "m.csv", rows, extra="Contoso,,/e\n")
    store = folder / "fleet.db"
    assert main(["fleet", "scan", str(path), "--store", str(store), "-j", "2", "-q"]) == 16
    return path, store


def test_the_run_report(run: Run, scanned: tuple[Path, Path]) -> None:
    path, store = scanned
    result = run("fleet", "scan", path, "--store", store, "-q")
    assert result.code == 16
    lines = result.out.splitlines()
    assert lines[0] == f"Fleet run: {path} into sqlite:///{store}"
    assert lines[1:5] == [
        "  manifest rows   10 (1 bad)",
        "  done before     8",
        "  scanned now     0: 0 stored, 0 already stored (same evidence), 0 failed",
        "  verdicts        -",
    ]
    assert lines[7] == "Failed jobs (1, 1 from an earlier run; --retry-failed runs them again):"
    assert lines[8].split() == ["LINE", "ORGANISATION", "HOST", "EVIDENCE", "ERROR"]
    assert lines[9].split()[:4] == ["10", "Lost", "GONE01", str(path.parent / "nothing")]
    assert lines[11:] == ["Bad manifest rows (1, left out):", "  line 11: missing host"]


def test_a_complete_run_exits_0(run: Run, tmp_path: Path, small_fleet: list[SmallServer]) -> None:
    server = small_fleet[0]
    path = manifest(tmp_path / "m.csv", [(server.organisation, server.host, server.root)])
    result = run("fleet", "scan", path, "--store", tmp_path / "s.db", "-j", "1", "-q")
    assert (result.code, result.err) == (0, "")
    assert "  scanned now     1: 1 stored, 0 already stored (same evidence), 0 failed" in result.out
    assert "  verdicts        clean 1" in result.out


def test_summary_formats(run: Run, scanned: tuple[Path, Path]) -> None:
    _, store = scanned
    data = json.loads(run("fleet", "summary", "--store", store, "--format", "json").out)
    assert (data["servers"], data["organisations"], data["scans"]) == (8, 8, 8)
    assert data["verdicts"] == {"clean": 4, "vulnerable": 2, "attempted": 0, "compromised": 2,
                                "inconclusive": 0}  # fmt: skip
    assert [(b["build"], b["servers"]) for b in data["builds"]] == [
        ("15.1.2106.2", 4),
        ("15.1.2176.9", 4),
    ]
    assert data["exposures"][0] == {"cve": "CVE-2021-26855", "campaign": "ProxyLogon",
                                    "servers": 4, "mitigated": 0}  # fmt: skip
    table = list(csv.reader(io.StringIO(run("fleet", "summary", "--store", store,
                                            "--format", "csv").out)))  # fmt: skip
    assert table[0] == ["view", "name", "detail", "servers", "clean", "vulnerable", "attempted",
                        "compromised", "inconclusive", "mitigated"]  # fmt: skip
    assert table[1] == ["total", "servers", "", "8", "4", "2", "0", "2", "0", ""]
    assert table[2] == ["exposure", "CVE-2021-26855", "ProxyLogon", "4", "", "", "", "", "", "0"]
    text = run("fleet", "summary", "--store", store).out
    assert text.startswith("8 servers of 8 organisations (8 scans stored; each server counts")


def test_pivot_formats_and_an_organisation_view(
    run: Run, scanned: tuple[Path, Path], small_fleet: list[SmallServer]
) -> None:
    _, store = scanned
    victims = sorted(s.organisation for s in small_fleet if s.profile == "compromised")
    data = json.loads(run("fleet", "pivot", "--store", store, "--format", "json").out)
    ip = next(p for p in data if (p["kind"], p["value"]) == ("ip", sc.ATTACKER_IP))
    assert (ip["organisations"], ip["other_organisations"], ip["hosts"]) == (victims, 0, 2)
    args = ("fleet", "pivot", "--store", store, "--kind", "webshell_name", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run(*args).out)))
    assert [(r["kind"], r["value"], r["organisations"]) for r in rows] == [
        ("webshell_name", sc.WEBSHELL_NAME, ";".join(victims))]  # fmt: skip
    mine = run("fleet", "pivot", "--store", store, "--org", victims[0], "--kind", "ip").out
    assert mine.splitlines()[0] == "1 indicators seen at more than one organisation:"
    assert mine.splitlines()[2].endswith(f"{victims[0]} (+1 outside your organisations)")
    assert victims[1] not in mine


def test_an_unknown_pivot_kind_is_a_usage_error(run: Run, scanned: tuple[Path, Path]) -> None:
    result = run("fleet", "pivot", "--store", scanned[1], "--kind", "colour")
    assert result.code == 2
    assert "unknown kind colour" in result.err


def test_jobs_list(run: Run, scanned: tuple[Path, Path]) -> None:
    data = json.loads(run("fleet", "jobs", "--store", scanned[1], "--status", "failed",
                          "--format", "json").out)  # fmt: skip
    assert [(j["line"], j["host"], j["status"], j["attempts"]) for j in data] == [
        (10, "GONE01", "failed", 1)]  # fmt: skip


def test_a_store_error_exits_15(run: Run, tmp_path: Path) -> None:
    result = run("fleet", "scan", tmp_path / "m.csv", "--store", tmp_path / "no" / "x.db")
    assert result.code == 2  # the manifest does not exist
    manifest(tmp_path / "m.csv", [])
    result = run("fleet", "scan", tmp_path / "m.csv", "--store", tmp_path / "no" / "x.db")
    assert result.code == 15
    assert result.err.startswith(f"exhunt: error: store sqlite:///{tmp_path}/no/x.db: unable")


def test_readers_do_not_create_a_store(run: Run, tmp_path: Path) -> None:
    for command in ("summary", "pivot", "jobs"):
        result = run("fleet", command, "--store", tmp_path / "typo.db")
        assert (result.code, result.err) == (15, f"exhunt: error: no store at {tmp_path}/typo.db\n")
    assert not (tmp_path / "typo.db").exists()


def test_ship_needs_dask(run: Run, tmp_path: Path) -> None:
    path = manifest(tmp_path / "m.csv", [])
    result = run("fleet", "scan", path, "--ship")
    assert result.code == 2
    assert result.err.endswith("Error: --ship sends evidence to Dask workers: use it with --dask\n")


def test_a_single_scan_into_the_store(
    run: Run, tmp_path: Path, small_fleet: list[SmallServer]
) -> None:
    server = small_fleet[3]
    store = tmp_path / "cases.db"
    args = ("scan", server.root, "--store", store, "--organisation", "Contoso", "--format", "json")
    first = run(*args)
    assert first.code == 3
    assert first.err == f"exhunt: stored as scan 1 in sqlite:///{store}\n"
    assert json.loads(first.out)["verdict"]["status"] == "compromised"
    again = run(*args)
    assert again.err == f"exhunt: already stored as scan 1 in sqlite:///{store}\n"
    with open_store(store) as opened:
        [scan] = opened.scans()
        assert (scan.organisation, scan.host, scan.verdict) == (
            "Contoso",
            server.host,
            "compromised",
        )
        assert opened.document(1).to_json() == json.dumps(json.loads(first.out), indent=2)
