"""Document -> JSON -> document is exact, for the canned documents and the hostile one."""

from __future__ import annotations

import json

import pytest
from report_documents import DOCUMENTS, FORMATS, NAMES, hostile_document, load

from exhunt.document import ScanDocument
from exhunt.report.formats import render


@pytest.mark.parametrize("name", NAMES)
def test_saved_document_round_trips(name: str) -> None:
    saved = (DOCUMENTS / f"{name}.json").read_text("utf-8")
    document = ScanDocument.from_json(saved)
    again = ScanDocument.from_json(document.to_json())
    assert again == document
    assert again.to_json() == document.to_json()
    # Every value saved comes back unchanged (fields added to the schema since only add keys).
    assert _missing(json.loads(saved), again.to_dict()) == []


def _missing(saved: object, loaded: object, where: str = "") -> list[str]:
    """Paths of values in ``saved`` that ``loaded`` lacks or changed."""
    if isinstance(saved, dict) and isinstance(loaded, dict):
        return [
            p
            for key, value in saved.items()
            for p in _missing(value, loaded.get(key), f"{where}.{key}")
        ]
    if isinstance(saved, list) and isinstance(loaded, list) and len(saved) == len(loaded):
        return [
            p
            for n, (a, b) in enumerate(zip(saved, loaded, strict=True))
            for p in _missing(a, b, f"{where}[{n}]")
        ]
    return [] if saved == loaded else [where]


@pytest.mark.parametrize("name", NAMES)
def test_json_report_reads_back_as_the_same_document(name: str) -> None:
    document = load(name)
    assert ScanDocument.from_json(render(document, "json")) == document


def test_hostile_document_round_trips_exactly() -> None:
    document = hostile_document()
    text = render(document, "json")
    again = ScanDocument.from_json(text)
    assert again == document
    assert again.verdict.reasons == document.verdict.reasons  # every payload, unchanged
    for fmt in FORMATS:
        assert render(again, fmt) == render(document, fmt)
