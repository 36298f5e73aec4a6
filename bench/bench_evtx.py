"""Event log scanning speed: exhunt next to the bare parser and a Zircolite-style evaluation.

Over every ``.evtx`` file under ``--data`` (default ``../shared/data/evtx``), times:

a. the bare ``evtx`` parser: ``records_json()`` over every file, one thread per file, in one
   process and in one process per core: the ceiling for any tool built on it;
b. exhunt's event log scan with the Sigma rules of ``--sigma`` (default: the SigmaHQ
   repository's ``rules`` folder) and no bundled rules, in one process and on every core;
c. a Zircolite-style evaluation of the same rules: pySigma's SQLite backend converts each rule
   to SQL (with exhunt's channel and event id conditions and field names per log source, so
   both evaluate the same thing), every record is decoded, flattened and loaded into an
   in-memory SQLite table of ``TEXT COLLATE NOCASE`` columns with a ``regexp`` function and
   indexes on Channel and EventID, then every query runs. Conversion is timed apart, as
   Zircolite ships converted rule sets.

Needs ``pysigma-backend-sqlite`` (not the pySigma Windows/Sysmon pipeline packages, which pin
pySigma 1.x). Usage: python bench/bench_evtx.py [--data DIR] [--sigma DIR] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from evtx import PyEvtxParser

from exhunt.artifacts.evtx import flatten
from exhunt.detect.context import ScanContext
from exhunt.detect.engine import TimeWindow
from exhunt.detect.rules import RuleSet, RuleSpec, load_ruleset
from exhunt.detect.runner import find_logs, run_logs
from exhunt.detect.sigma.logsources import LogsourceRule, artifact_fields, variants_for
from exhunt.detect.sigmarule import SigmaRecordRule
from exhunt.evidence import open_evidence

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    seconds: float
    records: int
    note: str = ""


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    files = sorted(p for p in args.data.rglob("*") if p.suffix.lower() == ".evtx" and p.is_file())
    if not files:
        sys.exit(f"no .evtx files under {args.data}")
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} EVTX files, {size / 1e6:,.1f} MB, under {args.data}; {args.jobs} cores")
    rows = [_bare(files, 1), _bare(files, args.jobs)]
    ruleset = _rules(args.sigma)
    rows += [_best(args.data, ruleset, args.sigma, jobs, args.runs) for jobs in (1, args.jobs)]
    rows += _sqlite(files, ruleset)
    _report(rows)
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "evtx")
    parser.add_argument("--sigma", type=Path, default=SHARED / "sigmahq-rules" / "rules")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=3, help="exhunt runs; the best is shown")
    return parser.parse_args(argv)


# --- a: the bare parser ---------------------------------------------------------------------


def _count(path: Path) -> int:
    count = 0
    try:
        records = PyEvtxParser(str(path), number_of_threads=1).records_json()
    except OSError:
        return 0
    while True:
        try:
            next(records)
        except StopIteration:
            return count
        except RuntimeError:
            continue
        count += 1


def _bare(files: Sequence[Path], jobs: int) -> Timing:
    started = time.perf_counter()
    if jobs == 1:
        records = sum(map(_count, files))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            records = sum(pool.map(_count, files, chunksize=8))
    return Timing(f"parser records_json, {_procs(jobs)}", time.perf_counter() - started, records)


# --- b: exhunt ------------------------------------------------------------------------------


def _rules(sigma: Path) -> RuleSet:
    started = time.perf_counter()
    ruleset = load_ruleset(RuleSpec(sigma_paths=(sigma,), bundled=False, skip_invalid=True))
    evtx = ruleset.for_artifact("evtx")
    print(
        f"rules: {len(ruleset.rules)} active ({len(evtx)} for event logs), "
        f"{len(ruleset.inactive)} inactive, {len(ruleset.errors)} invalid; "
        f"loaded in {time.perf_counter() - started:.1f} s (compiled once, then cached)"
    )
    return ruleset


def _best(data: Path, ruleset: RuleSet, sigma: Path, jobs: int, runs: int) -> Timing:
    """The fastest of ``runs`` scans (the first also builds the in-memory plan; the compiled
    rules and the literal automaton come from the cache, as in any scan after the first)."""
    timings = [_exhunt(data, ruleset, sigma, jobs) for _ in range(max(runs, 1))]
    best = min(timings, key=lambda t: t.seconds)
    note = f"{best.note}; first run {timings[0].seconds:.2f} s" if runs > 1 else best.note
    return Timing(best.name, best.seconds, best.records, note)


def _exhunt(data: Path, ruleset: RuleSet, sigma: Path, jobs: int) -> Timing:
    spec = RuleSpec(sigma_paths=(sigma,), bundled=False, skip_invalid=True)
    with open_evidence([data]) as evidence:
        tasks = [task for task in find_logs(evidence) if task.artifact == "evtx"]
        started = time.perf_counter()
        results = run_logs(tasks, spec, ScanContext(), TimeWindow(), jobs, None)
        seconds = time.perf_counter() - started
    records = sum(r.stats.records - r.stats.bad_records for r in results)
    hits = sum(len(r.hits) for r in results)
    decoded = sum(r.stats.parsed for r in results)
    note = f"{hits} hits, {decoded} records decoded"
    return Timing(f"exhunt event log scan, {_procs(jobs)}", seconds, records, note)


# --- c: Zircolite-style SQLite --------------------------------------------------------------


def _sqlite(files: Sequence[Path], ruleset: RuleSet) -> list[Timing]:
    started = time.perf_counter()
    queries, failed = _convert(ruleset)
    converted = time.perf_counter() - started
    print(
        f"pySigma {version('pysigma')}, pysigma-backend-sqlite "
        f"{version('pysigma-backend-sqlite')}: {len(queries)} queries, {failed} rules not "
        f"converted, in {converted:.1f} s"
    )
    started = time.perf_counter()
    db, records = _load(files)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    matches, errors = _run(db, queries)
    ran = time.perf_counter() - started
    note = f"{matches} matches, {errors} queries failed"
    return [
        Timing("SQLite: decode, flatten, load", loaded, records),
        Timing("SQLite: run every query", ran, records, note),
        Timing("SQLite (Zircolite-style) total", loaded + ran, records),
    ]


def _convert(ruleset: RuleSet) -> tuple[list[str], int]:
    from sigma.collection import SigmaCollection

    queries: list[str] = []
    failed = 0
    for path in sorted({str(r.compiled.path) for r in _sigma_rules(ruleset)}):
        try:
            rule: Any = SigmaCollection.from_yaml(Path(path).read_text(encoding="utf-8")).rules[0]
            fields = frozenset(_fields(rule.detection.detections.values()))
            for row in variants_for(_logsource(rule)):
                if row.artifact == "evtx":
                    queries.extend(_backend(row, fields).convert_rule(rule))
        except Exception:  # a rule pySigma or its backend cannot take counts as not converted
            failed += 1
    return queries, failed


def _sigma_rules(ruleset: RuleSet) -> Iterator[SigmaRecordRule]:
    for rule in ruleset.for_artifact("evtx"):
        if isinstance(rule, SigmaRecordRule):
            yield rule


def _logsource(rule: Any) -> dict[str, str | None]:
    source = rule.logsource
    return {"product": source.product, "category": source.category, "service": source.service}


def _fields(items: Any) -> Iterator[str]:
    """The field names a pySigma detection uses, as written."""
    for item in items:
        if hasattr(item, "detection_items"):
            yield from _fields(item.detection_items)
        elif getattr(item, "field", None):
            yield str(item.field)


@cache
def _backend(row: LogsourceRule, fields: frozenset[str]) -> Any:
    """A SQLite backend whose pipeline adds the row's condition and native field names."""
    from sigma.backends.sqlite.sqlite import sqliteBackend
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import (
        AddConditionTransformation,
        FieldMappingTransformation,
    )

    table = artifact_fields(row.field_table).renames
    renames: dict[str | None, str | list[str]] = {
        name: target
        for name in fields
        if isinstance(target := table.get(name.lower()), str) and target != name
    }
    items = [ProcessingItem(transformation=FieldMappingTransformation(renames))] if renames else []
    if row.where:
        condition: dict[str, int | str | list[str]] = {n: list(v) for n, v in row.where}
        items.append(ProcessingItem(transformation=AddConditionTransformation(condition)))
    pipeline = ProcessingPipeline(items=items)
    return sqliteBackend(pipeline, fulltext_field="Values")  # type: ignore[no-untyped-call]


