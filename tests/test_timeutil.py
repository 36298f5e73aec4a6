"""Times in every document and report: ISO-8601 UTC with Z, milliseconds when there are any,
and text that reads back to the same text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from exhunt.timeutil import format_time, parse_time


def test_formats() -> None:
    assert format_time(datetime(2021, 3, 3, 6, 51, 30, tzinfo=UTC)) == "2021-03-03T06:51:30Z"
    at = datetime(2021, 3, 3, 6, 51, 30, 16000, tzinfo=UTC)
    assert format_time(at) == "2021-03-03T06:51:30.016Z"
    # less than a millisecond past the second: no ".000"
    assert format_time(at.replace(microsecond=400)) == "2021-03-03T06:51:30Z"
    east = datetime(2021, 3, 3, 8, 51, 30, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(east) == "2021-03-03T06:51:30Z"


@given(st.datetimes(timezones=st.just(UTC)))
def test_text_reads_back_to_the_same_text(value: datetime) -> None:
    text = format_time(value)
    assert format_time(parse_time(text)) == text
