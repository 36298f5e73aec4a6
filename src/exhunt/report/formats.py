"""Report formats register here; each renders a :class:`~exhunt.document.ScanDocument` to text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exhunt.document import ScanDocument
from exhunt.registry import Registry


@dataclass(frozen=True, slots=True)
class RenderOptions:
    verbose: bool = False
    width: int = 80


Renderer = Callable[[ScanDocument, RenderOptions], str]
FORMATS: Registry[Renderer] = Registry("report format", "exhunt.report")


def render(document: ScanDocument, name: str, options: RenderOptions | None = None) -> str:
    return FORMATS.get(name)(document, options or RenderOptions())
