"""Coverage: per log type figures, gaps inside a stream's span, truncated files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exhunt.findings.coverage import FileSpan, build_coverage

DAY = datetime(2021, 3, 1, tzinfo=UTC)


def iis(day: int, site: int = 1, truncated: bool = False, records: int = 100) -> FileSpan:
    start = DAY + timedelta(days=day)
    return FileSpan(
        artifact="iis.w3c",
        path=f"C/inetpub/logs/LogFiles/W3SVC{site}/u_ex2103{day + 1:02d}.log",
        records=records,
        bad_records=1 if truncated else 0,
        first=start,
        last=start + timedelta(hours=23, minutes=59),
        truncated=truncated,
    )


def test_figures_per_artifact_type() -> None:
    coverage = build_coverage([iis(0), iis(1, records=50), iis(0, site=2)])
    [entry] = coverage.artifacts
    assert (entry.type, entry.files, entry.records, entry.bad_records) == ("iis.w3c", 3, 250, 0)
    assert entry.first == DAY
    assert entry.last == DAY + timedelta(days=1, hours=23, minutes=59)


def test_a_missing_day_is_a_gap_of_its_site_only() -> None:
    coverage = build_coverage([iis(0), iis(2), iis(0, site=2), iis(1, site=2), iis(2, site=2)])
    [gap] = coverage.gaps
    assert gap.type == "iis.w3c W3SVC1"
    assert gap.from_ == DAY + timedelta(hours=23, minutes=59)
    assert gap.to == DAY + timedelta(days=2)
    assert gap.reason == "no log for 24.0 hours"
    assert not gap.expected


def test_silence_under_the_threshold_is_no_gap() -> None:
    spans = [iis(0), iis(1)]
    assert build_coverage(spans, threshold=timedelta(hours=1)).gaps == []


def test_truncated_newest_file_is_expected_an_older_one_is_not() -> None:
    coverage = build_coverage([iis(0, truncated=True), iis(1), iis(2, truncated=True)])
    truncations = {gap.path: gap.expected for gap in coverage.gaps}
    assert truncations == {
        "C/inetpub/logs/LogFiles/W3SVC1/u_ex210301.log": False,
        "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log": True,
    }


def test_sparse_logs_have_no_time_gaps() -> None:
    spans = [
        FileSpan("exchange.ecp_server", f"ECPServer2021030{d}-1.LOG", 3, 0, DAY + timedelta(days=d),
                 DAY + timedelta(days=d, hours=1), False)
        for d in (1, 5)
    ]  # fmt: skip
    assert build_coverage(spans).gaps == []
