"""Traces of Microsoft's emergency tools on the server: EOMT, EOMTv2, MSERT and the Exchange
Emergency Mitigation (EM) service, with their dates and results.

* EOMT writes ``%SystemDrive%\\EOMTSummary.txt`` ("This attempt was successful." or
  "...unsuccessful.") and logs to ``%TEMP%\\msert\\EOMT.log`` (``yyyy-MM-dd HH:mm:ss Level:
  message``, the server's local time); EOMTv2 writes ``EOMTv2Summary.txt`` and
  ``%TEMP%\\EOMTv2\\EOMTv2.log`` the same way.
* The Microsoft Safety Scanner (MSERT, run by EOMT or by hand) logs to
  ``%SystemRoot%\\debug\\msert.log`` (EOMT moves the previous one to ``msert.old.log``); EOMT
  counts a ``Threat Detected`` line as a detection. Each detection becomes a finding.
* The EM service (2016 CU22+, 2019 CU11+) logs under ``<install>\\Logging\\MitigationService``.

References:
    microsoft/CSS-Exchange Security/src/EOMT.ps1 (Run-MSERT, Write-Log, Write-Summary),
    Security/src/EOMTv2.ps1; https://learn.microsoft.com/exchange/exchange-emergency-mitigation-service
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator

from exhunt.evidence import Evidence, EvidenceFile
from exhunt.findings.mitigations import Mitigation, MitigationState, rewrite_mitigations
from exhunt.model import Category, Hit, Indicators, Record, RuleInfo, Severity, Source

log = logging.getLogger(__name__)

MAX_TRACE_BYTES = 8 << 20
MAX_EEMS_FILES = 200
_SUMMARIES = {"eomtsummary.txt": "EOMT", "eomtv2summary.txt": "EOMTv2"}
_TOOL_LOGS = {"msert/eomt.log": "EOMT", "eomtv2/eomtv2.log": "EOMTv2"}
_MSERT_LOGS = ("windows/debug/msert.log", "windows/debug/msert.old.log")
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\w+): (.*)$")
_THREAT = re.compile(r"Threat Detected:\s*(?P<name>[^,\r\n]{1,200})(?:,\s*(?P<state>[^\r\n]*))?")
_FILE = re.compile(r"^\s*(?:file|containerfile)://(?P<path>.{1,1000})$")
_STARTED = re.compile(r"Started On (?P<when>.{1,60})$")
_EEMS_ID = re.compile(r"\b(PING1|M\d{1,2}(?:\.\d{1,2})?)\b")
_WEBSHELL_FAMILIES = (
    "exmann",
    "chopper",
    "backdoor:asp/",
    "backdoor:js/",
    "webshell",
    "secchecker",
)

MSERT_RULE = "exhunt.msert.detection"


def mitigation_state(evidence: Evidence) -> MitigationState:
    """URL Rewrite mitigations, tool traces and MSERT detections of the evidence."""
    traces, hits = find_traces(evidence)
    return MitigationState(rewrite_mitigations(evidence) + traces, hits)


def find_traces(evidence: Evidence) -> tuple[list[Mitigation], list[Hit]]:
    """Mitigation traces with dates, and one hit per MSERT detection."""
    traces: list[Mitigation] = []
    hits: list[Hit] = []
    for file in evidence.files:
        lowered = file.rel.lower()
        for suffix, tool in _SUMMARIES.items():
            if lowered.endswith("/" + suffix) or lowered == suffix:
                traces += _summary(evidence, file, tool)
        for suffix, tool in _TOOL_LOGS.items():
            if lowered.endswith("/" + suffix):
                traces += _tool_log(evidence, file, tool)
        if lowered.endswith(_MSERT_LOGS):
            trace, found = _msert(evidence, file)
            traces.append(trace)
            hits += found
    traces += _eems(evidence)
    return traces, hits


def read_text(evidence: Evidence, file: EvidenceFile) -> str | None:
    """A small text file: UTF-16 when it has a BOM (msert.log does), else UTF-8."""
    try:
        with evidence.open(file) as handle:
            data = handle.read(MAX_TRACE_BYTES)
    except OSError as exc:
        log.warning("could not read %s: %s", file.rel, exc)
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def _where(file: EvidenceFile) -> str:
    return file.windows_path or file.rel


def _summary(evidence: Evidence, file: EvidenceFile, tool: str) -> list[Mitigation]:
    text = read_text(evidence, file) or ""
    if "attempt was successful" in text:
        result = "successful"
    elif "attempt was unsuccessful" in text:
        result = "unsuccessful"
    else:
        result = "result not stated"
    return [
        Mitigation(
            kind="eomt",
            name=f"{tool} ran ({result}); summary",
            since=file.mtime,
            path=_where(file),
            effective=False,
            detail=f"{tool} summary file: attempt {result}",
        )
    ]


def _tool_log(evidence: Evidence, file: EvidenceFile, tool: str) -> list[Mitigation]:
    lines = (read_text(evidence, file) or "").splitlines()
    entries = [m.groups() for m in map(_LOG_LINE.match, lines) if m]
    if not entries:
        detail = "no entries"
    else:
        first, last = entries[0], entries[-1]
        detail = (
            f"{len(entries)} entries from {first[0]} to {last[0]} (server local time); "
            f"last: {last[1]}: {last[2][:300]}"
        )
    return [
        Mitigation(
            kind="eomt",
            name=f"{tool} log",
            since=file.mtime,
            path=_where(file),
            effective=False,
            detail=detail,
        )
    ]


def _msert(evidence: Evidence, file: EvidenceFile) -> tuple[Mitigation, list[Hit]]:
    lines = (read_text(evidence, file) or "").splitlines()
    scans = [m.group("when").strip() for m in map(_STARTED.search, lines) if m]
    hits = list(_detections(file, lines))
    detail = f"{len(scans)} scan(s)"
    if scans:
        detail += f", last started {scans[-1]} (server local time)"
    detail += f"; {len(hits)} detection(s)"
    trace = Mitigation(
        kind="msert",
        name="Microsoft Safety Scanner log",
        since=file.mtime,
        path=_where(file),
        effective=False,
        detail=detail,
    )
    return trace, hits


def _detections(file: EvidenceFile, lines: list[str]) -> Iterator[Hit]:
    for index, line in enumerate(lines):
        match = _THREAT.search(line)
        if not match:
            continue
        name = match.group("name").strip()
        state = (match.group("state") or "").strip()
        paths = _detected_files(lines, index + 1)
        yield _hit(file, index + 1, line, name, state, paths)


def _detected_files(lines: list[str], start: int) -> list[str]:
    found = []
    for line in lines[start : start + 50]:
        match = _FILE.match(line)
        if not match:
            break
        found.append(match.group("path").strip())
    return found


def _hit(file: EvidenceFile, line: int, raw: str, name: str, state: str, paths: list[str]) -> Hit:
    webshell = any(family in name.lower() for family in _WEBSHELL_FAMILIES)
    rule = RuleInfo(
        id=MSERT_RULE,
        title=f"Microsoft Safety Scanner detected {name}",
        severity=Severity.HIGH if webshell else Severity.MEDIUM,
        category=Category.WEBSHELL if webshell else Category.POST_EXPLOITATION,
        description="MSERT (run by EOMT or by hand) recorded a detection in msert.log"
        + (f" ({state})" if state else "")
        + ". A web shell family found by MSERT shows the server was compromised, whatever "
        "MSERT then removed.",
        references=("https://go.microsoft.com/fwlink/?linkid=2157359",),
    )
    record = Record(
        source=Source("msert.log", file.rel, file.windows_path),
        line=line,
        time=None,
        fields={"threat": name, "state": state, "files": ";".join(paths)},
        raw=raw.strip()[:1000],
    )
    summary = f"{name}" + (f" in {', '.join(paths[:3])}" if paths else "")
    return Hit(
        rule=rule,
        record=record,
        summary=summary,
        indicators=Indicators(paths=tuple(paths[:20])),
        group="msert",
        link=name,
    )


def _eems(evidence: Evidence) -> list[Mitigation]:
    install = evidence.exchange
    if install is None:
        return []
    files = list(evidence.iter_under(f"{install.rel}/Logging/MitigationService"))[:MAX_EEMS_FILES]
    if not files:
        return []
    applied: set[str] = set()
    for file in files:
        for line in (read_text(evidence, file) or "").splitlines():
            if "appl" in line.lower():
                applied.update(_EEMS_ID.findall(line))
    times = [f.mtime for f in files if f.mtime]
    detail = f"{len(files)} log file(s)"
    if applied:
        detail += "; mitigation ids on lines about applying: " + ", ".join(sorted(applied))
    return [
        Mitigation(
            kind="eems-log",
            name="Exchange Emergency Mitigation service logs",
            since=max(times) if times else None,
            path=f"{install.rel}/Logging/MitigationService",
            effective=False,
            detail=detail,
        )
    ]
