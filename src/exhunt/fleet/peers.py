"""Same-build peers from the store: web files one stored server has and its peers do not.

The issue-3 baseline compares servers scanned together; a store holds the web-file manifests of
every server ever scanned, so a fleet can be compared across organisations: a script that one
server of a build has and none of the other stored servers of that build has stands out, and so
does a stock file whose content differs from what at least two peers agree on. Files are keyed
by their path inside the Exchange install (the same on every server of a build, wherever it was
installed) or inside ``inetpub/wwwroot``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exhunt.detect.stock import normalise
from exhunt.findings.baseline import Manifest, ManifestEntry, compare_peers
from exhunt.store import Scope, Store
from exhunt.store.queries import WebFileManifest

_WWWROOT = "inetpub/wwwroot/"


@dataclass(frozen=True, slots=True)
class PeerDeviation:
    organisation: str
    host: str
    build: str
    kind: str
    """``added`` (no peer has it) or ``changed`` (peers agree on other content)."""
    path: str
    sha256: str
    known: tuple[str, ...]
    """The content the peers agree on, for ``changed``."""
    peers: int


def peer_deviations(store: Store, scope: Scope, builds: Sequence[str] = ()) -> list[PeerDeviation]:
    """Every stored server (latest scan) against the stored servers of its build in scope."""
    wanted = list(builds) or [c.name for c in store.summary(scope).builds if c.name != "unknown"]
    found: list[PeerDeviation] = []
    for build in wanted:
        stored = store.web_file_manifests(build, scope)
        manifests = {_server(m): m for m in stored}
        peers = len(stored) - 1
        for server, deviations in compare_peers([_manifest(m) for m in stored]).items():
            source = manifests[server]
            found.extend(
                PeerDeviation(
                    organisation=source.organisation,
                    host=source.host,
                    build=build,
                    kind=d.kind,
                    path=d.entry.path,
                    sha256=d.entry.sha256,
                    known=d.known,
                    peers=peers,
                )
                for d in deviations
            )
    return sorted(found, key=lambda d: (d.build, d.organisation, d.host, d.path))


def _server(stored: WebFileManifest) -> str:
    return f"{stored.organisation}/{stored.host}/{stored.scan_id}"


def _manifest(stored: WebFileManifest) -> Manifest:
    return Manifest(_server(stored), stored.build, tuple(sorted(_entries(stored), key=_key)))


def _entries(stored: WebFileManifest) -> Iterable[ManifestEntry]:
    for file in stored.files:
        key = _key_of(file.path, file.install_rel)
        if key is not None:
            yield ManifestEntry(key, file.sha256, file.path, file.path)


def _key_of(path: str, install_rel: str | None) -> str | None:
    if install_rel:
        return "exchange/" + normalise(install_rel)
    lowered = path.lower()
    index = lowered.find(_WWWROOT)
    if index != -1 and (index == 0 or lowered[index - 1] == "/"):
        return "web/wwwroot/" + normalise(path[index + len(_WWWROOT) :])
    return None


def _key(entry: ManifestEntry) -> str:
    return entry.key
