"""YARA matches as hits: one hit per rule that matched a file, showing the matching bytes.

The content analysis stores a file's matches in its ``fs.file`` record (field ``yara``, JSON);
this rule turns each into a hit whose evidence line is the line of the first matching bytes
and whose excerpt shows them, escaped. Web shell matches join the file's other web shell hits
(group ``webshell``, linked by path) into one finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from exhunt.detect.context import ScanContext
from exhunt.detect.hits import make_hit
from exhunt.detect.rules import RecordRule
from exhunt.detect.yara import CompiledYara, PatternMatch, YaraMatch, YaraRule
from exhunt.model import Category, Hit, Record, RuleInfo, Severity

FIELD = "yara"
TAGS_FIELD = "yara_tags"
FILES = frozenset({"fs.file"})


def encode_matches(matches: Sequence[YaraMatch]) -> str:
    """The ``yara`` field of a record: matches as compact JSON."""
    return json.dumps(
        [
            {
                "rule": m.key,
                "patterns": [[p.pattern, p.offset, p.line, p.excerpt] for p in m.patterns],
            }
            for m in matches
        ],
        separators=(",", ":"),
    )


def decode_matches(text: str) -> list[YaraMatch]:
    """Matches back from the ``yara`` field; malformed entries are dropped."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return []
    found = []
    for item in data if isinstance(data, list) else []:
        try:
            patterns = tuple(
                PatternMatch(str(p), int(o), int(n), str(e)) for p, o, n, e in item["patterns"]
            )
            found.append(YaraMatch(str(item["rule"]), patterns))
        except (KeyError, TypeError, ValueError):
            continue
    return found


class YaraRecordRule(RecordRule):
    """Every compiled YARA rule, evaluated on the matches the content analysis recorded."""

    artifacts = FILES

    def __init__(self, compiled: CompiledYara) -> None:
        self.compiled = compiled
        self.info = RuleInfo(
            id="exhunt.yara",
            title="YARA rules",
            severity=Severity.HIGH,
            category=Category.WEBSHELL,
        )

    @property
    def emits(self) -> tuple[RuleInfo, ...]:
        return tuple(rule.info for rule in self.compiled.rules.values())

    def literals(self, artifact: str) -> frozenset[str] | None:
        return None

    def evaluate(self, record: Record, context: ScanContext) -> Iterator[Hit]:
        text = record.fields.get(FIELD)
        if not text:
            return
        for match in decode_matches(text):
            rule = self.compiled.rules.get(match.key)
            if rule is not None:
                yield _hit(rule, match, record)


def _hit(rule: YaraRule, match: YaraMatch, record: Record) -> Hit:
    path = record.fields.get("path", record.source.path)
    shown = "; ".join(f"{p.pattern}={p.excerpt}" for p in match.patterns) or "condition matched"
    first = match.patterns[0] if match.patterns else None
    # The excerpt is the matching bytes themselves (escaped), found on the evidence line.
    located = replace(
        record, line=first.line if first else None, raw=first.excerpt if first else ""
    )
    webshell = rule.info.category is Category.WEBSHELL
    family = f" [{rule.family}]" if rule.family else ""
    sha256 = record.fields.get("sha256", "")
    return make_hit(
        rule.info,
        located,
        summary=f"{path}: YARA {rule.info.id}{family}: {shown}"[:600],
        paths=(path,),
        sha256=(sha256,) if sha256 else (),
        group="webshell" if webshell else None,
        link=path.lower(),
        tags=("yara", *rule.tags),
    )
