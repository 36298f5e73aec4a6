"""Helpers for Sigma engine tests: inline rules, hand-built records, shared data paths."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from exhunt.detect.sigma import CompiledSigmaRule
from exhunt.model import Record, Source

RuleFactory = Callable[..., CompiledSigmaRule]
"""``make_rule(detection, logsource="category: webserver", extra="")`` (fixture)."""

SHARED = Path(__file__).parents[3] / ".." / "shared"

W3C_FIELDS = (
    "date",
    "time",
    "s-ip",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "s-port",
    "cs-username",
    "c-ip",
    "cs(User-Agent)",
    "cs(Referer)",
    "sc-status",
    "sc-substatus",
    "sc-win32-status",
    "time-taken",
)
W3C_DEFAULTS = {
    "date": "2021-03-03",
    "time": "01:02:03",
    "s-ip": "10.0.0.5",
    "cs-method": "GET",
    "cs-uri-stem": "/owa/",
    "cs-uri-query": "-",
    "s-port": "443",
    "cs-username": "-",
    "c-ip": "203.0.113.7",
    "cs(User-Agent)": "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)",
    "cs(Referer)": "-",
    "sc-status": "200",
    "sc-substatus": "0",
    "sc-win32-status": "0",
    "time-taken": "15",
}


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test when absent, fails under CI=true."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared test data missing: {path}")
        pytest.skip(f"shared test data not present: {path}")
    return path


def iis(**overrides: str) -> Record:
    """An IIS W3C record with default values; keyword names use ``_`` for ``-``.

    ``ua`` and ``referer`` set ``cs(User-Agent)`` and ``cs(Referer)``.
    """
    names = {"ua": "cs(User-Agent)", "referer": "cs(Referer)"}
    fields = dict(W3C_DEFAULTS)
    for key, value in overrides.items():
        fields[names.get(key, key.replace("_", "-"))] = value
    raw = " ".join(fields[name] for name in W3C_FIELDS)
    source = Source(artifact="iis.w3c", path="C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log")
    return Record(source=source, line=5, time=None, fields=fields, raw=raw)


def record(artifact: str, fields: dict[str, str], raw: str = "") -> Record:
    """A record of any artifact type; ``raw`` defaults to the values joined by commas."""
    source = Source(artifact=artifact, path="Logging/test/file.log")
    return Record(
        source=source, line=2, time=None, fields=fields, raw=raw or ",".join(fields.values())
    )


def rule_text(detection: str, logsource: str = "category: webserver", extra: str = "") -> str:
    """The YAML text of a rule with the given detection block."""
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    source = textwrap.indent(textwrap.dedent(logsource).strip(), "    ")
    return f"title: Test rule\nlogsource:\n{source}\ndetection:\n{body}\n{textwrap.dedent(extra)}"


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def evtx(**fields: str) -> Record:
    """A Windows event record with the given fields; raw text as the EVTX reader gives it."""
    from exhunt.testing.rulecases import example_record

    return example_record("evtx", fields)
