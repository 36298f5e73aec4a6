"""The HTML report as a parser sees it: elements, attributes and text, for exact assertions."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

EMITTED = frozenset(
    {
        "html", "head", "meta", "title", "style", "body", "section", "h1", "h2", "h3", "p", "div",
        "ul", "ol", "li", "strong", "code", "a", "br", "span", "dl", "dt", "dd", "table", "col",
        "thead", "tbody", "tr", "th", "td", "article", "footer",
        # the timeline picture
        "svg", "defs", "pattern", "rect", "line", "text", "circle",
    }
)  # fmt: skip
"""Every element the report writes; anything else came from the document."""


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


class Page(HTMLParser):
    """Elements with their attributes, text outside ``<style>``, and the stylesheets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.styles if self._in_style else self.text).append(data)

    def tags(self) -> set[str]:
        return {e.tag for e in self.elements}

    def with_class(self, tag: str, name: str) -> list[Element]:
        return [
            e for e in self.elements if e.tag == tag and name in e.attrs.get("class", "").split()
        ]

    def attribute_names(self) -> set[str]:
        return {name for e in self.elements for name in e.attrs}


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page
