"""Event logs in the scan: batched prefilter, hits, coverage figures, problems, processes."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exhunt.artifacts.evtx import RawEvent
from exhunt.detect import evtxscan, runner
from exhunt.detect.context import ScanContext
from exhunt.detect.engine import FileResult, LogPlan, TimeWindow, plans_for
from exhunt.detect.evtxplan import select
from exhunt.detect.evtxscan import scan_evtx_file
from exhunt.detect.hits import make_hit
from exhunt.detect.prefilter import build_matcher
from exhunt.detect.rules import RecordRule, RuleSpec, load_ruleset
from exhunt.evidence import Evidence, EvidenceFile, open_evidence
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

EVTX_DATA = Path(__file__).parents[2] / ".." / "shared" / "data" / "evtx"
SB = "attack-samples/sbousseaden-EVTX-ATTACK-SAMPLES"
MITRE = "attack-samples/mdecrevoisier-EVTX-to-MITRE-Attack"


def sample(relative: str) -> Path:
    path = EVTX_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared EVTX sample missing: {path}")
        pytest.skip(f"shared EVTX sample missing: {path}")
    return path


class ChildOf(RecordRule):
    """Sysmon process creation under a given parent image."""

    def __init__(self, parent: str, *, literal: bool = True) -> None:
        self.parent = parent.lower()
        self.info = RuleInfo(f"child-of-{parent}", f"child of {parent}", Severity.HIGH,
                             Category.POST_EXPLOITATION)  # fmt: skip
        self.artifacts = frozenset({"evtx"})
        self.literal = literal

    def literals(self, artifact: str) -> frozenset[str] | None:
        return frozenset({self.parent}) if self.literal else None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        parent = record.fields.get("ParentImage", "").lower()
        if record.fields["EventID"] == "1" and parent.endswith("\\" + self.parent):
            yield make_hit(self.info, record)


class LogCleared(RecordRule):
    """Security 1102; names no literal, so every record is decoded."""

    info = RuleInfo("log-cleared", "log cleared", Severity.HIGH, Category.POST_EXPLOITATION)
    artifacts = frozenset({"evtx"})

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        if record.fields["EventID"] == "1102" and record.fields["Channel"] == "Security":
            yield make_hit(self.info, record)


class Broken(RecordRule):
    info = RuleInfo("broken", "broken", Severity.LOW, Category.INFORMATIONAL)
    artifacts = frozenset({"evtx"})

    def literals(self, artifact: str) -> frozenset[str] | None:
        return frozenset({"lsass.exe"})

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        raise ValueError("boom")


W3WP_CHILDREN = [
    ("LM_typical_IIS_webshell_sysmon_1_10_traces.evtx", 1044),
    ("discovery_sysmon_1_iis_pwd_and_config_discovery_appcmd.evtx", 5875),
    ("privesc_rotten_potato_from_webshell_metasploit_sysmon_1_8_3.evtx", 5408),
]
CLEARED = [
    ("4624 LT3 AnonymousLogon Localhost - JuicyPotato.evtx", 25048),
    ("ID4688,4624-RottenPotatoNG.evtx", 1122929),
    ("Runas_4624_4648_Webshell_CreateProcessAsUserA.evtx", 161471),
]


def scan_folder(folder: Path, rules: list[RecordRule]) -> list[FileResult]:
    plan = LogPlan("evtx", rules)
    with open_evidence([folder]) as evidence:
        return [
            scan_evtx_file(f, plan, ScanContext())
            for f in evidence.files
            if f.rel.endswith(".evtx")
        ]


def found(results: list[FileResult]) -> list[tuple[str, str, int | None]]:
    return sorted(
        (hit.rule.id, hit.record.source.path.rsplit("/", 1)[-1], hit.record.record)
        for result in results
        for hit in result.hits
    )


def test_literal_rule_finds_what_full_decoding_finds_and_decodes_less() -> None:
    folder = sample(SB)
    fast = scan_folder(folder, [ChildOf("w3wp.exe")])
    full = scan_folder(folder, [ChildOf("w3wp.exe", literal=False)])
    assert (
        found(fast) == found(full) == sorted(("child-of-w3wp.exe", n, r) for n, r in W3WP_CHILDREN)
    )
    records = sum(r.stats.records for r in fast)
    assert records == sum(r.stats.records for r in full) == 878
    assert sum(r.stats.parsed for r in full) == records
    assert sum(r.stats.parsed for r in fast) == 13  # records holding "w3wp.exe" anywhere


def test_rule_without_literals_decodes_every_record() -> None:
    results = scan_folder(sample(SB), [LogCleared()]) + scan_folder(sample(MITRE), [LogCleared()])
    assert found(results) == sorted(("log-cleared", n, r) for n, r in CLEARED)


def test_no_rules_decodes_nothing_and_still_covers() -> None:
    path = sample(f"{MITRE}/ID10-Mimikatz LSASS process dump.evtx")
    file = EvidenceFile("Sysmon.evtx", path, path.stat().st_size, None, "C:\\x\\Sysmon.evtx")
    result = scan_evtx_file(file, LogPlan("evtx", []), ScanContext())
    stats = result.stats
    assert (stats.records, stats.bad_records, stats.parsed) == (3, 0, 0)
    # The events' own times (the record headers say when the export wrote them: 13 s later).
    assert stats.first == datetime(2021, 10, 21, 20, 40, 12, 867822, tzinfo=UTC)
    assert stats.last == datetime(2021, 10, 21, 20, 40, 43, 136112, tzinfo=UTC)
    assert stats.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stats.bytes_read == path.stat().st_size == 69632
    assert result.source.windows_path == "C:\\x\\Sysmon.evtx"
    assert result.host == "FS03.offsec.lan"
    assert (result.hits, result.problems) == ([], [])


def test_hit_carries_record_provenance() -> None:
    path = sample(f"{SB}/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx")
    file = EvidenceFile("C/Windows/Sysmon.evtx", path, path.stat().st_size, None, "C:\\S.evtx")
    (hit,) = scan_evtx_file(file, LogPlan("evtx", [ChildOf("w3wp.exe")]), ScanContext()).hits
    record = hit.record
    assert (record.source.artifact, record.source.path, record.line) == (
        "evtx",
        "C/Windows/Sysmon.evtx",
        None,
    )
    assert record.record == 1044
    assert record.time == datetime(2019, 5, 24, 1, 33, 53, 112486, tzinfo=UTC)
    assert record.fields["Image"] == "C:\\Windows\\System32\\cmd.exe"


def test_time_window_applies_to_records() -> None:
    path = sample(f"{SB}/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx")
    file = EvidenceFile("s.evtx", path, path.stat().st_size, None)
    plan = LogPlan("evtx", [ChildOf("w3wp.exe")])
    moment = datetime(2019, 5, 24, 1, 33, 53, tzinfo=UTC)
    assert len(scan_evtx_file(file, plan, ScanContext(), TimeWindow(since=moment)).hits) == 1
    assert scan_evtx_file(file, plan, ScanContext(), TimeWindow(until=moment)).hits == []


def test_failing_rule_is_one_problem_and_other_rules_still_hit() -> None:
    path = sample(f"{SB}/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx")
    file = EvidenceFile("m.evtx", path, path.stat().st_size, None)
    plan = LogPlan("evtx", [Broken(), ChildOf("cmd.exe")])
    result = scan_evtx_file(file, plan, ScanContext())
    assert [(p.component, p.message, p.path) for p in result.problems] == [
        ("rule broken", "ValueError: boom", "m.evtx")
    ]
    assert [h.record.record for h in result.hits] == [238373, 238378, 238385]


@pytest.mark.parametrize("batch", [1, 7, 2048])
def test_batch_size_does_not_change_hits(monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    monkeypatch.setattr(evtxscan, "BATCH_RECORDS", batch)
    results = scan_folder(sample(SB), [ChildOf("w3wp.exe")])
    assert found(results) == sorted(("child-of-w3wp.exe", n, r) for n, r in W3WP_CHILDREN)


def test_select_maps_matches_to_records_in_one_pass() -> None:
    events = [
        RawEvent(1, "", '{"a": "x"}'),
        RawEvent(2, "", '{\n  "Image": "C:\\\\Tools\\\\Mimikatz.exe"\n}'),
        RawEvent(3, "", '{"b":"mimikatz and w3wp"}'),
        RawEvent(4, "", '{"c":"ünïcödé w3wp"}'),
        RawEvent(5, "", '{"Mimikatz":"key, not value","xmlns":"urn:w3wp"}'),
        RawEvent(6, "", '{"d":"a quote \\" then \\":w3wp"}'),
    ]
    matcher = build_matcher(["mimikatz", "w3wp"])
    assert list(select(events, matcher)) == [
        (1, frozenset({0})),
        (2, frozenset({0, 1})),
        (3, frozenset({1})),
        (4, frozenset({0, 1})),  # keys are searched too: the gate and the rule decide
        (5, frozenset({1})),
    ]


def test_damaged_file_gives_one_problem_and_coverage_counts() -> None:
    path = sample("parser-samples/sysmon.evtx")
    file = EvidenceFile("sysmon.evtx", path, path.stat().st_size, None)
    result = scan_evtx_file(
        file, LogPlan("evtx", [ChildOf("cmd.exe", literal=False)]), ScanContext()
    )
    stats = result.stats
    assert (stats.records, stats.bad_records, stats.parsed, stats.truncated) == (366, 8, 358, False)
    (problem,) = result.problems
    assert (problem.component, problem.path, problem.line) == ("evtx", "sysmon.evtx", None)
    assert problem.message == (
        "bad record: chunk 9 (offset 593920): Failed to parse chunk header: Invalid EVTX chunk "
        "header magic, expected `ElfChnk0`, found `[ 0,  0,  0,  0,  0,  0,  0,  0]` "
        "(and 7 more bad parts); 8 bad records in all"
    )


def test_not_evtx_is_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "Application.evtx"
    path.write_bytes(b"")
    result = scan_evtx_file(EvidenceFile("Application.evtx", path, 0, None), LogPlan("evtx", []),
                            ScanContext())  # fmt: skip
    assert [(p.component, p.message, p.path) for p in result.problems] == [
        ("evtx", "could not read: not an EVTX file (an empty file)", "Application.evtx")
    ]
    stats = result.stats
    assert (stats.records, stats.bad_records, stats.truncated) == (0, 0, False)
    assert stats.sha256 == hashlib.sha256(b"").hexdigest()  # read: it belongs in the manifest


def test_truncated_file_is_marked_for_coverage(tmp_path: Path) -> None:
    data = sample("parser-samples/security.evtx").read_bytes()
    path = tmp_path / "Security.evtx"
    path.write_bytes(data[: 4096 + 11 * 65536])
    file = EvidenceFile("Security.evtx", path, path.stat().st_size, None)
    stats = scan_evtx_file(file, LogPlan("evtx", []), ScanContext()).stats
    assert (stats.records, stats.bad_records, stats.truncated) == (976 + 15, 15, True)


# --- the runner: every .evtx of the evidence, in worker processes ---------------------------


def run(evidence: Evidence, rules: list[RecordRule], jobs: int, monkeypatch: pytest.MonkeyPatch
        ) -> list[FileResult]:  # fmt: skip
    """Run the log runner with these rules; forked workers inherit the prepared plans."""
    spec = RuleSpec(bundled=False)
    plans = plans_for(load_ruleset(spec))
    plans["evtx"] = LogPlan("evtx", rules)
    monkeypatch.setitem(runner._PLANS, spec, plans)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    tasks = runner.find_logs(evidence)
    return runner.run_logs(tasks, spec, ScanContext(), TimeWindow(), jobs, None)


@pytest.mark.parametrize("jobs", [1, 2])
def test_runner_reads_every_evtx(monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    with open_evidence([sample(SB)]) as evidence:
        results = run(evidence, [ChildOf("w3wp.exe"), LogCleared()], jobs, monkeypatch)
    assert len(results) == 29
    assert {r.source.artifact for r in results} == {"evtx"}
    assert found(results) == sorted(
        [("child-of-w3wp.exe", n, r) for n, r in W3WP_CHILDREN]
        + [("log-cleared", n, r) for n, r in CLEARED if n in {CLEARED[0][0], CLEARED[2][0]}]
    )
    assert sum(r.stats.records for r in results) == 878


def test_single_evtx_file_as_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    path = sample(f"{SB}/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx")
    with open_evidence([path]) as evidence:
        (result,) = run(evidence, [ChildOf("w3wp.exe")], 1, monkeypatch)
    assert found([result]) == [("child-of-w3wp.exe", path.name, 1044)]


def test_windows_logs_folder_empty_and_renamed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "C" / "Windows" / "System32" / "winevt" / "Logs"
    logs.mkdir(parents=True)
    shutil.copy(sample(f"{SB}/LM_typical_IIS_webshell_sysmon_1_10_traces.evtx"),
                logs / "Microsoft-Windows-Sysmon%4Operational.evtx")  # fmt: skip
    (logs / "Security.evtx").write_bytes(b"")
    exported = tmp_path / "export"
    exported.mkdir()
    shutil.copy(sample(f"{SB}/discovery_sysmon_1_iis_pwd_and_config_discovery_appcmd.evtx"),
                exported / "sysmon-export.log")  # fmt: skip
    with open_evidence([tmp_path]) as evidence:
        results = run(evidence, [ChildOf("w3wp.exe")], 2, monkeypatch)
    by_path = {r.source.path: r for r in results}
    assert sorted(by_path) == [
        "C/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx",
        "C/Windows/System32/winevt/Logs/Security.evtx",
        "export/sysmon-export.log",
    ]
    sysmon = by_path["C/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx"]
    assert sysmon.source.windows_path == (
        "C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational.evtx"
    )
    assert [h.record.record for h in sysmon.hits] == [1044]
    assert [h.record.record for h in by_path["export/sysmon-export.log"].hits] == [5875]
    assert by_path["export/sysmon-export.log"].source.artifact == "evtx"
    assert [
        p.message for p in by_path["C/Windows/System32/winevt/Logs/Security.evtx"].problems
    ] == ["could not read: not an EVTX file (an empty file)"]
