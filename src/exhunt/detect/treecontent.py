"""The file tree's records, completed with what their content says (hashes, YARA matches).

Records that need no reading pass through at once; the others are gathered in chunks, read by
a :class:`~exhunt.detect.content.ContentReader` (in worker processes when it pays) and come out
with ``sha256``/``sha1``/``md5``, ``filetype``, ``yara`` and ``yara_tags`` fields. Chunks keep
memory bounded on a tree of millions of files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from exhunt.artifacts.filetree import TreeStats
from exhunt.detect.content import (
    ContentLimits,
    ContentReader,
    ContentResult,
    ContentStats,
    ContentTask,
    Progress,
    Submitted,
)
from exhunt.detect.rules import RecordRule
from exhunt.detect.yara import CompiledYara
from exhunt.detect.yararule import FIELD, TAGS_FIELD, YaraRecordRule, encode_matches
from exhunt.model import Record

CHUNK_FILES = 256
CHUNK_BYTES = 32 << 20
IN_FLIGHT = 2
"""Chunks handed to the workers at once: this process completes one while they read the next."""


def yara_of(rules: Sequence[RecordRule]) -> CompiledYara | None:
    """The compiled YARA rules among a scan's file rules, if any."""
    for rule in rules:
        if isinstance(rule, YaraRecordRule):
            return rule.compiled
    return None


def externals_of(record: Record) -> tuple[tuple[str, str], ...]:
    """The YARA external variables of a file (``filetype`` is added once its bytes are read)."""
    fields = record.fields
    name = fields.get("name", "")
    path = fields.get("path") or record.source.path.replace("/", "\\")
    return (
        ("filename", name),
        ("filepath", path),
        ("extension", fields.get("ext", "")),
        ("owner", ""),
    )


class TreeContent:
    """Completes ``fs.file`` records with their content; use as a context manager."""

    def __init__(
        self,
        yara: CompiledYara | None,
        stats: TreeStats,
        limits: ContentLimits | None = None,
        jobs: int | None = None,
        progress: Progress | None = None,
        expected_bytes: int = 0,
    ) -> None:
        self.tree = stats
        self.reader = ContentReader(yara, limits or ContentLimits(), jobs, progress, expected_bytes)
        self.yara = yara

    @property
    def stats(self) -> ContentStats:
        return self.reader.stats

    @property
    def errors(self) -> list[tuple[str, str]]:
        return self._errors

    def __enter__(self) -> TreeContent:
        self._errors: list[tuple[str, str]] = []
        self.reader.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.__exit__(*exc)

    def enrich(self, records: Iterable[Record]) -> Iterator[Record]:
        """Every record; those with a ``content`` mode come back completed, chunk by chunk."""
        in_flight: deque[tuple[list[Record], Submitted]] = deque()
        pending: list[Record] = []
        size = 0
        for record in records:
            if not record.fields.get("content"):
                yield record
                continue
            pending.append(record)
            size += _size(record)
            if len(pending) >= CHUNK_FILES or size >= CHUNK_BYTES:
                in_flight.append((pending, self.reader.submit(self._tasks(pending))))
                pending, size = [], 0
                if len(in_flight) >= IN_FLIGHT:
                    yield from self._complete(*in_flight.popleft())
        if pending:
            in_flight.append((pending, self.reader.submit(self._tasks(pending))))
        while in_flight:
            yield from self._complete(*in_flight.popleft())

    def _tasks(self, records: Sequence[Record]) -> list[ContentTask]:
        return [
            ContentTask(
                rel=r.source.path,
                real=r.fields.get("real", ""),
                size=_size(r),
                mode=r.fields.get("content", "scan"),
                externals=externals_of(r),
            )
            for r in records
        ]

    def _complete(self, records: Sequence[Record], submitted: Submitted) -> Iterator[Record]:
        results = self.reader.collect(submitted)
        for record in records:
            result = results.get(record.source.path)
            yield self._merge(record, result) if result is not None else record

    def _merge(self, record: Record, result: ContentResult) -> Record:
        if result.error:
            self._errors.append((record.source.path, result.error))
            self.tree.unreadable.append((record.source.path, result.error))
            return record
        fields = dict(record.fields)
        fields.update(result.hashes)
        if result.filetype:
            fields["filetype"] = result.filetype
        if result.hashes:
            self.tree.hashed += 1
            self.tree.hashed_bytes += result.read_bytes
            self.tree.hashes.append((record.source.path, result.read_bytes, fields["sha256"]))
        if result.skipped:
            fields["content_skipped"] = result.skipped
        if result.markers:
            fields["script_markers"] = "true"
        if result.matches and self.yara is not None:
            fields[FIELD] = encode_matches(result.matches)
            tags = {t for m in result.matches if (r := self.yara.rules.get(m.key)) for t in r.tags}
            fields[TAGS_FIELD] = " ".join(sorted(tags))
        elif result.scanned:
            fields[TAGS_FIELD] = ""
        return replace(record, fields=fields)


def _size(record: Record) -> int:
    try:
        return int(record.fields.get("size", "0"))
    except ValueError:
        return 0
