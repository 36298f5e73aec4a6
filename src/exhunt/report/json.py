"""The result document as JSON: exactly one object, the contract other tools read."""

from __future__ import annotations

import json
from collections.abc import Sequence

from exhunt.document import ScanDocument
from exhunt.report.escape import json_text
from exhunt.report.formats import COMBINERS, FORMATS, RenderOptions


@FORMATS.register("json")
def render(document: ScanDocument, options: RenderOptions) -> str:
    return json_text(document.to_json(indent=2)) + "\n"


@COMBINERS.register("json")
def render_many(documents: Sequence[ScanDocument], options: RenderOptions) -> str:
    """Several documents as one JSON array (every non-ASCII character escaped)."""
    return json.dumps([d.to_dict() for d in documents], indent=2) + "\n"
