"""Find the Exchange install folder in the evidence by what it holds, not by where it should be.

Exchange may be installed on any drive under any path (``D:\\Exchange``, ``E:\\Program Files\\
Microsoft\\Exchange Server\\V15``), and collections often hold only part of it. A folder is an
install root when it has at least two of ``Bin``, ``ClientAccess``, ``FrontEnd``, ``Logging``,
``Mailbox``, ``TransportRoles``, or a ``Logging\\HttpProxy`` or ``FrontEnd\\HttpProxy`` folder
(names in any case). When several qualify (an old copy beside the live one), the one with logs
is preferred, and the choice is explained in ``found_by``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from exhunt.evidence.tree import Folder, Tree

MARKERS: Final = ("bin", "clientaccess", "frontend", "logging", "mailbox", "transportroles")
_SPECIFIC: Final = frozenset({"clientaccess", "frontend", "mailbox", "transportroles"})


@dataclass(frozen=True, slots=True)
class ExchangeInstall:
    """The Exchange install folder found in the evidence.

    Attributes:
        rel: relative path of the install root (``C/Program Files/Microsoft/Exchange Server/V15``).
        windows_path: its Windows path with a trailing backslash, like the registry's
            ``MsiInstallPath`` (``C:\\Program Files\\Microsoft\\Exchange Server\\V15\\``), or
            None when unknown.
        found_by: how it was recognised, and why it was chosen over others.
    """

    rel: str
    windows_path: str | None
    found_by: str


@dataclass(frozen=True, slots=True)
class Candidate:
    rel: str
    markers: tuple[str, ...]
    """Marker folders present, as named on disk."""
    httpproxy: str | None
    """``Logging\\HttpProxy`` or ``FrontEnd\\HttpProxy`` when present."""
    log_files: int
    files: int

    @property
    def specific(self) -> bool:
        """Has a folder no other product is likely to have."""
        lowered = {m.lower() for m in self.markers}
        return bool(self.httpproxy) or bool(lowered & _SPECIFIC)

    @property
    def reason(self) -> str:
        items = list(self.markers) if len(self.markers) >= 2 else []
        if self.httpproxy:
            items.append(self.httpproxy)
        return "folder with " + ", ".join(items)


def find_candidates(tree: Tree) -> list[Candidate]:
    """Every folder of the evidence that looks like an Exchange install root."""
    found = []
    for folder in tree:
        candidate = _candidate(tree, folder)
        if candidate is not None:
            found.append(candidate)
    return found


def _candidate(tree: Tree, folder: Folder) -> Candidate | None:
    markers = tuple(folder.children[m] for m in MARKERS if m in folder.folders)
    httpproxy = None
    for parent in ("logging", "frontend"):
        if tree.descend(folder.rel, (parent, "httpproxy")) is not None:
            httpproxy = f"{folder.children[parent]}\\HttpProxy"
            break
    if len(markers) < 2 and httpproxy is None:
        return None
    logging_rel = tree.child(folder.rel, "logging")
    logging_folder = tree.get(logging_rel) if logging_rel is not None else None
    log_files = logging_folder.files if logging_folder is not None else 0
    return Candidate(folder.rel, markers, httpproxy, log_files, folder.files)


def choose(candidates: list[Candidate], preferred: Collection[str] = ()) -> tuple[Candidate, str]:
    """Pick the install root among candidates and say why.

    Args:
        candidates: at least one candidate.
        preferred: rels that applicationHost.config names as the install folder.

    Returns:
        The chosen candidate and the ``found_by`` text.
    """
    ranked = sorted(candidates, key=lambda c: (_score(c, preferred), c.rel), reverse=True)
    best = ranked[0]
    text = best.reason
    if best.rel in preferred:
        text += "; applicationHost.config points to it"
    others = ranked[1:]
    if others:
        text += f"; chosen over {_list(others)} because {_why(best, others[0], preferred)}"
    return best, text


def _score(c: Candidate, preferred: Collection[str]) -> tuple[bool, bool, bool, int, int]:
    return (c.specific, c.log_files > 0, c.rel in preferred, len(c.markers), c.files)


def _why(best: Candidate, other: Candidate, preferred: Collection[str]) -> str:
    if best.specific and not other.specific:
        return "it has Exchange-specific folders"
    if best.log_files and not other.log_files:
        return "it has logs"
    if best.rel in preferred and other.rel not in preferred:
        return "applicationHost.config points to it"
    if len(best.markers) != len(other.markers):
        return "it has more of the install's folders"
    return "it holds more files"


def _list(others: list[Candidate]) -> str:
    names = [f"'{c.rel or '.'}'" for c in others[:3]]
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    return ", ".join(names) + more
