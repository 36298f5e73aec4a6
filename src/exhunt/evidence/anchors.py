"""Learn Windows paths of evidence folders that lie under no drive root, from IIS configuration.

When the evidence is just an install folder and a log folder copied out of a server, nothing in
the layout says where they were. applicationHost.config does: its virtual directories name the
install folder's real path, and its log settings name the log folders. Matches must be specific
(at least three trailing names, or a ``W3SVC<n>`` folder) so that an unrelated folder of the
same name is not mapped.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Final

from exhunt.evidence import winpath
from exhunt.evidence.iisconfig import IisConfig
from exhunt.evidence.tree import Tree, is_under
from exhunt.evidence.winpath import Anchor, PathMapper

_INSTALL_TAIL: Final = re.compile(
    r"^(?P<root>.+?)\\(?:FrontEnd\\HttpProxy|ClientAccess)(?:\\.*)?$", re.IGNORECASE
)
_SITE_LOGS: Final = re.compile(r"^W3SVC\d*$", re.IGNORECASE)
_MIN_MATCH: Final = 3


def install_path_from_config(config: IisConfig, variables: Mapping[str, str]) -> str | None:
    """The Exchange install root the virtual directories point to (most common), if any."""
    roots: Counter[str] = Counter()
    for site in config.sites:
        for vdir in site.virtual_directories:
            match = _INSTALL_TAIL.match(winpath.expand(vdir.physical_path, variables))
            if match and winpath.drive_letter(match.group("root")):
                roots[match.group("root")] += 1
    return roots.most_common(1)[0][0] if roots else None


def learn_anchors(
    tree: Tree,
    mapper: PathMapper,
    config: IisConfig,
    install_rel: str | None,
    variables: Mapping[str, str],
) -> list[Anchor]:
    """Anchors for unmapped evidence folders: the install root, site log folders, vdirs."""
    anchors: list[Anchor] = []
    install_path = install_path_from_config(config, variables)
    if install_rel is not None and install_path and not mapper.mapped(install_rel):
        anchors.append(Anchor(install_rel, install_path, "install folder named by IIS config"))
    names = _folders_by_name(tree)
    for folder in config.log_folders():
        _add(anchors, _log_anchors(tree, names, mapper, winpath.expand(folder, variables)))
    for site in config.sites:
        for vdir in site.virtual_directories:
            physical = winpath.expand(vdir.physical_path, variables)
            _add(anchors, _suffix_anchors(names, mapper, physical, f"IIS vdir {vdir.url}"))
    return anchors


def _add(anchors: list[Anchor], new: Iterable[Anchor]) -> None:
    for anchor in new:
        if not any(is_under(anchor.rel, known.rel) for known in anchors):
            anchors.append(anchor)


def _folders_by_name(tree: Tree) -> dict[str, list[str]]:
    names: dict[str, list[str]] = defaultdict(list)
    for folder in tree:
        if folder.rel:
            names[folder.rel.rsplit("/", 1)[-1].lower()].append(folder.rel)
    return names


def _log_anchors(
    tree: Tree, names: Mapping[str, list[str]], mapper: PathMapper, windows: str
) -> list[Anchor]:
    """``W3SVC<n>`` folders; their parent too when it bears the log directory's name."""
    parts = windows.split("\\")
    if len(parts) < 2 or not _SITE_LOGS.match(parts[-1]):
        return []
    found = []
    for rel in names.get(parts[-1].lower(), []):
        if mapper.mapped(rel):
            continue
        parent = rel.rsplit("/", 1)[0] if "/" in rel else None
        if parent is not None and parent.rsplit("/", 1)[-1].lower() == parts[-2].lower():
            found.append(Anchor(parent, "\\".join(parts[:-1]), "IIS log directory"))
        else:
            found.append(Anchor(rel, windows, "IIS site log folder"))
    return found


def _suffix_anchors(
    names: Mapping[str, list[str]], mapper: PathMapper, windows: str, how: str
) -> list[Anchor]:
    parts = [part for part in windows.split("\\") if part]
    if len(parts) < _MIN_MATCH + 1 or not (
        winpath.drive_letter(windows) or parts[0].startswith("%")
    ):
        return []
    found = []
    for rel in names.get(parts[-1].lower(), []):
        rel_parts = rel.split("/")
        matched = _trailing_match(rel_parts, parts[1:])
        if matched >= _MIN_MATCH and not mapper.mapped(rel):
            anchor_rel = "/".join(rel_parts[: len(rel_parts) - matched + 1])
            anchor_win = winpath.join(parts[0], parts[1 : len(parts) - matched + 1])
            found.append(Anchor(anchor_rel, anchor_win, how))
    return found


def _trailing_match(rel_parts: list[str], win_parts: list[str]) -> int:
    count = 0
    for rel_part, win_part in zip(reversed(rel_parts), reversed(win_parts), strict=False):
        if rel_part.lower() != win_part.lower():
            break
        count += 1
    return count
