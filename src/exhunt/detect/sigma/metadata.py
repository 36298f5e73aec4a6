"""What a finding says about a Sigma rule: :class:`~exhunt.model.RuleInfo` from its metadata.

Severity comes from ``level``; CVEs and ATT&CK techniques from tags (``cve.2021-26855``,
``attack.t1505.003``). exhunt's own top-level field ``exhunt:`` may set ``category`` and
``group`` (the attack family that correlation joins hits by); without it the category is
derived from the tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sigma.rule import SigmaRule

from exhunt.model import Category, RuleInfo, Severity

CUSTOM_FIELD = "exhunt"

_SEVERITY = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")
_CVE = re.compile(r"(\d{4})[.-](\d{4,})")


class MetadataError(ValueError):
    """Invalid exhunt metadata in a rule; ``key`` names the offending field."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def custom_field(rule: SigmaRule) -> Mapping[str, Any]:
    """The rule's ``exhunt:`` mapping (empty without one), checked.

    Raises:
        MetadataError: when it is not a mapping, or ``category``/``group`` are invalid.
    """
    value = rule.custom_attributes.get(CUSTOM_FIELD)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MetadataError(f"'{CUSTOM_FIELD}' must be a mapping", CUSTOM_FIELD)
    category = value.get("category")
    if category is not None and category not in {item.value for item in Category}:
        choices = ", ".join(item.value for item in Category)
        raise MetadataError(f"unknown category {category!r} (one of: {choices})", "category")
    group = value.get("group")
    if group is not None and not isinstance(group, str):
        raise MetadataError("'group' must be a string", "group")
    return dict(value)


def rule_info(rule: SigmaRule, path: Path, index: int, custom: Mapping[str, Any]) -> RuleInfo:
    """The :class:`RuleInfo` of the ``index``-th rule (from 0) of the file at ``path``."""
    tags = [(str(tag.namespace).lower(), str(tag.name).lower()) for tag in rule.tags]
    level = rule.level.name.lower() if rule.level is not None else None
    category = custom.get("category")
    return RuleInfo(
        id=str(rule.id) if rule.id is not None else default_id(path, index),
        title=rule.title or path.stem,
        severity=_SEVERITY.get(level or "", Severity.MEDIUM),
        category=Category(category) if category else derive_category(tags, level),
        cves=tuple(_cves(tags)),
        attack=tuple(_techniques(tags)),
        description=(rule.description or "").strip(),
        references=tuple(str(reference) for reference in rule.references),
    )


def default_id(path: Path, index: int) -> str:
    """A stable id for a rule without one: its file name (and position in a multi-rule file)."""
    return path.stem if index == 0 else f"{path.stem}-{index + 1}"


def derive_category(tags: Iterable[tuple[str, str]], level: str | None) -> Category:
    """The category a rule's tags imply, for rules that do not set one."""
    tags = list(tags)
    techniques = {name for namespace, name in tags if namespace == "attack"}
    if "t1190" in techniques or any(namespace == "cve" for namespace, _ in tags):
        return Category.ATTEMPT
    if "t1505.003" in techniques:
        return Category.WEBSHELL
    if any(name.startswith("t1003") for name in techniques):
        return Category.POST_EXPLOITATION
    if "persistence" in techniques:
        return Category.PERSISTENCE
    if level in ("informational", "low"):
        return Category.INFORMATIONAL
    return Category.POST_EXPLOITATION


def _cves(tags: Iterable[tuple[str, str]]) -> Iterable[str]:
    for namespace, name in tags:
        if namespace == "cve":
            number = _CVE.fullmatch(name)
            yield f"CVE-{number[1]}-{number[2]}" if number else f"CVE-{name.upper()}"


def _techniques(tags: Iterable[tuple[str, str]]) -> Iterable[str]:
    for namespace, name in tags:
        if namespace == "attack" and _TECHNIQUE.fullmatch(name):
            yield name.upper()
