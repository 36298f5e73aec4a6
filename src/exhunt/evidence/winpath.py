"""Windows paths: normalising, expanding ``%variables%`` and mapping evidence paths to them.

An evidence path gets a Windows path from a drive root (``C/...`` -> ``C:\\...``), or from an
anchor: an evidence folder whose Windows path was learned elsewhere (applicationHost.config
names ``D:\\Exchange\\V15\\FrontEnd\\HttpProxy\\owa``, so the evidence folder ``V15`` is
``D:\\Exchange\\V15``). Percent-encoded names of Velociraptor collections are decoded here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from exhunt.evidence.layout import DriveRoot
from exhunt.evidence.tree import is_under

_VARIABLE: Final = re.compile(r"%([A-Za-z_][A-Za-z0-9_()]*)%")
_PREFIXES: Final = ("\\\\?\\", "\\\\.\\", "\\??\\")
_DRIVE: Final = re.compile(r"^([A-Za-z]):(?:\\|$)")


@dataclass(frozen=True, slots=True)
class Anchor:
    """An evidence folder whose Windows path is known from configuration, not from layout."""

    rel: str
    windows: str
    how: str


def expand(path: str, variables: Mapping[str, str]) -> str:
    """Replace ``%Name%`` variables (any case) that ``variables`` knows; keep the others.

    ``%ExchangeInstallDir%`` ends with a backslash like the registry's ``MsiInstallPath``, so
    the doubled separator it leaves is collapsed by :func:`clean`.
    """
    lowered = {name.lower(): value for name, value in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        return lowered.get(match.group(1).lower(), match.group(0))

    return clean(_VARIABLE.sub(substitute, path))


def clean(path: str) -> str:
    """Backslashes only, no doubled separators, no ``\\\\?\\`` prefix, no trailing backslash
    (except after a bare drive: ``C:\\``)."""
    text = path.strip().strip('"').replace("/", "\\")
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = re.sub(r"\\{2,}", "\\\\", text).rstrip("\\")
    return text + "\\" if re.fullmatch(r"[A-Za-z]:", text) else text


def key(path: str) -> str:
    """Case-folded form of a cleaned Windows path, for lookups."""
    return clean(path).rstrip("\\").lower()


def join(base: str, parts: Sequence[str]) -> str:
    """Join Windows path components onto ``base``."""
    base = base.rstrip("\\")
    return "\\".join([base, *parts]) if parts else (base + "\\" if base.endswith(":") else base)


def drive_letter(path: str) -> str | None:
    """The upper-case drive letter of a cleaned Windows path, if it has one."""
    match = _DRIVE.match(path)
    return match.group(1).upper() if match else None


class PathMapper:
    """Maps evidence paths to Windows paths through drive roots and anchors."""

    def __init__(self, roots: Sequence[DriveRoot], anchors: Sequence[Anchor] = ()) -> None:
        self.roots = sorted(roots, key=lambda r: len(r.rel), reverse=True)
        self.anchors = sorted(anchors, key=lambda a: len(a.rel), reverse=True)

    def windows_path(self, rel: str) -> str | None:
        """The Windows path of the evidence file or folder ``rel``, where known."""
        for root in self.roots:
            if root.letter and is_under(rel, root.rel):
                parts = _rest(rel, root.rel)
                if root.encoded:
                    parts = [unquote(part) for part in parts]
                return join(f"{root.letter}:", parts)
        for anchor in self.anchors:
            if is_under(rel, anchor.rel):
                return join(anchor.windows, _rest(rel, anchor.rel))
        return None

    def mapped(self, rel: str) -> bool:
        """Whether ``rel`` lies under a drive root (anchors do not count)."""
        return any(root.letter and is_under(rel, root.rel) for root in self.roots)


def _rest(rel: str, prefix: str) -> list[str]:
    if not prefix:
        return rel.split("/") if rel else []
    tail = rel[len(prefix) + 1 :]
    return tail.split("/") if tail else []
