"""SigmaHQ's own regression data: each named rule matches exactly its expected events.

SigmaHQ ships, for many rules, an .evtx recorded while the attack ran and an ``info.yml`` naming
the rule id and (mostly) the expected number of matching events. Every case in
``../shared/data/evtx/sigma-regression`` runs here: the rule is loaded from
``../shared/data/sigmahq-rules`` by its id, the file is read with exhunt's EVTX reader, and the
rule's matches (prefilter literals included) are counted. Without ``match_count`` the case
expects at least one match, as SigmaHQ's own runner does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from exhunt.artifacts.evtx import iter_evtx_records
from exhunt.detect.sigma import CompiledSigmaRule, load_rule_file

DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
CASES_DIR = DATA / "evtx" / "sigma-regression"
RULES_DIR = DATA / "sigmahq-rules"
_ID = re.compile(r"^id:\s*['\"]?([0-9a-fA-F-]{36})", re.MULTILINE)

EXPECTED_FAILURES = {
    "8fbf3271-1ef6-4e94-8210-03c2317947f6": (
        "info.yml expects 1 match, but three events of the file match the rule as written: "
        "Sysmon 11 file creations of procdump64.exe, procdump64a.exe and procdump.exe, each "
        "ending with a name the rule lists (the Zone.Identifier streams do not); SigmaHQ's "
        "runner only checks that the rule fires"
    ),
    "c7dcacd0-cc59-4004-b0a4-1d6cdebe6f3e": (
        "info.yml expects 1 match, but both events of the file match the rule as written: "
        "reg.exe sets LanmanServer\\Parameters\\AutoShareServer and \\AutoShareWks to DWORD 0, "
        "and the rule names both values"
    ),
    "ea0cdc3e-2239-4f26-a947-4e8f8224e464": (
        "the .evtx that info.yml names is not in the snapshot (only its JSON export is)"
    ),
}
"""Cases that cannot pass under the Sigma semantics, by rule id, with the reason."""

NOT_EVTX = {"cisco_cli_dot1x_disabled"}
"""Case folders with no EVTX test (the Cisco case's raw-log test is commented out)."""


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    rule_id: str
    evtx: Path
    expected: int | None
    """``match_count``; ``None``: at least one."""


def _missing(what: Path) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"shared test data missing: {what}")
    pytest.skip(f"shared test data not present: {what}")


def _case(info: Path) -> Case | None:
    data: dict[str, Any] = yaml.safe_load(info.read_text("utf-8")) or {}
    tests = [t for t in data.get("regression_tests_info") or () if t.get("type") == "evtx"]
    if not tests:
        return None
    relative = Path(str(tests[0]["path"])).relative_to("regression_data")
    rule_id = str(data["rule_metadata"][0]["id"])
    count = tests[0].get("match_count")
    return Case(info.parent.name, rule_id, CASES_DIR / relative, count)


def _cases() -> list[Any]:
    if not CASES_DIR.is_dir():
        return [pytest.param(None, id="shared-data-missing")]
    params = []
    for info in sorted(CASES_DIR.rglob("info.yml")):
        case = _case(info)
        if case is None:
            continue
        reason = EXPECTED_FAILURES.get(case.rule_id)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@cache
def _rule_index() -> dict[str, Path]:
    index: dict[str, Path] = {}
    for path in RULES_DIR.rglob("*.yml"):
        found = _ID.search(path.read_text("utf-8", errors="replace"))
        if found:
            index.setdefault(found.group(1).lower(), path)
    return index


def _rule(rule_id: str) -> CompiledSigmaRule:
    path = _rule_index().get(rule_id.lower())
    assert path is not None, f"rule {rule_id} not in {RULES_DIR}"
    matching = [rule for rule in load_rule_file(path) if rule.info.id == rule_id]
    assert len(matching) == 1
    return matching[0]


def _matches(rule: CompiledSigmaRule, evtx: Path) -> tuple[int, int]:
    """Matching records, and how many of them the rule's prefilter literals let through."""
    literals = rule.literals("evtx")
    matched = passed = 0
    for record in iter_evtx_records(evtx):
        if rule.matches(record):
            matched += 1
            raw = record.raw.lower()
            passed += literals is None or any(literal in raw for literal in literals)
    return matched, passed


@pytest.mark.parametrize("case", _cases())
def test_regression_case(case: Case | None) -> None:
    if case is None or not RULES_DIR.is_dir():
        _missing(CASES_DIR if case is None else RULES_DIR)
        return
    rule = _rule(case.rule_id)
    assert rule.artifacts == {"evtx"}
    matched, passed = _matches(rule, case.evtx)
    assert passed == matched, "a matching record lacks every prefilter literal"
    if case.expected is None:
        assert matched >= 1
    else:
        assert matched == case.expected


def test_cases_without_evtx_data() -> None:
    if not CASES_DIR.is_dir():
        _missing(CASES_DIR)
    folders = {info.parent.name for info in CASES_DIR.rglob("info.yml") if _case(info) is None}
    assert folders == NOT_EVTX


def test_every_expected_failure_names_a_case() -> None:
    if not CASES_DIR.is_dir():
        _missing(CASES_DIR)
    cases = [_case(info) for info in CASES_DIR.rglob("info.yml")]
    ids = {case.rule_id for case in cases if case is not None}
    assert set(EXPECTED_FAILURES) <= ids
