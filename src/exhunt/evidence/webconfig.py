"""web.config: handlers, modules and URL Rewrite rules, as written (no inheritance applied).

The same sections appear in applicationHost.config, at the root and in ``<location>`` blocks,
so :func:`iter_web_sections` serves both files. Only ``<add>`` entries are listed; ``<remove>``
and ``<clear>`` are not replayed, so a check sees everything a file ever registers.

References:
    https://learn.microsoft.com/iis/configuration/system.webserver/handlers/
    https://learn.microsoft.com/iis/extensions/url-rewrite-module/url-rewrite-module-configuration-reference
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final
from xml.parsers import expat

from exhunt.evidence import xmlsafe

WEB_SECTIONS: Final = ("rewrite", "handlers", "modules", "globalModules")
"""Sections of ``system.webServer`` recovered one by one from a damaged block."""


@dataclass(frozen=True, slots=True)
class Handler:
    """One ``<add>`` of ``system.webServer/handlers`` or ``system.web/httpHandlers``."""

    name: str
    path: str
    verb: str
    type: str | None
    script_processor: str | None
    modules: str | None
    location: str
    """``path`` of the enclosing ``<location>``; '' at the file's root."""
    section: str


@dataclass(frozen=True, slots=True)
class Module:
    """One managed (``modules``) or native (``globalModules``) IIS module registration."""

    name: str
    type: str | None
    image: str | None
    location: str
    section: str


@dataclass(frozen=True, slots=True)
class Condition:
    input: str
    pattern: str
    negate: bool = False
    ignore_case: bool = True
    match_type: str = "Pattern"


@dataclass(frozen=True, slots=True)
class RewriteRule:
    """One URL Rewrite rule with the module's documented defaults filled in."""

    name: str
    enabled: bool
    stop_processing: bool
    pattern_syntax: str
    match_url: str | None
    match_negate: bool
    match_ignore_case: bool
    logical_grouping: str
    conditions: tuple[Condition, ...]
    action_type: str
    action_url: str | None
    location: str
    scope: str
    """``rules`` (web.config) or ``globalRules`` (applicationHost.config)."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    handlers: tuple[Handler, ...] = ()
    modules: tuple[Module, ...] = ()
    rewrite_rules: tuple[RewriteRule, ...] = ()
    warnings: tuple[str, ...] = ()


def load_web_config(data: bytes) -> WebConfig:
    """Parse a web.config file; never raises on bad input (problems become ``warnings``)."""
    warnings: list[str] = []
    text = xmlsafe.decode(data[: xmlsafe.MAX_CONFIG_BYTES])
    try:
        root = xmlsafe.parse(text)
    except (expat.ExpatError, xmlsafe.XmlRefusedError) as exc:
        warnings.append(xmlsafe.describe_error(exc))
        blocks = xmlsafe.salvage(text, "system.webServer", warnings, WEB_SECTIONS)
        warnings.append(f"recovered {len(blocks)} <system.webServer> block(s); locations unknown")
        return collect([("", block) for block in blocks], warnings)
    return collect(iter_web_sections(root), warnings)


def iter_web_sections(root: ET.Element) -> Iterator[tuple[str, ET.Element]]:
    """``(location path, section element)`` for root-level and ``<location>`` sections."""
    scopes = [("", root)]
    scopes += [(loc.get("path", ""), loc) for loc in root.findall("location")]
    for location, scope in scopes:
        for name in ("system.webServer", "system.web"):
            for section in scope.findall(name):
                yield location, section


def collect(sections: Iterable[tuple[str, ET.Element]], warnings: list[str]) -> WebConfig:
    """Gather handlers, modules and rules from ``(location, section)`` pairs."""
    handlers: list[Handler] = []
    modules: list[Module] = []
    rules: list[RewriteRule] = []
    for location, section in sections:
        handlers += _handlers(location, section)
        modules += _modules(location, section)
        rules += _rules(location, section, warnings)
    return WebConfig(tuple(handlers), tuple(modules), tuple(rules), tuple(warnings))


def _handlers(location: str, section: ET.Element) -> list[Handler]:
    path = "handlers" if section.tag == "system.webServer" else "httpHandlers"
    return [
        Handler(
            name=add.get("name", ""),
            path=add.get("path", ""),
            verb=add.get("verb", ""),
            type=add.get("type"),
            script_processor=add.get("scriptProcessor"),
            modules=add.get("modules"),
            location=location,
            section=f"{section.tag}/{path}",
        )
        for add in section.findall(f"{path}/add")
    ]


def _modules(location: str, section: ET.Element) -> list[Module]:
    path = "modules" if section.tag == "system.webServer" else "httpModules"
    found = [
        Module(add.get("name", ""), add.get("type"), None, location, f"{section.tag}/{path}")
        for add in section.findall(f"{path}/add")
    ]
    # Native modules (DLLs loaded into every worker process) are an IIS backdoor's foothold.
    found += [
        Module(add.get("name", ""), None, add.get("image"), location, "globalModules")
        for add in section.findall("globalModules/add")
    ]
    return found


def _rules(location: str, section: ET.Element, warnings: list[str]) -> list[RewriteRule]:
    found: list[RewriteRule] = []
    for scope in ("rules", "globalRules"):
        for rule in section.findall(f"rewrite/{scope}/rule"):
            found.append(_rule(rule, location, scope, warnings))
    return found


def _rule(rule: ET.Element, location: str, scope: str, warnings: list[str]) -> RewriteRule:
    name = rule.get("name", "")
    what = f"rewrite rule {name[:60]!r}"
    match = rule.find("match")
    conditions = rule.find("conditions")
    action = rule.find("action")
    return RewriteRule(
        name=name,
        enabled=xmlsafe.flag(rule.get("enabled"), True, warnings, f"{what} enabled"),
        stop_processing=xmlsafe.flag(
            rule.get("stopProcessing"), False, warnings, f"{what} stopProcessing"
        ),
        pattern_syntax=rule.get("patternSyntax", "ECMAScript"),
        match_url=match.get("url") if match is not None else None,
        match_negate=_attr_flag(match, "negate", False, warnings, what),
        match_ignore_case=_attr_flag(match, "ignoreCase", True, warnings, what),
        logical_grouping=(
            conditions.get("logicalGrouping", "MatchAll") if conditions is not None else "MatchAll"
        ),
        conditions=_conditions(conditions, warnings, what),
        action_type=action.get("type", "None") if action is not None else "None",
        action_url=action.get("url") if action is not None else None,
        location=location,
        scope=scope,
    )


def _attr_flag(
    element: ET.Element | None, name: str, default: bool, warnings: list[str], what: str
) -> bool:
    if element is None:
        return default
    return xmlsafe.flag(element.get(name), default, warnings, f"{what} {name}")


def _conditions(
    conditions: ET.Element | None, warnings: list[str], what: str
) -> tuple[Condition, ...]:
    if conditions is None:
        return ()
    return tuple(
        Condition(
            input=add.get("input", ""),
            pattern=add.get("pattern", ""),
            negate=_attr_flag(add, "negate", False, warnings, what),
            ignore_case=_attr_flag(add, "ignoreCase", True, warnings, what),
            match_type=add.get("matchType", "Pattern"),
        )
        for add in conditions.findall("add")
    )
