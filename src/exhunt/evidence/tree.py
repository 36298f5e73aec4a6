"""The folder tree of the evidence, built from its file list, with case-insensitive lookups.

Windows paths are case-insensitive and collections keep the case the server had, so every
lookup by name here ignores case while the original names are kept for output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class Folder:
    """One folder of the evidence: its children by lower-case name, and its file count."""

    rel: str
    children: dict[str, str] = field(default_factory=dict)
    """Lower-case name -> name on disk, for sub-folders and files alike."""
    folders: set[str] = field(default_factory=set)
    """Lower-case names of the sub-folders."""
    files: int = 0
    """Files anywhere below this folder."""


class Tree:
    """Folders of the evidence derived from the relative paths of its files."""

    def __init__(self, rels: Iterable[str]) -> None:
        self.folders: dict[str, Folder] = {"": Folder("")}
        for rel in rels:
            parent, _, name = rel.rpartition("/")
            folder = self.folders.get(parent) or self._make(parent)
            folder.children.setdefault(name.lower(), name)
            folder.files += 1
        # Counts so far are of direct files; add each folder's to its parent, deepest first.
        for rel in sorted(self.folders, key=lambda r: r.count("/") if r else -1, reverse=True):
            if rel:
                self.folders[rel.rpartition("/")[0]].files += self.folders[rel].files

    def _make(self, rel: str) -> Folder:
        parent, _, name = rel.rpartition("/")
        above = self.folders.get(parent) or self._make(parent)
        above.children.setdefault(name.lower(), name)
        above.folders.add(name.lower())
        folder = self.folders[rel] = Folder(rel)
        return folder

    def __iter__(self) -> Iterator[Folder]:
        return iter(self.folders.values())

    def get(self, rel: str) -> Folder | None:
        """The folder at ``rel`` (exact case), if it holds files."""
        return self.folders.get(rel)

    def child(self, rel: str, name: str) -> str | None:
        """The rel of sub-folder ``name`` (any case) of folder ``rel``, if present."""
        folder = self.folders.get(rel)
        if folder is None or name.lower() not in folder.folders:
            return None
        real = folder.children[name.lower()]
        return f"{rel}/{real}" if rel else real

    def descend(self, rel: str, names: Iterable[str]) -> str | None:
        """Follow sub-folder ``names`` (any case) from ``rel``; None when one is missing."""
        current: str | None = rel
        for name in names:
            if current is None:
                return None
            current = self.child(current, name)
        return current

    def lookup(self, rel: str) -> str | None:
        """The rel on disk of a folder given in any case."""
        if rel in self.folders:
            return rel
        return self.descend("", [part for part in rel.split("/") if part])

    def depth(self, rel: str) -> int:
        """Number of components in ``rel``."""
        return rel.count("/") + 1 if rel else 0


def is_under(rel: str, folder: str) -> bool:
    """Whether ``rel`` is ``folder`` or below it, ignoring case (``''`` holds everything)."""
    if not folder:
        return True
    rel_l, folder_l = rel.lower(), folder.lower()
    return rel_l == folder_l or rel_l.startswith(folder_l + "/")
