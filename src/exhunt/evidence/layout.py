"""Recognise where each Windows drive's root is in a collection, whatever tool made it.

Layouts seen in the field:

* folder copies and KAPE targets: ``C/``, ``D/`` (possibly below a case or host folder);
* acquire (fox-it): ``fs/C:/`` and ``fs/sysvol/`` (the system volume);
* Velociraptor offline collections: ``uploads/auto/C%3A/`` and
  ``uploads/ntfs/%5C%5C.%5CC%3A/``, every name below them percent-encoded;
* one drive's root itself, holding ``Windows/``, ``Program Files/``, ``inetpub/``.

A drive may have several roots (Velociraptor's ``auto`` and ``ntfs`` accessors side by side);
every one of them is mapped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from exhunt.evidence.tree import Tree, is_under

log = logging.getLogger(__name__)

MAX_ROOT_DEPTH: Final = 5
"""Deepest plain ``C`` or ``sysvol`` folder taken as a drive root (``case/host/kape/out/C``).
Names only collection tools write (``C%3A``, ``C:``) are taken at any depth."""

VOLUME_MARKERS: Final = frozenset(
    {
        "windows",
        "program files",
        "program files (x86)",
        "programdata",
        "users",
        "inetpub",
        "$mft",
        "$extend",
        "$recycle.bin",
        "system volume information",
        "pagefile.sys",
        "exchange",
        "exchange server",
    }
)
"""Children that show a folder is a volume's root."""

_SYSTEM_MARKERS: Final = frozenset({"windows", "program files", "inetpub", "programdata", "users"})

_NAME_FORMS: Final = (
    (re.compile(r"^%5C%5C\.%5C([A-Za-z])%3A$", re.IGNORECASE), True, "Velociraptor device folder"),
    (re.compile(r"^([A-Za-z])%3A$", re.IGNORECASE), True, "Velociraptor drive folder"),
    (re.compile(r"^\\\\\.\\([A-Za-z]):$"), False, "device folder"),
    (re.compile(r"^([A-Za-z]):$"), False, "acquire drive folder"),
)
_LETTER: Final = re.compile(r"^[A-Za-z]$")


@dataclass(frozen=True, slots=True)
class DriveRoot:
    """Where one drive's root is in the evidence.

    Attributes:
        letter: upper-case drive letter, or None while unknown (a bare volume root).
        rel: relative path of the root ('' when the evidence root is the volume).
        encoded: names below are percent-encoded (Velociraptor).
        how: how the root was recognised, for the document.
    """

    letter: str | None
    rel: str
    encoded: bool
    how: str
    system: bool = False
    """The root holds ``Windows`` (or is acquire's ``sysvol``): the system drive."""


def find_drive_roots(tree: Tree) -> list[DriveRoot]:
    """Every drive root in the evidence, shallowest first, none inside another."""
    roots: list[DriveRoot] = []
    for folder in sorted(tree, key=lambda f: (tree.depth(f.rel), f.rel)):
        depth = tree.depth(folder.rel)
        if depth == 0 or _inside(folder.rel, roots):
            continue
        root = _named_root(tree, folder.rel, depth <= MAX_ROOT_DEPTH)
        if root is not None:
            roots.append(root)
    roots.extend(_letter_siblings(tree, roots))
    if not roots:
        roots.extend(_bare_volume_roots(tree))
    return roots


def _inside(rel: str, roots: list[DriveRoot]) -> bool:
    return any(is_under(rel, root.rel) for root in roots)


def _named_root(tree: Tree, rel: str, shallow: bool) -> DriveRoot | None:
    name = rel.rsplit("/", 1)[-1]
    system = _has_windows(tree, rel)
    for pattern, encoded, how in _NAME_FORMS:
        match = pattern.match(name)
        if match:
            return DriveRoot(match.group(1).upper(), rel, encoded, how, system)
    if not shallow:
        return None
    if name.lower() == "sysvol" and _parent_name(rel) in ("fs", ""):
        return DriveRoot(None, rel, False, "acquire system volume", True)
    if _LETTER.match(name) and _looks_like_volume(tree, rel, 1):
        return DriveRoot(name.upper(), rel, False, "drive folder", system)
    return None


