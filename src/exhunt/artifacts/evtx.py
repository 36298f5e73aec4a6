"""Windows event logs (EVTX), read with the ``evtx`` Rust parser.

Every record becomes a :class:`~exhunt.model.Record` of artifact type ``evtx``:

* ``source.artifact`` ``"evtx"``, ``source.path`` the file's path in the evidence;
* ``record``: the event's own ``System/EventRecordID`` (an int; not the parser's record-header
  number, which restarts at 1 in exported files); ``None`` when the event has none;
* ``line``: ``None``;
* ``time``: ``System/TimeCreated@SystemTime`` as an aware UTC time (the record header's write
  time when the event has none, or only the zero FILETIME of 1601);
* ``raw``: the record's JSON text exactly as ``PyEvtxParser(...).records_json()`` gives it;
* ``fields``: a flat ``dict[str, str]``:

  - from ``System``: ``Channel``, ``Provider_Name`` (``Provider@Name``), ``Provider_Guid`` (upper
    case without braces, however the event wrote it), ``EventID`` (the number only, qualifiers
    dropped), ``Version``, ``Level``, ``Task``, ``Opcode``, ``Keywords`` (hex text, as
    written), ``EventRecordID``, ``Computer``, ``TimeCreated`` (ISO-8601 UTC with ``Z`` and
    microseconds), ``ExecutionProcessID``, ``ExecutionThreadID``, ``SecurityUserID``. All
    fifteen are always present; a missing one is ``""``;
  - from ``EventData``: each ``<Data Name="X">`` as field ``X`` (text; numbers in decimal;
    booleans ``true``/``false``; null or absent as ``""``); unnamed ``<Data>`` elements as
    ``Data``, ``Data2``, ``Data3``... in order (the MSExchange Management and Application logs
    write unnamed Data); ``<Binary>`` as ``Binary`` (hex text);
  - from ``UserData``: every leaf element by its own tag name (Security 1102 gives
    ``SubjectUserName``); XML attributes are left out; repeated sibling elements are named as
    the parser names them (``Certificate``, ``Certificate_1``, ``Certificate_2``...);
  - a name that is already taken (an EventData name equal to a System field, a UserData leaf
    seen twice) is stored as ``Parent_Leaf`` (``EventData_Computer``, ``LogFileCleared_Name``),
    and if that is taken too, with a number appended (``Parent_Leaf2``...).

Damage is expected (event logs are copied live, from shadow copies and from attackers' hosts):
every record the parser rejects and every chunk it cannot read is a bad record, and a file cut
short is read up to where its bytes end. References: the EVTX format as documented by
libyal (https://github.com/libyal/libevtx/blob/main/documentation) and the Windows event
schema (https://learn.microsoft.com/en-us/windows/win32/wes/eventschema-schema).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from evtx import PyEvtxParser, PyRecordsIterator

from exhunt.artifacts.base import FileArtifact, register
from exhunt.artifacts.evtxfile import BadPart, FileLayout, PaddedFile, chunk_place, survey
from exhunt.exceptions import ArtifactError
from exhunt.model import Record, Source

if TYPE_CHECKING:
    from exhunt.evidence import Evidence, EvidenceFile

log = logging.getLogger(__name__)

EVTX_MAGIC = b"ElfFile\x00"
SYSTEM_FIELDS = (
    "Channel",
    "Provider_Name",
    "Provider_Guid",
    "EventID",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "EventRecordID",
    "Computer",
    "TimeCreated",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "SecurityUserID",
)
MAX_CONSECUTIVE_ERRORS = 10_000
"""A parser that fails this often in a row without a record makes no progress: stop the file."""
_PARSER_PREFIX = "An error occurred while trying to deserialize evtx stream.: "
_LOCATED = re.compile(r"Failed to parse (record|chunk) number (\d+): ")
_SYSTEM_TIME = '"SystemTime":"'
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


@register
class EvtxLog(FileArtifact):
    """A Windows event log file, recognised by its ``ElfFile`` signature."""

    type: ClassVar[str] = "evtx"
    title: ClassVar[str] = "Windows event log"

    @classmethod
    def claims(cls, file: EvidenceFile, head: bytes) -> int:
        return 10 if head.startswith(EVTX_MAGIC) else 0

    def iter_records(self, evidence: Evidence, file: EvidenceFile) -> Iterator[Record]:
        source = Source(self.type, file.rel, file.windows_path)
        return iter_evtx_records(file.real, source)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One record as the parser hands it out, before any decoding."""

    number: int
    """The record header's number (1..N in exported files), for messages."""
    stamp: str
    """The record header's write time as the parser gives it (``...Z UTC``)."""
    text: str
    """The event as JSON text."""

    @property
    def written(self) -> datetime | None:
        """The record header's write time (read only when an event has no time of its own)."""
        return parse_system_time(self.stamp.removesuffix(" UTC"))


