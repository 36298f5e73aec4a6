"""Fleet speed: N small servers scanned into one store, and 1 against 2 Dask workers.

Generates N small servers' evidence (``bench/fleetdata.py``: mostly clean, every eighth
vulnerable, every fortieth compromised by one shared campaign; reused when already there), then:

* runs ``exhunt fleet scan`` (the command a user runs, local process pool) over all of them into
  a fresh SQLite store, and prints servers per second, total time, the peak memory of all its
  processes together, and the CPU time per server;
* checks the result: every server stored, the verdicts as generated, and the campaign's address
  pivoting across every compromised organisation;
* runs the same command on a Dask LocalCluster of 1 worker, then of 2 workers, over the first
  ``--sample`` servers, and prints the parallel efficiency: rate(2) / (2 x rate(1)).

The machine's load average is printed first: other processes on the cores skew every figure.

Usage: python bench/bench_fleet.py --servers 30000 [--workers 2] [--sample 2000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleetdata import SmallServer, profile_for, write_small_server

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN_IP = "104.140.114.110"
AIM_SERVERS, AIM_SECONDS = 30_000, 30 * 60


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_bytes: int
    output: str


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    data = args.dir or ROOT / "build" / f"bench-fleet-{args.servers}"
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    manifest = _generate(data, args.servers)
    with tempfile.TemporaryDirectory(prefix="exhunt-bench-fleet-") as tmp:
        store = Path(tmp) / "fleet.db"
        run = _fleet(manifest, store, ["--workers", str(args.workers)])
        _report_run(args.servers, args.workers, run)
        _check(store, args.servers)
        if args.sample:
            _efficiency(manifest, Path(tmp), min(args.sample, args.servers))
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=2000, help="servers per Dask run; 0: none")
    parser.add_argument("--dir", type=Path)
    return parser.parse_args(argv)


# -- evidence ---------------------------------------------------------------------------------


def _generate(data: Path, count: int) -> Path:
    manifest = data / "manifest.csv"
    if (data / ".complete").exists():
        return manifest
    print(f"writing {count:,} small servers to {data} ...", file=sys.stderr)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    workers = os.cpu_count() or 1
    chunks = [range(start, count, workers) for start in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        servers = [s for part in pool.map(_write_chunk, [data] * workers, chunks) for s in part]
    rows = ["organisation,host,evidence,profile"]
    rows += [f"{s.organisation},{s.host},{s.root},{s.profile}" for s in sorted(servers, key=_index)]
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    (data / ".complete").write_text("ok")
    return manifest


def _write_chunk(data: Path, indexes: range) -> list[SmallServer]:
    return [write_small_server(data / f"s{i:06d}", profile_for(i), i) for i in indexes]


def _index(server: SmallServer) -> int:
    return int(server.root.name[1:])


def _sample(manifest: Path, dest: Path, count: int) -> Path:
    lines = manifest.read_text(encoding="utf-8").splitlines()
    dest.write_text("\n".join(lines[: count + 1]) + "\n", encoding="utf-8")
    return dest


# -- runs -------------------------------------------------------------------------------------


def _fleet(manifest: Path, store: Path, extra: list[str]) -> Run:
    command = [sys.executable, "-m", "exhunt", "fleet", "scan", str(manifest), "--store",
               str(store), "--quiet", *extra]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = _PeakMemory(process.pid)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    peak.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 16):
        sys.exit(f"exhunt fleet scan failed ({process.returncode}): {err.decode()[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(seconds, cpu, peak.bytes, out.decode())


class _PeakMemory:
    """The largest total resident memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        self.bytes = 0
        self._root = psutil.Process(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.2):
            try:
                tree = [self._root, *self._root.children(recursive=True)]
                self.bytes = max(self.bytes, sum(_rss(p) for p in tree))
            except psutil.Error:
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def _report_run(servers: int, workers: int, run: Run) -> None:
    rate = servers / run.seconds
    projected = AIM_SERVERS / rate
    print(f"exhunt fleet scan, {servers:,} servers, local pool of {workers} workers:")
    print(f"  total time        {run.seconds:10.1f} s")
    print(f"  servers/s         {rate:10.1f}")
    print(f"  peak memory       {run.peak_bytes / 2**20:10.0f} MiB (all processes)")
    print(f"  CPU per server    {1000 * run.cpu_seconds / servers:10.1f} ms (all processes)")
    verdict = "meets" if projected <= AIM_SECONDS else "misses"
    print(f"  30,000 servers    {projected / 60:10.1f} min at this rate ({verdict} the 30 min aim)")


def _check(store: Path, servers: int) -> None:
    expected = Counter(profile_for(i) for i in range(servers))
    summary = json.loads(_exhunt("fleet", "summary", "--store", str(store), "--format", "json"))
    verdicts = {k: v for k, v in summary["verdicts"].items() if v}
    pivots = json.loads(_exhunt("fleet", "pivot", "--store", str(store), "--format", "json"))
    campaign = next((p for p in pivots if p["value"] == CAMPAIGN_IP), None)
    victims = len(campaign["organisations"]) if campaign else 0
    ok = summary["servers"] == servers and verdicts == dict(expected)
    ok = ok and victims == expected["compromised"]
    print(f"  check             {'ok' if ok else 'FAILED'}: {summary['servers']:,} stored, "
          f"verdicts {verdicts}, campaign address at {victims} organisations")  # fmt: skip
    if not ok:
        sys.exit(f"unexpected results; expected verdicts {dict(expected)}")


def _exhunt(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "exhunt", *args], capture_output=True, check=True)
    return done.stdout.decode()


def _efficiency(manifest: Path, tmp: Path, count: int) -> None:
    from distributed import LocalCluster

    sample = _sample(manifest, tmp / "sample.csv", count)
    rates = {}
    for workers in (1, 2):
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
        ) as cluster:  # fmt: skip
            store = tmp / f"dask-{workers}.db"
            run = _fleet(sample, store, ["--dask", cluster.scheduler_address])
        rates[workers] = count / run.seconds
        print(f"Dask LocalCluster, {workers} worker(s), {count:,} servers: {run.seconds:.1f} s, "
              f"{rates[workers]:.1f} servers/s")  # fmt: skip
    print(f"parallel efficiency, 2 against 1 Dask worker: {rates[2] / (2 * rates[1]):.2f}")


if __name__ == "__main__":
    sys.exit(main())
