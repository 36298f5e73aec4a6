"""Benchmark logs: size, layout, formats, determinism, speed, and where the attacks are."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from testing_logs import lines_of, read_exchange, read_w3c

from exhunt.testing.benchdata import BenchManifest, main, write_bench_logs
from exhunt.testing.builder import HTTPPROXY_PROTOCOLS

PROXY = "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> BenchManifest:
    return write_bench_logs(tmp_path_factory.mktemp("bench") / "logs", 4)


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_size_and_layout(bench: BenchManifest) -> None:
    files = [p for p in bench.root.rglob("*") if p.is_file()]
    assert len(files) == bench.files == 24 * len(HTTPPROXY_PROTOCOLS) + 2
    assert sum(p.stat().st_size for p in files) == bench.size_bytes
    assert 0.9 * 4 * 2**20 < bench.size_bytes < 1.1 * 4 * 2**20
    for protocol in HTTPPROXY_PROTOCOLS:
        names = sorted(p.name for p in (bench.root / PROXY / protocol).iterdir())
        assert names == [f"HttpProxy_20210301{h:02d}-1.LOG" for h in range(24)]
    iis = bench.root / "C/inetpub/logs/LogFiles"
    assert [p.name for p in (iis / "W3SVC1").iterdir()] == ["u_ex210301.log"]
    assert [p.name for p in (iis / "W3SVC2").iterdir()] == ["u_ex210301.log"]


def test_lines_are_well_formed(bench: BenchManifest) -> None:
    for path in (bench.root / PROXY).rglob("*.LOG"):
        header, (segment,) = read_exchange(path)
        assert header == segment.directives["Fields"]
        assert all(len(row) == len(segment.fields) for row in segment.rows), path
        times = [row[0] for row in segment.rows]
        assert times == sorted(times) and segment.directives["Date"] == times[0]
    for site in (1, 2):
        (segment,) = read_w3c(bench.root / f"C/inetpub/logs/LogFiles/W3SVC{site}/u_ex210301.log")
        assert all(len(row) == 15 for row in segment.rows)
        stamps = [f"{row[0]} {row[1]}" for row in segment.rows]
        assert stamps == sorted(stamps)


def test_request_ids_are_unique_and_joined(bench: BenchManifest) -> None:
    ids = [
        row[1] for p in (bench.root / PROXY).rglob("*.LOG") for row in read_exchange(p)[1][0].rows
    ]
    assert len(ids) == len(set(ids)) == bench.requests
    (front,) = read_w3c(bench.root / "C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log")
    cafe = {row[5].split("cafeReqId=")[1].split(";")[0] for row in front.rows}
    assert cafe == set(ids)


def test_attacks_are_where_the_manifest_says(bench: BenchManifest) -> None:
    expected = {
        "proxylogon-ssrf": r"ExchangeServicesClient/0\.0\.0\.0|python-requests/2\.25\.1",
        "webshell": r"/owa/auth/RedirSuiteServerProxy\.aspx",
        "proxyshell": r"/autodiscover/autodiscover\.json|Email=autodiscover/autodiscover\.json%3F@",
    }
    assert {a.kind for a in bench.attacks} == set(expected)
    for attack in bench.attacks:
        line = lines_of(bench.root / attack.path)[attack.line - 1]
        assert re.search(expected[attack.kind], line), attack
        if attack.kind == "proxylogon-ssrf" and "HttpProxy" in attack.path:
            assert ",ServerInfo~a]@" in line and ",X-BEResource-Cookie," in line
        if attack.kind == "proxylogon-ssrf" and "W3SVC2" in attack.path:
            assert re.search(r" 444 \S+\\\S+\$ ", line)
    ssrf = [a for a in bench.attacks if a.kind == "proxylogon-ssrf" and "HttpProxy/Ecp" in a.path]
    assert len(ssrf) == 7


def test_same_seed_same_bytes(tmp_path: Path, bench: BenchManifest) -> None:
    again = write_bench_logs(tmp_path / "again", 4)
    assert _digest(again.root) == _digest(bench.root) and again.attacks == bench.attacks


@pytest.mark.slow
def test_a_larger_size_is_met(tmp_path: Path) -> None:
    # Speed is measured by make bench, never asserted here.
    manifest = write_bench_logs(tmp_path / "big", 40)
    assert 40 << 20 <= manifest.size_bytes < 44 << 20


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "cli"), "--size-mb", "1"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'cli'}: 1 MiB in 242 files,") and "attack lines" in err
