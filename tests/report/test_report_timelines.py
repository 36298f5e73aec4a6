"""CSV and Timesketch timelines: one row per evidence event, the fields Timesketch expects."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from report_documents import load

from exhunt.document import ScanDocument
from exhunt.report.csv import COLUMNS
from exhunt.report.events import build_events
from exhunt.report.formats import render, render_many

TIMESKETCH_REQUIRED = ("message", "datetime", "timestamp_desc")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _events(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_one_row_per_evidence_location() -> None:
    document = load("compromised")
    locations = {(e.path, e.line, e.time) for f in document.findings for e in f.evidence}
    rows = _rows(render(document, "csv"))
    assert len(rows) == len(locations) == len(document.timeline) == 78
    assert list(rows[0]) == list(COLUMNS)


def test_csv_row_of_a_proxylogon_line() -> None:
    rows = _rows(render(load("compromised"), "csv"))
    row = next(
        r for r in rows if r["path"].endswith("HttpProxy_2021030306-1.LOG") and r["line"] == "8"
    )
    assert row["datetime"] == "2021-03-03T06:51:30.016000+00:00"
    assert row["timestamp"] == "1614754290016000"
    assert row["timestamp_desc"] == "Request logged"
    assert (
        row["message"] == "POST /ecp/z.js 200 from 104.140.114.110 (ExchangeServicesClient/0.0.0.0)"
    )
    assert row["host"] == "EXCH01"
    assert row["data_type"] == "exhunt:exchange:httpproxy"
    assert (row["severity"], row["category"]) == ("critical", "exploitation")
    assert (row["finding_id"], row["rule"]) == ("F2", "exhunt.proxylogon.ssrf")
    assert row["windows_path"] == (
        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Logging\\HttpProxy\\Ecp\\"
        "HttpProxy_2021030306-1.LOG"
    )
    assert row["indicators"] == "104.140.114.110 | ExchangeServicesClient/0.0.0.0 | /ecp/z.js"
    assert row["excerpt"].startswith(
        "2021-03-03T06:51:30.016Z,8009cd2d-85b5-45d6-8be7-0f74e8066ee1,"
    )


def test_file_events_say_the_time_is_a_modification_time() -> None:
    rows = _rows(render(load("compromised"), "csv"))
    dump = next(r for r in rows if r["path"] == "C/Windows/Temp/lsass.dmp")
    assert dump["timestamp_desc"] == "File modified"
    assert dump["data_type"] == "exhunt:fs:file"
    assert dump["message"] == "LSASS dump C:\\Windows\\Temp\\lsass.dmp"
    assert (dump["finding_id"], dump["severity"], dump["line"]) == ("F3", "high", "")


def test_a_line_of_two_findings_is_one_event_naming_both() -> None:
    document = load("attempted")
    data = document.to_dict()
    second = data["findings"][1]
    second["evidence"].append(dict(data["findings"][0]["evidence"][0]))
    events = build_events(ScanDocument.model_validate(data))
    shared = [e for e in events if e.finding_ids == ("F1", "F2")]
    assert len(shared) == 1
    assert shared[0].severity.value == "high"  # the most severe of the two
    assert shared[0].rules == ("exhunt.proxynotshell.ssrf",)
    assert len(events) == 7


def test_timeline_entries_no_finding_lists_still_become_events() -> None:
    data = load("attempted").to_dict()
    data["findings"][0]["evidence"] = data["findings"][0]["evidence"][:1]  # capped, as at 1,000
    events = build_events(ScanDocument.model_validate(data))
    assert len(events) == 7
    owassrf = next(e for e in events if e.line == 2215)
    assert owassrf.finding_ids == ("F1",)
    assert owassrf.rules == ("exhunt.proxynotshell.ssrf",)
    assert owassrf.excerpt is None
    assert owassrf.message.startswith("POST /owa/mastermailbox%40outlook.com/powershell 401")


def test_events_without_a_time_stay_in_the_csv_not_in_timesketch() -> None:
    data = load("compromised").to_dict()
    data["findings"][2]["evidence"][0]["time"] = None  # the LSASS dump's time unreadable
    data["timeline"] = [t for t in data["timeline"] if t["path"] != "C/Windows/Temp/lsass.dmp"]
    document = ScanDocument.model_validate(data)
    rows = _rows(render(document, "csv"))
    assert len(rows) == 78
    assert rows[-1]["path"] == "C/Windows/Temp/lsass.dmp" and rows[-1]["datetime"] == ""
    assert len(_events(render(document, "timesketch"))) == 77


def test_timesketch_lines_have_the_required_fields() -> None:
    events = _events(render(load("compromised"), "timesketch"))
    assert len(events) == 78
    for event in events:
        assert all(isinstance(event[k], str) and event[k] for k in TIMESKETCH_REQUIRED)
        when = datetime.fromisoformat(str(event["datetime"]))
        assert when.tzinfo is not None
        assert event["timestamp"] == int(when.timestamp() * 1_000_000)
    shell = [e for e in events if "F1" in e["finding_id"]]  # type: ignore[operator]
    assert len(shell) == 51
    assert {e["severity"] for e in shell} == {"critical"}
    web = next(e for e in shell if e["data_type"] == "exhunt:iis:w3c")
    assert web["indicators"] == [
        "104.140.114.110",
        "python-requests/2.25.1",
        "/owa/auth/RedirSuiteServerProxy.aspx",
    ]


def test_timesketch_times_are_in_order() -> None:
    events = _events(render(load("compromised"), "timesketch"))
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert events[0]["datetime"] == "2020-12-02T05:20:39+00:00"


def test_clean_server_has_its_one_informational_event() -> None:
    rows = _rows(render(load("clean"), "csv"))
    assert [(r["finding_id"], r["severity"], r["timestamp_desc"]) for r in rows] == [
        ("F1", "info", "File modified")
    ]


def test_several_servers_share_one_header_and_one_jsonl() -> None:
    documents = [load("compromised"), load("attempted")]
    rows = _rows(render_many(documents, "csv"))
    assert len(rows) == 78 + 7
    assert {r["host"] for r in rows} == {"EXCH01", "EXCH19"}
    lines = render_many(documents, "timesketch").splitlines()
    assert len(lines) == 85


def test_utc_microseconds_of_a_time() -> None:
    from exhunt.report.timesketch import iso_time, microseconds

    when = datetime(2021, 3, 3, 6, 51, 30, 16000, tzinfo=UTC)
    assert microseconds(when) == 1614754290016000
    assert iso_time(when) == "2021-03-03T06:51:30.016000+00:00"
    assert microseconds(None) is None and iso_time(None) == ""
