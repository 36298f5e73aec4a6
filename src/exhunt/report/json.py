"""The result document as JSON: exactly one object, the contract other tools read."""

from __future__ import annotations

from exhunt.document import ScanDocument
from exhunt.report.formats import FORMATS, RenderOptions


@FORMATS.register("json")
def render(document: ScanDocument, options: RenderOptions) -> str:
    return document.to_json(indent=2) + "\n"