class EvtxReader:
    """Reads one EVTX file: its raw events, then what could not be read and why.

    The file is hashed and its layout checked first (one sequential read); the parser then runs
    with one thread (threads cost more than they give on files of a few MB).

    Raises:
        ArtifactError: from :meth:`events`, when the file is not EVTX or cannot be opened.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.layout: FileLayout | None = None
        self.bad: list[BadPart] = []
        self.records = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    @property
    def bad_records(self) -> int:
        return sum(part.records for part in self.bad)

    def events(self) -> Iterator[RawEvent]:
        """Every record the parser can read, in file order; damage goes to :attr:`bad`."""
        try:
            self.layout = layout = survey(self.path)
        except OSError as exc:
            raise ArtifactError(f"could not read: {exc.strerror or exc}", str(self.path)) from exc
        if not layout.is_evtx:
            message = f"could not read: not an EVTX file ({layout.looks})"
            raise ArtifactError(message, str(self.path))
        numbers = yield from self._parse(layout)
        self.bad.extend(layout.damage(numbers))

    def _parse(self, layout: FileLayout) -> Generator[RawEvent, None, list[int]]:
        """Run the parser; returns the header numbers read from the partial last chunk."""
        partial: list[int] = []
        padded = PaddedFile(self.path, layout.padded_size) if layout.partial_bytes else None
        try:
            parser = PyEvtxParser(padded or str(self.path), number_of_threads=1)
            iterator = parser.records_json()
        except OSError as exc:
            raise ArtifactError(f"could not read: {_clean(str(exc))}", str(self.path)) from exc
        try:
            yield from self._drain(iterator, layout, partial)
        finally:
            if padded is not None:
                padded.close()
        return partial

    def _drain(
        self, iterator: PyRecordsIterator, layout: FileLayout, partial: list[int]
    ) -> Iterator[RawEvent]:
        last_number: int | None = None
        failures = 0
        while failures < MAX_CONSECUTIVE_ERRORS:
            try:
                item = next(iterator)
            except StopIteration:
                return
            except RuntimeError as exc:
                failures += 1
                self.bad.append(_bad_part(str(exc), last_number))
                continue
            except _FATAL:
                raise
            except BaseException as exc:  # the Rust side panicked: its state is gone
                self.bad.append(_bad_part(f"parser failed: {exc}", last_number))
                return
            if not isinstance(item, dict):
                continue
            failures = 0
            event = _raw_event(item)
            last_number = event.number
            if layout.in_partial_chunk(event.number):
                if event.number not in layout.complete:
                    continue  # cut by the end of the file: the padding made up its tail
                partial.append(event.number)
            self._count(event)
            yield event
        self.bad.append(
            BadPart(f"after record number {last_number}", "too many errors in a row; rest skipped")
        )

    def _count(self, event: RawEvent) -> None:
        self.records += 1
        moment = event_time(event.text) or event.written
        if moment is None:
            return
        if self.first is None or moment < self.first:
            self.first = moment
        if self.last is None or moment > self.last:
            self.last = moment


def iter_evtx_records(path: Path | str, source: Source | None = None) -> Iterator[Record]:
    """Every readable event of an EVTX file as a record; damaged parts are skipped.

    Args:
        path: the file.
        source: provenance for the records (default: artifact ``evtx`` and ``path`` as given).

    Raises:
        ArtifactError: the file is not EVTX or cannot be opened.
    """
    source = source or Source(EvtxLog.type, str(path))
    reader = EvtxReader(path)
    for event in reader.events():
        record = to_record(event, source)
        if record is not None:
            yield record
    for part in reader.bad:
        log.debug("%s: %s", path, part.describe())


def event_time(text: str) -> datetime | None:
    """``TimeCreated@SystemTime`` read from the JSON text without decoding it.

    ``System`` comes first in the parser's output, so the first ``SystemTime`` key is the
    event's own; text an attacker controls comes later.
    """
    start = text.find(_SYSTEM_TIME)
    if start < 0:
        return None
    start += len(_SYSTEM_TIME)
    return parse_system_time(text[start : text.find('"', start)])


def to_record(event: RawEvent, source: Source) -> Record | None:
    """Decode and flatten one event; None when its JSON cannot be decoded."""
    try:
        document = json.loads(event.text)
    except (ValueError, RecursionError):
        return None
    root = document.get("Event") if isinstance(document, dict) else None
    if not isinstance(root, dict):
        root = {}
    fields = flatten(root)
    time = parse_system_time(_attribute(root.get("System"), "TimeCreated", "SystemTime"))
    record_id = fields["EventRecordID"]
    return Record(
        source=source,
        line=None,
        time=time or event.written,
        fields=fields,
        raw=event.text,
        record=int(record_id) if record_id.isdigit() else None,
    )


def flatten(event: Mapping[str, Any]) -> dict[str, str]:
    """The flat fields of one decoded ``Event`` object (see the module docstring)."""
    fields = _system_fields(event.get("System"))
    _event_data(event.get("EventData"), fields)
    user_data = event.get("UserData")
    if isinstance(user_data, dict):
        _leaves(user_data, "UserData", fields)
    return fields


def parse_system_time(text: str) -> datetime | None:
    """A ``SystemTime`` attribute as aware UTC; None when absent, unreadable or the zero time."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None if value.year <= 1601 else value


