"""Fleet outputs carry attacker text: terminals see escapes, spreadsheets never run a cell,
JSON stays ASCII."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from exhunt.fleet.render import render_pivot, table
from exhunt.store import Pivot

AGENT = '=HYPERLINK("http://x")\x1b[2J\u202eevil'
FIRST = datetime(2021, 3, 3, 7, 15, tzinfo=UTC)
LAST = datetime(2021, 3, 4, 1, 2, 3, 500000, tzinfo=UTC)
PIVOT = Pivot("user_agent", AGENT, ("Contoso", "Fabrikam"), 3, 4, FIRST, LAST)


def test_text_shows_control_and_direction_characters_as_escapes() -> None:
    text = render_pivot([PIVOT], "text")
    assert "\x1b" not in text and "\u202e" not in text
    assert '=HYPERLINK("http://x")\\x1b[2J\\u202eevil' in text
    assert text.splitlines()[2].split("  ")[-1] == (
        "Contoso, Fabrikam (+3 outside your organisations)"
    )


def test_csv_cells_never_start_a_formula() -> None:
    [row] = list(csv.DictReader(io.StringIO(render_pivot([PIVOT], "csv"))))
    assert row == {
        "kind": "user_agent",
        "value": '\'=HYPERLINK("http://x")\\x1b[2J\\u202eevil',
        "organisations": "Contoso;Fabrikam",
        "other_organisations": "3",
        "hosts": "4",
        "first_seen": "2021-03-03T07:15:00Z",
        "last_seen": "2021-03-04T01:02:03.500Z",
    }


def test_json_is_ascii_and_keeps_the_value() -> None:
    text = render_pivot([PIVOT], "json")
    assert text.isascii()
    assert json.loads(text) == [{
        "kind": "user_agent", "value": AGENT, "organisations": ["Contoso", "Fabrikam"],
        "other_organisations": 3, "hosts": 4, "first_seen": "2021-03-03T07:15:00Z",
        "last_seen": "2021-03-04T01:02:03.500Z",
    }]  # fmt: skip


def test_tables_align_columns() -> None:
    assert table(("A", "LONGER"), [("x", 1), ("yyyy", None)]) == ("A     LONGER\nx     1\nyyyy  -")
