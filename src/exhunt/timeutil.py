"""UTC time helpers. Exchange and IIS write their logs in UTC; exhunt keeps every time aware."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(value: datetime) -> str:
    """ISO-8601 in UTC with ``Z``, milliseconds only when the value has them."""
    value = value.astimezone(UTC)
    # Decided on whole milliseconds: a value 400 microseconds past the second would print
    # ".000" and read back as a different text.
    spec = "milliseconds" if value.microsecond >= 1000 else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time; a time without zone is taken as UTC.

    Raises:
        ValueError: the text is not an ISO-8601 time.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
