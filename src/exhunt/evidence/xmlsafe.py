"""Parse IIS configuration XML with the standard library, safely, and salvage broken files.

Configuration files in evidence may have been written by an attacker. The parser refuses any
DOCTYPE (so no entity, internal or external, is ever expanded: no billion laughs, no external
fetch) and a file that is not well formed is not given up on: the sections that matter are cut
out and parsed on their own, with a warning saying so.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Final
from xml.parsers import expat

MAX_CONFIG_BYTES: Final = 32 * 1024 * 1024
"""Configuration files larger than this are cut (real applicationHost.config: ~200 KB)."""

_DECLARED: Final = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class XmlRefusedError(ValueError):
    """The document uses a construct exhunt does not parse (a DOCTYPE or entity)."""


def decode(data: bytes) -> str:
    """Decode configuration bytes: BOM first, then the declared encoding, then UTF-8."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, "replace")
    match = _DECLARED.match(data)
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"), "replace")
        except LookupError:
            pass
    return data.decode("utf-8", "replace")


def parse(text: str) -> ET.Element:
    """Parse a whole document or fragment into an element tree.

    Raises:
        XmlRefusedError: the text declares a DOCTYPE or entities.
        expat.ExpatError: the text is not well-formed XML.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(encoding="UTF-8")  # overrides the declaration: text is decoded
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.Parse(text.encode("utf-8", "replace"), True)
    return builder.close()


def _refuse_doctype(*_: object) -> None:
    raise XmlRefusedError("DOCTYPE declarations are not accepted in configuration files")


def _refuse_entity(*_: object) -> None:
    raise XmlRefusedError("entity declarations are not accepted in configuration files")


def describe_error(exc: Exception) -> str:
    """A one-line description of a parse failure."""
    if isinstance(exc, expat.ExpatError):
        return f"not well-formed XML: {expat.errors.messages[exc.code]} at line {exc.lineno}"
    return str(exc)


def fragments(text: str, tag: str) -> Iterator[str]:
    """Each ``<tag ...>...</tag>`` (or ``<tag/>``) block of ``text``, for salvage parsing.

    Blocks are cut by text search, not parsed: nested same-name tags end at the first close.
    """
    start_pattern = re.compile(rf"<{re.escape(tag)}(?=[\s/>])")
    end_tag = f"</{tag}>"
    pos = 0
    while match := start_pattern.search(text, pos):
        head_end = text.find(">", match.end())
        if head_end < 0:
            return
        if text[head_end - 1] == "/":
            yield text[match.start() : head_end + 1]
            pos = head_end + 1
            continue
        end = text.find(end_tag, head_end)
        if end < 0:
            return
        yield text[match.start() : end + len(end_tag)]
        pos = end + len(end_tag)


def salvage(
    text: str, tag: str, warnings: list[str], inner: tuple[str, ...] = ()
) -> list[ET.Element]:
    """Parse every ``tag`` block of a broken document on its own.

    A block that still fails is recovered from its ``inner`` sections, each parsed alone and
    put back under an element named ``tag``; what cannot be recovered becomes a warning.
    """
    found: list[ET.Element] = []
    for number, block in enumerate(fragments(text, tag), start=1):
        try:
            found.append(parse(block))
        except (expat.ExpatError, XmlRefusedError) as exc:
            warnings.append(f"<{tag}> block {number} is damaged: {describe_error(exc)}")
            if inner:
                found.append(_from_inner(block, tag, inner, warnings))
    return found


def _from_inner(block: str, tag: str, inner: tuple[str, ...], warnings: list[str]) -> ET.Element:
    element = ET.Element(tag)
    for name in inner:
        for part in fragments(block, name):
            try:
                element.append(parse(part))
            except (expat.ExpatError, XmlRefusedError) as exc:
                warnings.append(f"<{name}> inside <{tag}> lost: {describe_error(exc)}")
    return element


def flag(value: str | None, default: bool, warnings: list[str], what: str) -> bool:
    """An IIS boolean attribute (``true``/``false``, any case); odd values keep the default."""
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    warnings.append(f"{what}: {value[:40]!r} is not true or false; taken as {default}")
    return default
