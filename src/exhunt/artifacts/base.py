"""What every artifact parser is, and the registry that finds them.

An artifact parser knows one kind of evidence file: how to recognise it (``claims``) and how to
turn it into records. Line-oriented logs subclass :class:`LineLog` and are read by
:mod:`exhunt.artifacts.textlog`; file-tree artifacts yield records directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from exhunt.model import Record
from exhunt.registry import Registry

if TYPE_CHECKING:
    from exhunt.evidence import Evidence, EvidenceFile


class Artifact(ABC):
    """One kind of evidence file. Subclasses register with :data:`ARTIFACTS`."""

    type: ClassVar[str]
    """Dotted artifact type, e.g. ``iis.w3c``; the coverage and Sigma logsources use it."""
    title: ClassVar[str]

    @classmethod
    @abstractmethod
    def claims(cls, file: EvidenceFile, head: bytes) -> int:
        """How sure this parser is that ``file`` is its kind: 0 = not mine, higher = surer.

        Args:
            file: the candidate file.
            head: its first bytes (up to 4 KiB), for sniffing the log's own preamble.
        """


ARTIFACTS: Registry[type[Artifact]] = Registry("artifact", "exhunt.artifacts")


def register(cls: type[Artifact]) -> type[Artifact]:
    """Class decorator: make an artifact parser known under its ``type``."""
    return ARTIFACTS.register(cls.type)(cls)


@dataclass(frozen=True, slots=True)
class RequestView:
    """The meaning of a web request record, whatever log it came from.

    Checks and correlation use these common names; the record keeps the native ones.
    """

    client_ip: str | None = None
    user_agent: str | None = None
    method: str | None = None
    stem: str | None = None
    query: str | None = None
    status: str | None = None
    user: str | None = None
    host: str | None = None
    request_ids: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        if self.query:
            return f"{self.stem or ''}?{self.query}"
        return self.stem or ""


@dataclass(slots=True)
class HeaderState:
    """The header in effect at a point of a log file; it can change mid-file."""

    fields: tuple[str, ...] | None = None
    directives: dict[str, str] = field(default_factory=dict)
    header_prefix: bytes | None = None
    """Start of a header row that repeats the column names (CSV logs), if known."""


@dataclass(slots=True)
class ParsedLine:
    fields: dict[str, str]
    time: datetime | None
    error: str | None = None
    """Why the line is a bad record; it is still evaluated, since attackers write such lines."""


class LineLog(Artifact):
    """A line-oriented log whose columns are named by its own header lines."""

    header_prefixes: ClassVar[tuple[bytes, ...]] = ()
    """Starts of a header row that can come before any ``#Fields:`` directive."""
    needs_header: ClassVar[bool] = True
    """Whether rows mean nothing without a header: a file without one is unreadable."""

    def new_state(self) -> HeaderState:
        return HeaderState()

    def directive(self, state: HeaderState, line: str) -> None:
        """Apply a ``#Name: value`` line to the state."""
        name, _, value = line[1:].partition(":")
        name = name.strip()
        state.directives[name] = value.strip()
        if name.lower() == "fields":
            self.set_fields(state, self.split_field_names(value.strip()))

    def header_row(self, state: HeaderState, line: str) -> bool:
        """Apply ``line`` if it is a row of column names; return whether it was one."""
        return False

    def set_fields(self, state: HeaderState, names: tuple[str, ...]) -> None:
        state.fields = names

    @abstractmethod
    def split_field_names(self, value: str) -> tuple[str, ...]:
        """Split the value of a ``#Fields:`` directive into names."""

    @abstractmethod
    def parse(self, state: HeaderState, line: str) -> ParsedLine:
        """Parse one data line with the header in effect."""

    def view(self, record: Record) -> RequestView:
        """The web request a record describes; empty for logs that are not request logs."""
        return RequestView()

    def build_of(self, record: Record) -> str | None:
        """The Exchange build that wrote this record, if the log says."""
        return None


class FileArtifact(Artifact):
    """An artifact read whole (configuration files, the file tree itself)."""

    @abstractmethod
    def iter_records(self, evidence: Evidence, file: EvidenceFile) -> Iterator[Record]:
        """Yield the records of one evidence file."""


HEAD_SIZE = 4096


def classify(file: EvidenceFile, head: bytes) -> str | None:
    """The type of the line-log parser that claims ``file`` most surely, if any does."""
    best, kind = 0, None
    for cls in ARTIFACTS:
        if issubclass(cls, LineLog):
            score = cls.claims(file, head)
            if score > best:
                best, kind = score, cls.type
    return kind
