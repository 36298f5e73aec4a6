"""Each format rendered from each canned document matches its golden file byte for byte.

Run with ``EXHUNT_UPDATE_GOLDEN=1`` to write the golden files again after an intended change,
then read the diff before committing it.
"""

from __future__ import annotations

import json
import os

import pytest
from report_documents import FORMATS, GOLDEN, NAMES, load

from exhunt.report.formats import FORMATS as REGISTERED
from exhunt.report.formats import RenderOptions, render

UPDATE = os.environ.get("EXHUNT_UPDATE_GOLDEN") == "1"
REGENERATE = "an intended change? EXHUNT_UPDATE_GOLDEN=1 pytest tests/report, then read the diff"


def test_every_format_is_registered() -> None:
    assert REGISTERED.names() == sorted(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str, fmt: str) -> None:
    golden = GOLDEN / f"{name}.{FORMATS[fmt]}"
    text = render(load(name), fmt, RenderOptions())
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    expected = golden.read_bytes().decode("utf-8")
    if fmt == "json":
        # The schema grows (fields are added with empty defaults, never renamed): compare every
        # value that is set, so another part's new field does not invalidate this file.
        assert _set_values(json.loads(text)) == _set_values(json.loads(expected)), REGENERATE
        assert text.endswith("}\n")
    else:
        assert text == expected, REGENERATE


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_rendering_is_repeatable(fmt: str) -> None:
    # Golden files are only worth having if nothing depends on the clock or on dict order.
    document = load("compromised")
    assert render(document, fmt) == render(load("compromised"), fmt)


def _set_values(value: object) -> object:
    """``value`` without the keys whose value is empty (None, false, "", [], {})."""
    if isinstance(value, dict):
        pruned = {key: _set_values(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, False, "", [], {})}
    if isinstance(value, list):
        return [_set_values(item) for item in value]
    return value
