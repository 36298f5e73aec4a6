"""Log scanning speed: exhunt next to ripgrep on the same files and the same literals.

Generates realistic HttpProxy and IIS logs (``--size-mb``, reused when already there), installs
ripgrep if it is missing, then times, after one warm-up run each:

* ``exhunt scan`` end to end (the command a user runs: start-up, rules, every log, the tree,
  correlation, the report), and the scan alone as the result document reports it;
* ``rg -i -n`` with exactly the literals and patterns of exhunt's prefilter for these logs,
  printing every matching line with its number (exhunt parses those lines and more).

exhunt also hashes every byte it reads (SHA-256, for the evidence record); ripgrep does not.

Usage: python bench/bench_logs.py --size-mb 1024 [--runs 3] [--dir build/bench-1024]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from exhunt.detect.engine import plans_for
from exhunt.detect.prefilter import Pattern
from exhunt.detect.rules import RuleSpec, load_ruleset
from exhunt.testing.benchdata import write_bench_logs

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ("iis.w3c", "exchange.httpproxy")
_META = set("\\.+*?()|[]{}^$#&-~")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    data = args.dir or ROOT / "build" / f"bench-{args.size_mb}"
    if not (data / ".complete").exists():
        print(f"generating {args.size_mb} MB of logs in {data} ...", file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)
        write_bench_logs(data, args.size_mb)
        (data / ".complete").write_text("ok")
    rg = _ripgrep()
    size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    with tempfile.TemporaryDirectory() as tmp:
        patterns = Path(tmp) / "patterns.txt"
        count = _write_patterns(patterns)
        exhunt_runs, scan_runs = _time_exhunt(data, args.runs)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rg_command = [rg, "-i", "-n", "--no-messages", "-f", str(patterns), str(data)]
        rg_runs = _time(args.runs, rg_command)
    _report(size, count, exhunt_runs, scan_runs, rg_runs)
    print(f"exhunt peak memory of one process: {peak:,.0f} MiB")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path)
    return parser.parse_args(argv)


def _ripgrep() -> str:
    found = shutil.which("rg")
    if found:
        return found
    print("ripgrep not found; installing the Debian package ...", file=sys.stderr)
    command = ["apt-get", "install", "-y", "-q", "ripgrep"]
    if os.geteuid() != 0 and shutil.which("sudo"):
        command.insert(0, "sudo")
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("rg")
    if not found:
        sys.exit("could not install ripgrep: install it (apt-get install ripgrep) and rerun")
    return found


def _write_patterns(path: Path) -> int:
    """exhunt's prefilter needles for these logs, as ripgrep regexes (literals escaped)."""
    plans = plans_for(load_ruleset(RuleSpec()))
    needles = {n for artifact in ARTIFACTS for n in plans[artifact].literals}
    lines = sorted(n if isinstance(n, Pattern) else _escape(n) for n in needles)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _escape(literal: str) -> str:
    return "".join("\\" + c if c in _META else c for c in literal)


def _time_exhunt(data: Path, runs: int) -> tuple[list[float], list[float]]:
    command = [sys.executable, "-m", "exhunt", "scan", "-q", "--format", "json", str(data)]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False)  # warm-up
    walls, scans = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode not in (0, 3):
            sys.exit(f"exhunt failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        scans.append(json.loads(done.stdout)["scan"]["seconds"])
    return walls, scans


def _time(runs: int, command: list[str]) -> list[float]:
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return times


def _report(
    size: int, needles: int, exhunt: list[float], scan: list[float], rg: list[float]
) -> None:
    mb = size / 1e6
    rows = [
        ("exhunt scan (command, end to end)", statistics.median(exhunt)),
        ("exhunt scan (scan alone)", statistics.median(scan)),
        ("ripgrep -i -n, same needles", statistics.median(rg)),
    ]
    print(f"{mb:,.0f} MB of HttpProxy and IIS logs, {needles} needles, {os.cpu_count()} cores")
    print(f"{'':38}{'seconds':>9}{'MB/s':>9}{'vs rg':>8}")
    base = rows[-1][1]
    for name, seconds in rows:
        print(f"{name:38}{seconds:9.2f}{mb / seconds:9.0f}{seconds / base:7.2f}x")


if __name__ == "__main__":
    sys.exit(main())
