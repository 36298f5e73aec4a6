"""Run a rule's examples: the lines it must match and the near misses it must not.

Every bundled rule ships examples in ``rules/examples/<rule file stem>.yml``::

    rule: <rule id>
    artifact: iis.w3c
    preamble:            # lines written before the examples (the log's own header)
      - "#Fields: date time cs-method cs-uri-stem sc-status"
    match:               # each must give a hit of this rule
      - "2021-03-03 06:49:42 POST /ecp/y.js 200"
    no_match:            # near misses: each must give none
      - "2021-03-03 06:49:42 GET /ecp/y.js 200"

The examples go through the real path: a log file is written, read by its parser with the
rule's own prefilter, and evaluated, so a wrong literal fails the example as surely as a wrong
condition. File rules (``artifact: fs.file``) list files instead of lines:
``match: [{path: 'C:\\inetpub\\wwwroot\\aspnet_client\\x.aspx', content: '...'}]``.

Records of any other artifact may be given as field mappings, as the artifact's parser would
produce them (for Windows event logs: ``Channel``, ``EventID``, ``Provider_Name`` and the event
data names)::

    rule: <rule id>
    artifact: evtx
    match:
      - {Channel: Microsoft-Windows-Sysmon/Operational, EventID: '1', Image: 'C:\\...\\cmd.exe'}

Such a record is evaluated by the rule as loaded, its log source condition included, after the
rule's prefilter literals are checked against the record's raw text (for ``evtx`` the JSON the
parser gives, with its escapes).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from exhunt.detect.context import ScanContext
from exhunt.detect.engine import LogPlan, scan_log_file, scan_tree
from exhunt.detect.rules import RecordRule, RuleSet
from exhunt.evidence import EvidenceFile, open_evidence
from exhunt.exceptions import RuleError
from exhunt.model import Record, Source

DEFAULT_CONTEXT = ScanContext(install_path="C:\\Program Files\\Microsoft\\Exchange Server\\V15\\")


@dataclass(frozen=True, slots=True)
class RuleCase:
    path: Path
    rule: str
    artifact: str
    preamble: tuple[str, ...]
    match: tuple[Any, ...]
    no_match: tuple[Any, ...]


@dataclass(slots=True)
class CaseResult:
    case: RuleCase
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def load_cases(paths: Iterable[Path]) -> list[RuleCase]:
    cases: list[RuleCase] = []
    for path in paths:
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        cases.extend(_load(file) for file in files)
    return cases


def _load(path: Path) -> RuleCase:
    data = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(data, dict) or "rule" not in data or "artifact" not in data:
        raise RuleError("an example file needs 'rule' and 'artifact'", str(path))
    return RuleCase(
        path=path,
        rule=str(data["rule"]),
        artifact=str(data["artifact"]),
        preamble=tuple(str(line) for line in data.get("preamble") or ()),
        match=tuple(data.get("match") or ()),
        no_match=tuple(data.get("no_match") or ()),
    )


def run_case(
    case: RuleCase, ruleset: RuleSet, context: ScanContext = DEFAULT_CONTEXT
) -> CaseResult:
    """Check one rule's examples against the rule as loaded in ``ruleset``."""
    result = CaseResult(case)
    rules = [rule for rule in ruleset.rules if case.rule in {i.id for i in rule.emits}]
    if not rules:
        result.failures.append(f"rule {case.rule} is not loaded")
        return result
    if not case.match or not case.no_match:
        result.failures.append("needs at least one match and one no_match example")
    for expected, examples in ((True, case.match), (False, case.no_match)):
        for example in examples:
            hit = _runner(case, example)(case, rules, example, context)
            if hit != expected:
                verb = "did not match" if expected else "matched"
                result.failures.append(f"{verb}: {example!r}")
    return result


def _runner(case: RuleCase, example: Any) -> Runner:
    if case.artifact == "fs.file":
        return _run_files
    if isinstance(example, Mapping):
        return _run_record
    return _run_lines


def _run_record(
    case: RuleCase, rules: Sequence[RecordRule], fields: Any, context: ScanContext
) -> bool:
    record = example_record(case.artifact, fields)
    raw = record.raw.lower()
    for rule in rules:
        literals = rule.literals(case.artifact)
        if literals is not None and not any(literal in raw for literal in literals):
            continue
        if any(hit.rule.id == case.rule for hit in rule.evaluate(record, context)):
            return True
    return False


def example_record(artifact: str, fields: Mapping[str, Any]) -> Record:
    """A record of ``artifact`` with the given fields, its raw text written as the parser's.

    For ``evtx`` the raw text is event JSON as the ``evtx`` parser writes it (System fields
    under ``System``, the rest under ``EventData``; backslashes and quotes escaped).
    """
    values = {str(name): "" if value is None else str(value) for name, value in fields.items()}
    source = Source(artifact=artifact, path=f"example.{artifact}")
    raw = _evtx_json(values) if artifact == "evtx" else " ".join(values.values())
    return Record(source=source, line=None, time=None, fields=values, raw=raw, record=1)


_SYSTEM = frozenset(
    {"Channel", "Provider_Name", "EventID", "Level", "Computer", "EventRecordID", "TimeCreated"}
)


def _evtx_json(fields: Mapping[str, str]) -> str:
    system = {name: value for name, value in fields.items() if name in _SYSTEM}
    data = {name: value for name, value in fields.items() if name not in _SYSTEM}
    event = {"Event": {"System": system, "EventData": data}}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


Runner = Callable[[RuleCase, Sequence[RecordRule], Any, ScanContext], bool]


def _run_lines(
    case: RuleCase, rules: Sequence[RecordRule], line: Any, context: ScanContext
) -> bool:
    plan = LogPlan(case.artifact, rules)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "example.log"
        log.write_bytes(("\r\n".join([*case.preamble, str(line)]) + "\r\n").encode("utf-8"))
        file = EvidenceFile("example.log", log, log.stat().st_size, datetime.now(UTC))
        result = scan_log_file(file, case.artifact, plan, context)
    return any(hit.rule.id == case.rule for hit in result.hits)


def _run_files(
    case: RuleCase, rules: Sequence[RecordRule], spec: Any, context: ScanContext
) -> bool:
    entries = spec if isinstance(spec, list) else [spec]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for entry in entries:
            relative = _drive_path(str(entry["path"]))
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(str(entry.get("content", "")).encode("utf-8"))
        with open_evidence([root]) as evidence:
            result = scan_tree(evidence, RuleSet(list(rules)), context)
    return any(hit.rule.id == case.rule for hit in result.hits)


def _drive_path(windows_path: str) -> str:
    drive, _, rest = windows_path.partition(":")
    return f"{drive.upper()}/{rest.lstrip(chr(92)).replace(chr(92), '/')}"
