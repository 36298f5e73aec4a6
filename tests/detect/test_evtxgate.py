"""The event log shortcuts (literals, channel and event id) lose no match of real Sigma rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exhunt.artifacts.evtx import EvtxReader, iter_evtx_records
from exhunt.detect.context import ScanContext
from exhunt.detect.engine import LogPlan
from exhunt.detect.evtxgate import Gate, admitted, gates_of, system_keys
from exhunt.detect.evtxplan import EvtxPlan
from exhunt.detect.evtxscan import scan_evtx_file
from exhunt.detect.rules import RecordRule
from exhunt.detect.sigma import load_rule_file
from exhunt.detect.sigmarule import SigmaRecordRule
from exhunt.evidence import EvidenceFile

SHARED = Path(__file__).parents[2] / ".." / "shared" / "data"
SIGMAHQ_WINDOWS = SHARED / "sigmahq-rules" / "rules" / "windows"
RULE_FOLDERS = ("process_access", "wmi_event", "create_remote_thread", "pipe_created",
                "builtin/security", "builtin/system")  # fmt: skip


def shared(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing: {path}")
        pytest.skip(f"shared data missing: {path}")
    return path


def sigma_rule(tmp_path: Path, logsource: str, detection: str) -> SigmaRecordRule:
    path = tmp_path / "rule.yml"
    path.write_text(
        "title: t\nid: 5f2b9e1c-0000-4000-8000-000000000001\nstatus: test\n"
        f"logsource:\n{logsource}\ndetection:\n{detection}\n  condition: selection\n"
        "level: high\n",
        encoding="utf-8",
    )
    (rule,) = load_rule_file(path)
    return SigmaRecordRule(rule)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('{"System":{"EventID":4688,"Channel":"Security"}}', ("security", "4688")),
        (
            '{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},'
            '"Channel":"System"}}',
            ("system", "7045"),
        ),
        (  # forwarded: numbers as text
            '{"System":{"EventID":{"#attributes":{"Qualifiers":"16384"},"#text":"1"},'
            '"Channel":"MSExchange Management"}}',
            ("msexchange management", "1"),
        ),
        ('{"System":{"EventID":0,"Channel":null}}', ("", "0")),
        ('{"System":{"EventID":null,"Channel":"a"}}', None),
        ('{"System":{"EventID":1,"Channel":"a\\"b"}}', None),
        ('{"System":{"EventID":{"#attributes":{"Qualifiers":1}},"Channel":"a"}}', None),
        ("{}", None),
    ],
)
def test_system_keys(text: str, keys: tuple[str, str] | None) -> None:
    assert system_keys(text) == keys


def test_system_keys_agree_with_the_decoded_fields() -> None:
    folder = shared(SHARED / "evtx")  # attack samples, damaged files, forwarded events
    checked = 0
    for path in sorted(folder.rglob("*.evtx")):
        texts = [event.text for event in EvtxReader(path).events()]
        for text, record in zip(texts, iter_evtx_records(path), strict=True):
            keys = system_keys(text)
            assert keys == (record.fields["Channel"].lower(), record.fields["EventID"])
            checked += 1
    assert checked == 19_610


def test_gates_of_sigma_log_sources(tmp_path: Path) -> None:
    creation = sigma_rule(
        tmp_path,
        "  product: windows\n  category: process_creation",
        "  selection:\n    Image|endswith: '\\w3wp.exe'",
    )
    gates = gates_of(creation)
    assert gates is not None
    assert Gate(frozenset({"microsoft-windows-sysmon/operational"}), frozenset({"1"})) in gates
    assert admitted(gates, ("security", "4688"))
    assert not admitted(gates, ("security", "4624"))
    assert admitted(gates, None)  # unknown keys: every rule goes through
    anything = sigma_rule(tmp_path, "  product: windows", "  selection:\n    - 'mimikatz'")
    assert gates_of(anything) is None


def test_rules_for_combines_literals_and_gates(tmp_path: Path) -> None:
    creation = sigma_rule(
        tmp_path,
        "  product: windows\n  category: process_creation",
        "  selection:\n    Image|endswith: '\\w3wp.exe'",
    )
    plan = EvtxPlan([creation])
    (literal,) = range(len(plan.literals))
    ids = frozenset({literal})
    assert plan.rules_for(ids, ("microsoft-windows-sysmon/operational", "1")) == [creation]
    assert plan.rules_for(ids, ("microsoft-windows-sysmon/operational", "3")) == []
    assert plan.rules_for(ids, None) == [creation]
    assert plan.rules_for(frozenset(), ("security", "4688")) == []


def load_rules() -> list[RecordRule]:
    rules: list[RecordRule] = []
    for folder in RULE_FOLDERS:
        for path in sorted(shared(SIGMAHQ_WINDOWS / folder).rglob("*.yml")):
            rules.extend(SigmaRecordRule(rule) for rule in load_rule_file(path) if rule.active)
    return rules


@pytest.mark.slow
def test_sigmahq_rules_find_the_same_with_and_without_shortcuts() -> None:
    rules = [rule for rule in load_rules() if "evtx" in rule.artifacts]
    assert len(rules) > 200
    plan = LogPlan("evtx", rules)
    context = ScanContext()
    folder = shared(SHARED / "evtx" / "attack-samples")
    fast: set[tuple[str, str, int | None]] = set()
    slow: set[tuple[str, str, int | None]] = set()
    for path in sorted(folder.rglob("*.evtx")):
        file = EvidenceFile(path.name, path, path.stat().st_size, None)
        for hit in scan_evtx_file(file, plan, context).hits:
            fast.add((hit.rule.id, path.name, hit.record.record))
        for record in iter_evtx_records(path):
            for rule in rules:
                for hit in rule.evaluate(record, context):
                    slow.add((hit.rule.id, path.name, record.record))
    assert fast == slow
    assert len(fast) > 50
