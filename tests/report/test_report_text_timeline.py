"""The text report's timeline: one line per request that several logs record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exhunt.document import TimelineEntry
from exhunt.report.text import merge_repeats

T0 = datetime(2021, 3, 3, 6, 51, 30, tzinfo=UTC)
FRONT = "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"
PROXY = "Exchange/Logging/HttpProxy/Ecp/HttpProxy_2021030306-1.LOG"


def _entry(
    ms: int, path: str, summary: str = "POST /ecp/y.js 200", ids: tuple[str, ...] = ("F1",)
) -> TimelineEntry:
    return TimelineEntry(
        time=T0 + timedelta(milliseconds=ms),
        source="iis.w3c",
        summary=summary,
        finding_ids=list(ids),
        path=path,
        line=ms,
    )


def _shape(merged: list[tuple[TimelineEntry, int]]) -> list[tuple[int, str, int]]:
    return [(int((e.time - T0).total_seconds() * 1000), e.path or "", n) for e, n in merged]


def test_one_request_in_two_logs_is_one_line() -> None:
    merged = merge_repeats([_entry(0, FRONT), _entry(16, PROXY)])
    assert _shape(merged) == [(0, FRONT, 2)]


def test_repeats_in_one_log_stay_apart() -> None:
    timeline = [_entry(0, FRONT), _entry(5, FRONT), _entry(16, PROXY), _entry(20, PROXY)]
    assert _shape(merge_repeats(timeline)) == [(0, FRONT, 2), (5, FRONT, 2)]


def test_other_summaries_findings_and_later_times_stay_apart() -> None:
    timeline = [
        _entry(0, FRONT),
        _entry(10, PROXY, summary="POST /ecp/other.js 200"),
        _entry(20, PROXY, ids=("F2",)),
        _entry(2500, PROXY),
    ]
    assert _shape(merge_repeats(timeline)) == [
        (0, FRONT, 1),
        (10, PROXY, 1),
        (20, PROXY, 1),
        (2500, PROXY, 1),
    ]
