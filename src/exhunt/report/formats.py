"""Report formats register here; each renders a :class:`~exhunt.document.ScanDocument` to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from exhunt.document import ScanDocument
from exhunt.registry import Registry


@dataclass(frozen=True, slots=True)
class RenderOptions:
    verbose: bool = False
    width: int = 80


Renderer = Callable[[ScanDocument, RenderOptions], str]
Combiner = Callable[[Sequence[ScanDocument], RenderOptions], str]
FORMATS: Registry[Renderer] = Registry("report format", "exhunt.report")
COMBINERS: Registry[Combiner] = Registry("report format for several servers", "exhunt.report")
"""Formats that hold several servers' documents in one output register here too."""
SEPARATOR = "\n" + "=" * 80 + "\n\n"


def render(document: ScanDocument, name: str, options: RenderOptions | None = None) -> str:
    return FORMATS.get(name)(document, options or RenderOptions())


def render_many(
    documents: Sequence[ScanDocument], name: str, options: RenderOptions | None = None
) -> str:
    """One report for several servers: combined where the format can, else one after another."""
    options = options or RenderOptions()
    renderer = FORMATS.get(name)
    if len(documents) != 1 and name in COMBINERS.names():
        return COMBINERS.get(name)(documents, options)
    return SEPARATOR.join(renderer(document, options) for document in documents)
