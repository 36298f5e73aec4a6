"""Turning a rule's match on a record into a :class:`~exhunt.model.Hit` with its context."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from exhunt.artifacts.base import ARTIFACTS, LineLog, RequestView
from exhunt.model import Category, Hit, Indicators, Record, RuleInfo, Severity

_CANARY = re.compile(r"msExchEcpCanary=([A-Za-z0-9_\-]{8,})", re.IGNORECASE)
_EXCERPT = 400
# What the front end appends to every logged query; it says nothing about the client.
_EXCHANGE_QUERY = re.compile(r"&?(CorrelationID|cafeReqId|encoding)=[^;&]*;?", re.IGNORECASE)


def request_view(record: Record) -> RequestView:
    """The web request a record describes, by its artifact's own parser."""
    parser = _parser(record.source.artifact)
    return parser.view(record) if parser is not None else RequestView()


def make_hit(
    rule: RuleInfo,
    record: Record,
    *,
    summary: str | None = None,
    group: str | None = None,
    tags: Iterable[str] = (),
    severity: Severity | None = None,
    category: Category | None = None,
    extra_keys: Iterable[str] = (),
    link: str | None = None,
    paths: Iterable[str] = (),
    sha256: Iterable[str] = (),
) -> Hit:
    """A hit with indicators, correlation keys and a one-line summary taken from the record."""
    view = request_view(record)
    keys = {f"req:{rid.lower()}" for rid in view.request_ids if rid}
    keys.update(f"canary:{c}" for c in _CANARY.findall(record.raw))
    keys.update(extra_keys)
    if record.source.artifact == "fs.file":
        keys.add("file:" + record.source.path.lower())
    return Hit(
        rule=rule,
        record=record,
        summary=summary or describe(record, view),
        indicators=Indicators(
            ips=_some(view.client_ip),
            user_agents=_some(view.user_agent),
            urls=_some(view.url),
            accounts=_some(view.user),
            paths=tuple(paths),
            sha256=tuple(sha256),
        ),
        keys=frozenset(keys),
        group=group if group is not None else rule.id,
        link=link if link is not None else view.client_ip,
        tags=frozenset(tags),
        severity=severity,
        category=category,
    )


def describe(record: Record, view: RequestView | None = None) -> str:
    """One line saying what the record is: the request for web logs, the text otherwise."""
    view = view or request_view(record)
    if view.stem or view.method:
        url = view.stem or ""
        query = _EXCHANGE_QUERY.sub("", view.query or "")
        if query:
            url += "?" + query
        parts = [view.method or "", url, view.status or ""]
        text = " ".join(p for p in parts if p)
        if view.client_ip:
            text += f" from {view.client_ip}"
        if view.user_agent:
            text += f" ({view.user_agent})"
        return text[:_EXCERPT]
    command = record.fields.get("CMD")
    if command:
        return f"ECP ran {command}"[:_EXCERPT]
    if record.source.artifact == "evtx":
        return describe_event(record.fields)[:_EXCERPT]
    return record.raw[:_EXCERPT]


# The fields that say most about an event, in order of preference.
_EVENT_SUBJECTS = (
    "CommandLine", "Image", "TargetImage", "TargetFilename", "ImageLoaded", "ServiceName",
    "TaskName", "ScriptBlockText", "Payload", "QueryName", "TargetObject", "ObjectName", "Data",
)  # fmt: skip


def describe_event(fields: Mapping[str, str]) -> str:
    """``<channel> <event id> on <computer>: <its most telling field>`` for an event record."""
    head = f"{fields.get('Channel', 'event')} {fields.get('EventID', '')}".strip()
    computer = fields.get("Computer")
    if computer:
        head += f" on {computer}"
    for name in _EVENT_SUBJECTS:
        value = fields.get(name)
        if value:
            parent = fields.get("ParentImage")
            suffix = f" (parent {parent})" if parent and name in ("CommandLine", "Image") else ""
            return f"{head}: {' '.join(value.split())}{suffix}"
    return head


def _some(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


_PARSERS: dict[str, LineLog | None] = {}


def _parser(artifact: str) -> LineLog | None:
    if artifact not in _PARSERS:
        try:
            cls = ARTIFACTS.get(artifact)
        except KeyError:
            cls = None
        _PARSERS[artifact] = cls() if cls is not None and issubclass(cls, LineLog) else None
    return _PARSERS[artifact]