def _parent_name(rel: str) -> str:
    parts = rel.lower().split("/")
    return parts[-2] if len(parts) > 1 else ""


def _has_windows(tree: Tree, rel: str) -> bool:
    folder = tree.get(rel)
    return folder is not None and "windows" in folder.folders


def _looks_like_volume(tree: Tree, rel: str, needed: int) -> bool:
    folder = tree.get(rel)
    return folder is not None and len(VOLUME_MARKERS & folder.children.keys()) >= needed


def _letter_siblings(tree: Tree, roots: list[DriveRoot]) -> list[DriveRoot]:
    """Single-letter folders beside a recognised ``C``-style drive folder (KAPE's ``D/``)."""
    found: list[DriveRoot] = []
    parents = {_parent_rel(r.rel) for r in roots if r.how == "drive folder"}
    for parent in parents:
        folder = tree.get(parent)
        if folder is None:
            continue
        for lower in sorted(folder.folders):
            rel = f"{parent}/{folder.children[lower]}" if parent else folder.children[lower]
            if _LETTER.match(lower) and not _inside(rel, roots + found):
                system = _has_windows(tree, rel)
                found.append(DriveRoot(lower.upper(), rel, False, "drive folder", system))
    return found


def _parent_rel(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _bare_volume_roots(tree: Tree) -> list[DriveRoot]:
    """The evidence root, or a folder one or two levels down, that is a volume's root."""
    for folder in sorted(tree, key=lambda f: (tree.depth(f.rel), f.rel)):
        if tree.depth(folder.rel) > 2:
            break
        markers = _SYSTEM_MARKERS & folder.folders
        if len(markers) >= 2 or "windows" in markers:
            how = "volume root (" + ", ".join(sorted(folder.children[m] for m in markers)) + ")"
            return [DriveRoot(None, folder.rel, False, how, "windows" in markers)]
    return []


def settle_letters(roots: list[DriveRoot], system_drive: str | None) -> list[DriveRoot]:
    """Give roots of unknown letter the system drive's letter when they are the system volume.

    Roots still without a letter are dropped: without one no Windows path can be formed.
    """
    settled: list[DriveRoot] = []
    for root in roots:
        if root.letter is None and root.system and system_drive:
            root = replace(root, letter=system_drive, how=f"{root.how}, taken as {system_drive}:")
        if root.letter is not None:
            settled.append(root)
    return settled


def system_drive_of(roots: list[DriveRoot]) -> str | None:
    """The letter of the lettered root that holds ``Windows``, C preferred."""
    letters = sorted({r.letter for r in roots if r.system and r.letter}, key=lambda x: x != "C")
    return letters[0] if letters else None


def find_host(tree: Tree, read: Callable[[str], bytes | None]) -> str | None:
    """The host name a Velociraptor collection records in its ``client_info.json``.

    Args:
        tree: the evidence's folders.
        read: returns the bytes of a file by rel (bounded), or None.
    """
    collections = [f for f in tree if "uploads" in f.folders and "client_info.json" in f.children]
    for folder in sorted(collections, key=lambda f: (tree.depth(f.rel), f.rel)):
        name = folder.children["client_info.json"]
        data = read(f"{folder.rel}/{name}" if folder.rel else name)
        host = _host_from_client_info(data) if data else None
        if host:
            return host
    return None


def _host_from_client_info(data: bytes) -> str | None:
    try:
        info = json.loads(data.decode("utf-8-sig", "replace"))
    except ValueError:
        log.warning("client_info.json is not valid JSON; host name unknown")
        return None
    if not isinstance(info, dict):
        return None
    for key in ("Hostname", "hostname", "Fqdn", "fqdn"):
        value = info.get(key)
        if isinstance(value, str) and (clean := _clean_host(value)):
            return clean
    return None


def _clean_host(value: str) -> str | None:
    # The file is written on the collected host: keep only what a host name can hold.
    clean = "".join(char for char in value.strip() if char.isalnum() or char in "-._")
    return clean[:255] or None
