"""File integrity against known-good servers: baselines built from file manifests, and peers.

A :class:`Manifest` is one server's web files: for each file a key that is the same on every
server of a build (the path inside the Exchange install with version folders as
``{version}``, or the web folder's URL and the path below it) and its SHA-256. A
:class:`Baseline` is data: per Exchange build, the hashes each key had on known-good servers.
It is built from manifests, whatever produced them (a scan here, a result store later), and
saved as JSON. Comparing a manifest with the baseline of its build gives the files added (a
key no known-good server has) and changed (a key whose hash no known-good server has).

Without a baseline, servers of the same build scanned together are each other's baseline: a
file present on one server and on none of its peers stands out (added); a file whose hash
differs from the one that at least two peers agree on stands out too (changed).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exhunt.detect.hits import make_hit
from exhunt.detect.stock import normalise
from exhunt.exceptions import UsageError
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

FORMAT = "exhunt-baseline"
VERSION = 1


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    key: str
    sha256: str
    path: str
    """Where the file is on this server (Windows path, or evidence path)."""
    rel: str = ""
    """Evidence path of the file (for locating the record)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """One server's web files with their hashes."""

    server: str
    build: str | None
    entries: tuple[ManifestEntry, ...]

    def by_key(self) -> dict[str, ManifestEntry]:
        return {entry.key: entry for entry in self.entries}


@dataclass(frozen=True, slots=True)
class Deviation:
    """A file that the baseline or the peers do not account for."""

    kind: str
    """``added`` or ``changed``."""
    entry: ManifestEntry
    known: tuple[str, ...] = ()
    """The hashes the baseline (or the peers) have for this key."""
    against: str = ""
    """What it was compared with: ``baseline <file>`` or ``peers a, b``."""


@dataclass(slots=True)
class Baseline:
    """Per Exchange build: key -> the SHA-256 values known-good servers had."""

    builds: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    servers: dict[str, list[str]] = field(default_factory=dict)

    def add(self, manifest: Manifest) -> None:
        if manifest.build is None:
            raise UsageError(f"{manifest.server}: the Exchange build is unknown; give it")
        files = self.builds.setdefault(manifest.build, {})
        for entry in manifest.entries:
            files.setdefault(entry.key, set()).add(entry.sha256.lower())
        self.servers.setdefault(manifest.build, []).append(manifest.server)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "builds": {
                    build: {
                        "servers": sorted(self.servers.get(build, [])),
                        "files": {key: sorted(hashes) for key, hashes in sorted(files.items())},
                    }
                    for build, files in sorted(self.builds.items())
                },
            },
            indent=1,
        )


