"""Event logs through the whole scan: a folder of logs, a single log, damaged logs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from exhunt.options import ScanOptions
from exhunt.scan import scan

EVTX_DATA = Path(__file__).parents[1] / ".." / "shared" / "data" / "evtx"


def sample(relative: str) -> Path:
    path = EVTX_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared EVTX sample missing: {path}")
        pytest.skip(f"shared EVTX sample missing: {path}")
    return path


@pytest.mark.integration
def test_folder_of_damaged_logs_is_covered_and_reported() -> None:
    document = scan([sample("parser-samples")], ScanOptions(bundled_rules=False, jobs=2))
    (evtx,) = [a for a in document.coverage.artifacts if a.type == "evtx"]
    assert (evtx.files, evtx.records, evtx.bad_records) == (21, 18_392 + 27, 27)
    errors = sorted((e.component, e.path or "", e.message.split(":")[0]) for e in document.errors)
    assert errors == [
        ("evtx", "2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
         "bad record"),
        ("evtx", "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational"
         ".evtx", "bad record"),
        ("evtx", "sample-with-zero-data-size-event.evtx", "bad record"),
        ("evtx", "sample_with_a_bad_chunk_magic.evtx", "bad record"),
        ("evtx", "sysmon.evtx", "bad record"),
    ]  # fmt: skip
    manifest = {f.path: f for f in document.evidence.files if f.artifact == "evtx"}
    assert len(manifest) == 21
    security = sample("parser-samples/security.evtx").read_bytes()
    assert manifest["security.evtx"].sha256 == hashlib.sha256(security).hexdigest()
    assert manifest["security.evtx"].size == len(security)


@pytest.mark.integration
def test_single_log_as_evidence_finds_the_webshell_child() -> None:
    path = sample("attack-samples/sbousseaden-EVTX-ATTACK-SAMPLES/"
                  "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx")  # fmt: skip
    document = scan([path])
    (evtx,) = [a for a in document.coverage.artifacts if a.type == "evtx"]
    assert (evtx.files, evtx.records, evtx.bad_records) == (1, 4, 0)
    assert document.evidence.host == "IEWIN7"
    supporting = [(e.path, e.record, e.line) for f in document.findings for e in f.evidence]
    assert (path.name, 1044, None) in supporting