def _system_fields(system: object) -> dict[str, str]:
    if not isinstance(system, dict):
        system = {}
    created = parse_system_time(_attribute(system, "TimeCreated", "SystemTime"))
    return {
        "Channel": _text(system.get("Channel")),
        "Provider_Name": _attribute(system, "Provider", "Name"),
        "Provider_Guid": _attribute(system, "Provider", "Guid").strip("{}").upper(),
        "EventID": _text(system.get("EventID")),
        "Version": _text(system.get("Version")),
        "Level": _text(system.get("Level")),
        "Task": _text(system.get("Task")),
        "Opcode": _text(system.get("Opcode")),
        "Keywords": _text(system.get("Keywords")),
        "EventRecordID": _text(system.get("EventRecordID")),
        "Computer": _text(system.get("Computer")),
        "TimeCreated": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if created else "",
        "ExecutionProcessID": _attribute(system, "Execution", "ProcessID"),
        "ExecutionThreadID": _attribute(system, "Execution", "ThreadID"),
        "SecurityUserID": _attribute(system, "Security", "UserID"),
    }


def _event_data(data: object, fields: dict[str, str]) -> None:
    if data is None:
        return
    if not isinstance(data, dict):
        _add_unnamed(data, fields)
        return
    for name, value in data.items():
        if name == "#attributes":
            continue  # the template's name, not event data
        if name == "Data" and isinstance(value, dict | list):
            _add_unnamed(value, fields)
        else:
            _add(fields, name, "EventData", _text(value))


def _add_unnamed(value: object, fields: dict[str, str]) -> None:
    """Unnamed ``<Data>`` elements, in order, as ``Data``, ``Data2``, ``Data3``..."""
    if isinstance(value, dict):
        value = value.get("#text")
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items, start=1):
        _add(fields, "Data" if index == 1 else f"Data{index}", "EventData", _text(item))


def _leaves(node: dict[str, Any], parent: str, fields: dict[str, str]) -> None:
    """Every leaf element under ``node`` by its tag; walked without recursion (hostile depth)."""
    stack: list[tuple[str, str, object]] = [
        (parent, tag, value) for tag, value in reversed(node.items())
    ]
    while stack:
        parent, tag, value = stack.pop()
        if tag.startswith("#"):
            continue
        if isinstance(value, list):
            stack.extend((parent, tag, item) for item in reversed(value))
        elif isinstance(value, dict) and _has_children(value):
            stack.extend((tag, child, item) for child, item in reversed(value.items()))
        else:
            _add(fields, tag, parent, _text(value))


def _has_children(element: dict[str, Any]) -> bool:
    return any(not key.startswith("#") for key in element)


def _add(fields: dict[str, str], name: str, parent: str, value: str) -> None:
    """Store a field under its own name, or ``Parent_Name`` (then numbered) when taken."""
    if name in fields:
        base = name = f"{parent}_{name}"
        number = 2
        while name in fields:
            name, number = f"{base}{number}", number + 1
    fields[name] = value


def _attribute(system: object, element: str, name: str) -> str:
    if not isinstance(system, dict):
        return ""
    node = system.get(element)
    if not isinstance(node, dict):
        return ""
    attributes = node.get("#attributes")
    return _text(attributes.get(name)) if isinstance(attributes, dict) else ""


def _text(value: object) -> str:
    """An element's value as text: numbers in decimal, booleans as XML writes them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _text(value.get("#text"))
    if isinstance(value, list):
        return "\n".join(_text(item) for item in value)
    return str(value)


def _raw_event(item: Mapping[str, Any]) -> RawEvent:
    number = item.get("event_record_id")
    stamp = item.get("timestamp")
    return RawEvent(
        number=number if isinstance(number, int) else 0,
        stamp=stamp if isinstance(stamp, str) else "",
        text=str(item.get("data") or ""),
    )


def _bad_part(message: str, after: int | None) -> BadPart:
    message = _clean(message)
    located = _LOCATED.match(message)
    if located:
        kind, number = located.groups()
        where = chunk_place(int(number)) if kind == "chunk" else f"record number {number}"
        return BadPart(where, message[located.end() :])
    where = f"after record number {after}" if after is not None else "before the first record"
    return BadPart(where, message)


def _clean(message: str) -> str:
    return message.replace(_PARSER_PREFIX, "").strip()