def build_baseline(manifests: Iterable[Manifest]) -> Baseline:
    baseline = Baseline()
    for manifest in manifests:
        baseline.add(manifest)
    return baseline


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file.

    Raises:
        UsageError: the file cannot be read or is not an exhunt baseline.
    """
    try:
        data: Any = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--baseline {path}: cannot read it ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"--baseline {path}: not an exhunt baseline file")
    baseline = Baseline()
    for build, entry in (data.get("builds") or {}).items():
        files = entry.get("files", {}) if isinstance(entry, dict) else {}
        baseline.builds[str(build)] = {str(k): {str(h) for h in v} for k, v in files.items()}
        baseline.servers[str(build)] = [str(s) for s in entry.get("servers", [])]
    return baseline


def compare(manifest: Manifest, baseline: Baseline, label: str = "baseline") -> list[Deviation]:
    """Files of ``manifest`` that the baseline of its build lacks (added) or knows otherwise."""
    files = baseline.builds.get(manifest.build or "")
    if files is None:
        return []
    found = []
    for entry in manifest.entries:
        known = files.get(entry.key)
        if known is None:
            found.append(Deviation("added", entry, (), label))
        elif entry.sha256.lower() not in known:
            found.append(Deviation("changed", entry, tuple(sorted(known)), label))
    return found


def has_build(baseline: Baseline, build: str | None) -> bool:
    return build is not None and build in baseline.builds


def compare_peers(manifests: Sequence[Manifest]) -> dict[str, list[Deviation]]:
    """Each server against the other servers of its build (by ``server``)."""
    by_build: dict[str, list[Manifest]] = defaultdict(list)
    for manifest in manifests:
        if manifest.build is not None:
            by_build[manifest.build].append(manifest)
    result: dict[str, list[Deviation]] = {}
    for group in by_build.values():
        if len(group) < 2:
            continue
        for manifest in group:
            peers = [m for m in group if m is not manifest]
            result[manifest.server] = _against_peers(manifest, peers)
    return result


def _against_peers(manifest: Manifest, peers: Sequence[Manifest]) -> list[Deviation]:
    label = "peers " + ", ".join(sorted(p.server for p in peers))
    hashes: dict[str, Counter[str]] = defaultdict(Counter)
    for peer in peers:
        for entry in peer.entries:
            hashes[entry.key][entry.sha256.lower()] += 1
    found = []
    for entry in manifest.entries:
        seen = hashes.get(entry.key)
        if seen is None:
            found.append(Deviation("added", entry, (), label))
            continue
        agreed, count = seen.most_common(1)[0]
        if count >= 2 and len(seen) == 1 and entry.sha256.lower() != agreed:
            found.append(Deviation("changed", entry, (agreed,), label))
    return found


def manifest_of(records: Iterable[Record], server: str, build: str | None) -> Manifest:
    """The web files among ``fs.file`` records that were hashed, keyed alike on every server."""
    entries = []
    for record in records:
        fields = record.fields
        sha256 = fields.get("sha256")
        key = key_of(fields)
        if sha256 and key:
            path = fields.get("path") or record.source.path
            entries.append(ManifestEntry(key, sha256, path, record.source.path))
    return Manifest(server, build, tuple(sorted(entries, key=lambda e: e.key)))


def key_of(fields: Mapping[str, str]) -> str | None:
    """``exchange/<install path>`` or ``web/<web folder>/<path>``; None outside web folders."""
    install_rel = fields.get("install_rel")
    if fields.get("web") != "true":
        return None
    if install_rel:
        return "exchange/" + normalise(install_rel)
    root = fields.get("web_root", "")
    rel = fields.get("rel", "").lower()
    if not root or not rel.startswith(root + "/"):
        return None
    folder = root.rsplit("/", 1)[-1]
    return f"web/{folder}/{normalise(rel[len(root) + 1 :])}"


ADDED = RuleInfo(
    id="exhunt.baseline.added",
    title="Web file that known-good servers of the same build do not have",
    severity=Severity.MEDIUM,
    category=Category.WEBSHELL,
    attack=("T1505.003",),
    description="The file is absent from every known-good server of this Exchange build (the "
    "baseline, or the other servers scanned together): examine it.",
)
CHANGED = RuleInfo(
    id="exhunt.baseline.changed",
    title="Web file that differs from known-good servers of the same build",
    severity=Severity.HIGH,
    category=Category.WEBSHELL,
    attack=("T1505.003",),
    description="Known-good servers of this Exchange build have this file with other content: "
    "a stock page modified in place is how web shells hide in plain sight.",
)


def deviation_hits(deviations: Iterable[Deviation], records: Iterable[Record]) -> list[Hit]:
    """One hit per deviation, on the file's record, joining the file's other web shell hits."""
    by_rel = {record.source.path: record for record in records}
    hits = []
    for deviation in deviations:
        record = by_rel.get(deviation.entry.rel)
        if record is None:
            continue
        entry = deviation.entry
        rule = CHANGED if deviation.kind == "changed" else ADDED
        known = (
            f"; known: {', '.join(h[:16] for h in deviation.known[:3])}" if deviation.known else ""
        )
        hits.append(
            make_hit(
                rule,
                record,
                summary=f"{entry.path}: {deviation.kind} against {deviation.against}"
                f" (sha256 {entry.sha256[:16]}...{known})",
                paths=(entry.path,),
                sha256=(entry.sha256,),
                group="webshell",
                link=entry.path.lower(),
                tags=(f"baseline:{deviation.kind}",),
            )
        )
    return hits