def _load(files: Sequence[Path]) -> tuple[sqlite3.Connection, int]:
    # SQLite column names ignore case (ProcessId, ProcessID): one column per spelling-less name.
    rows: list[dict[str, str]] = []
    for path in files:
        for text in _texts(path):
            fields = flatten(json.loads(text).get("Event") or {})
            row = {"values": "\n".join(fields.values())}
            for name, value in fields.items():
                row.setdefault(name.lower(), value)
            rows.append(row)
    columns = sorted({name for row in rows for name in row})
    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, _regexp, deterministic=True)
    db.execute("PRAGMA journal_mode = OFF")
    spec = ", ".join(f"{_quote(c)} TEXT COLLATE NOCASE" for c in columns)
    db.execute(f"CREATE TABLE logs ({spec})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(
        f"INSERT INTO logs VALUES ({marks})", ([row.get(c) for c in columns] for row in rows)
    )
    db.execute('CREATE INDEX by_event ON logs ("eventid")')
    db.execute('CREATE INDEX by_channel ON logs ("channel")')
    return db, len(rows)


def _texts(path: Path) -> Iterator[str]:
    try:
        records = PyEvtxParser(str(path), number_of_threads=1).records_json()
    except OSError:
        return
    while True:
        try:
            item = next(records)
        except StopIteration:
            return
        except RuntimeError:
            continue
        if isinstance(item, dict):
            yield str(item["data"])


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and _pattern(pattern).search(value) is not None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run(db: sqlite3.Connection, queries: Sequence[str]) -> tuple[int, int]:
    matches = errors = 0
    for query in queries:
        try:
            matches += len(db.execute(query).fetchall())
        except sqlite3.Error:
            errors += 1  # a field no record has: the rule cannot match here
    return matches, errors


# --- report ---------------------------------------------------------------------------------


def _procs(jobs: int) -> str:
    return "1 process" if jobs == 1 else f"{jobs} processes"


def _report(rows: Sequence[Timing]) -> None:
    exhunt_one = next(r for r in rows if r.name == "exhunt event log scan, 1 process")
    bare_one = rows[0]
    print(f"{'':42}{'seconds':>9}{'records/s':>11}{'vs exhunt 1p':>14}")
    for row in rows:
        rate = row.records / row.seconds if row.seconds else 0.0
        ratio = row.seconds / exhunt_one.seconds if exhunt_one.seconds else 0.0
        print(f"{row.name:42}{row.seconds:9.2f}{rate:11,.0f}{ratio:13.2f}x  {row.note}")
    sqlite_total = rows[-1]
    print(
        f"SQLite / exhunt (1 process each): {sqlite_total.seconds / exhunt_one.seconds:.1f}x; "
        f"exhunt / bare parser (1 process): {exhunt_one.seconds / bare_one.seconds:.1f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
