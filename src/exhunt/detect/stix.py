"""STIX 2.1 bundles as indicator feeds: each indicator's pattern walked into literal values.

Every ``indicator`` object is checked with the ``stix2`` library, and its pattern parsed with
stix2's pattern visitor. The walk keeps equality (``=``) and ``IN`` comparisons that exhunt can
match in evidence:

| pattern path | exhunt type |
|---|---|
| ``ipv4-addr:value``, ``ipv6-addr:value`` | ``ipv4`` / ``ipv6`` |
| ``network-traffic:src_ref.value`` / ``dst_ref.value`` | ``ipv4`` / ``ipv6`` |
| ``file:hashes.'SHA-256'`` / ``SHA-1`` / ``MD5`` (also ``artifact:hashes``) | the hash |
| ``file:name`` | ``filename`` |
| ``file:name`` AND ``file:parent_directory_ref.path`` | ``path`` |
| ``url:value``, HTTP ``request_value`` | ``url-fragment`` (path and query) |
| HTTP ``request_header.'User-Agent'`` | ``user-agent`` |

``OR`` yields each side. Parts of an ``AND`` (or ``FOLLOWEDBY``) say less alone than
together: a hash among them is kept alone (it is exact); otherwise each part becomes a ``low``
confidence indicator. Negations, ``LIKE``, ``MATCHES`` and ranges are not literal values and are
left out; revoked indicators and non-STIX patterns (YARA, Snort) are skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from exhunt.detect.feeds import Origin, Provenance, make_indicator, report_skipped
from exhunt.detect.ioc import Indicator
from exhunt.exceptions import RuleError
from exhunt.timeutil import parse_time

HASHES = {"SHA256": "sha256", "SHA1": "sha1", "MD5": "md5"}
FIELDS = {
    ("ipv4-addr", ("value",)): "ip",
    ("ipv6-addr", ("value",)): "ip",
    ("network-traffic", ("src_ref", "value")): "ip",
    ("network-traffic", ("dst_ref", "value")): "ip",
    ("file", ("name",)): "file",
    ("file", ("parent_directory_ref", "path")): "directory",
    ("directory", ("path",)): "directory",
    ("url", ("value",)): "url",
    ("network-traffic", ("extensions", "http-request-ext", "request_value")): "url",
    ("network-traffic", ("extensions", "http-request-ext", "request_header", "user-agent")): (
        "user-agent"
    ),
}
LOW_CONFIDENCE = 50
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Literal:
    """One value a pattern compares with; ``loose`` when it is only part of the pattern."""

    kind: str
    value: str
    loose: bool = False


def read_stix_bundle(bundle: dict[str, Any], path: Path) -> list[Indicator]:
    """The indicators of a STIX bundle's ``indicator`` objects.

    Raises:
        RuleError: an invalid indicator or pattern, named by file and object id.
    """
    objects = bundle.get("objects") or []
    if not isinstance(objects, list):
        raise RuleError("the bundle's objects are not a list", str(path))
    version = "2.0" if bundle.get("spec_version") == "2.0" else "2.1"
    names = _identity_names(objects)
    skipped: Counter[str] = Counter()
    found: list[Indicator] = []
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "indicator":
            found.extend(_indicators(obj, path, version, names, skipped))
    report_skipped(path, skipped)
    return found


def literals(pattern: str, version: str = "2.1") -> list[Literal]:
    """The literal values a STIX pattern compares with, as exhunt can match them.

    Raises:
        ValueError: the pattern does not parse.
    """
    from stix2.pattern_visitor import create_pattern_object  # type: ignore[import-untyped]

    return _walk(create_pattern_object(pattern, version=version))


def _identity_names(objects: Iterable[Any]) -> dict[str, str]:
    return {
        str(obj["id"]): str(obj.get("name") or "")
        for obj in objects
        if isinstance(obj, dict) and obj.get("type") == "identity" and "id" in obj
    }


def _indicators(
    obj: dict[str, Any], path: Path, version: str, names: dict[str, str], skipped: Counter[str]
) -> Iterator[Indicator]:
    origin = _origin(obj, path)
    version = str(obj.get("spec_version") or version)
    _check(obj, version, origin)
    if obj.get("revoked") is True:
        skipped["revoked"] += 1
        return
    if version != "2.0" and obj.get("pattern_type") != "stix":
        skipped[f"{obj.get('pattern_type')} patterns"] += 1
        return
    try:
        found = literals(str(obj["pattern"]), version)
    except Exception as exc:  # the pattern grammar raises several unrelated types
        raise origin.error(f"invalid pattern: {exc}") from None
    provenance = _provenance(obj, path, names)
    for literal in found:
        low = literal.loose or provenance.confidence == "low"
        indicator = make_indicator(
            literal.kind, literal.value, origin, replace(provenance, confidence=_level(low))
        )
        if indicator is None:
            skipped[literal.kind] += 1
        else:
            yield indicator


def _check(obj: dict[str, Any], version: str, origin: Origin) -> None:
    """Let stix2 validate the object: required properties, types, the pattern's grammar."""
    import stix2  # type: ignore[import-untyped]
    from stix2.exceptions import STIXError  # type: ignore[import-untyped]

    try:
        stix2.parse(obj, allow_custom=True, version=version)
    except (STIXError, ValueError, TypeError) as exc:
        raise origin.error(f"not a valid STIX {version} indicator: {exc}") from None


def _provenance(obj: dict[str, Any], path: Path, names: dict[str, str]) -> Provenance:
    source = names.get(str(obj.get("created_by_ref")), "") or path.stem
    confidence = obj.get("confidence")
    low = isinstance(confidence, int) and confidence < LOW_CONFIDENCE
    return Provenance(
        source=source,
        reference=_reference(obj),
        confidence=_level(low),
        note=str(obj.get("name") or obj.get("description") or "")[:300],
        # valid_from is when the indicator was written, usually after the attack it describes:
        # only the end of its period is a limit on the evidence.
        valid_until=_time(obj.get("valid_until"), _origin(obj, path)),
    )


def _origin(obj: dict[str, Any], path: Path) -> Origin:
    return Origin(path, object_id=str(obj.get("id") or "indicator without id"))


def _time(value: Any, origin: Origin) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise origin.error(f"valid_until is not a STIX timestamp: {value!r}") from None


def _reference(obj: dict[str, Any]) -> str:
    for ref in obj.get("external_references") or []:
        if isinstance(ref, dict) and (ref.get("url") or ref.get("external_id")):
            return str(ref.get("url") or f"{ref.get('source_name')}:{ref.get('external_id')}")
    return str(obj.get("id") or "")


def _level(low: bool) -> str:
    return "low" if low else "high"


def _walk(node: Any) -> list[Literal]:
    from stix2 import patterns as p

    if isinstance(node, p.ObservationExpression):
        return _walk(node.operand)
    if isinstance(node, p.QualifiedObservationExpression):
        return _walk(node.observation_expression)
    if isinstance(node, p.ParentheticalExpression):
        return _walk(node.expression)
    if isinstance(node, p.OrObservationExpression | p.OrBooleanExpression):
        return [lit for operand in node.operands for lit in _walk(operand)]
    conjunctions = (
        p.AndObservationExpression,
        p.FollowedByObservationExpression,
        p.AndBooleanExpression,
    )
    if isinstance(node, conjunctions):
        return _conjunction([_walk(operand) for operand in node.operands])
    if isinstance(node, p.EqualityComparisonExpression | p.InComparisonExpression):
        return _comparison(node)
    return []


def _conjunction(parts: list[list[Literal]]) -> list[Literal]:
    """Hashes alone when present; a file name with its folder as a path; else all, loose."""
    found = [lit for part in parts for lit in part]
    hashes = [lit for lit in found if lit.kind in HASHES.values()]
    if hashes:
        return hashes
    names = [lit for lit in found if lit.kind == "file"]
    folders = [lit for lit in found if lit.kind == "directory"]
    if len(names) == 1 and len(folders) == 1:
        whole = folders[0].value.rstrip("\\/") + "\\" + names[0].value
        found = [lit for lit in found if lit.kind not in ("file", "directory")]
        found.append(Literal("path", whole))
    dropped = any(not part for part in parts)
    if dropped or len(found) > 1:
        return [replace(lit, loose=True) for lit in found]
    return found


def _comparison(node: Any) -> list[Literal]:
    if node.negated or node.operator not in ("=", "IN"):
        return []
    kind = _kind(node.lhs)
    if kind is None:
        return []
    return [Literal(kind, value) for value in _strings(node.rhs)]


def _kind(path: Any) -> str | None:
    steps = tuple(str(getattr(step, "property_name", "")) for step in path.property_path)
    object_type = str(path.object_type_name)
    if object_type in ("file", "artifact") and len(steps) == 2 and steps[0] == "hashes":
        return HASHES.get(steps[1].upper().replace("-", ""))
    return FIELDS.get((object_type, tuple(step.lower() for step in steps)))


def _strings(constant: Any) -> list[str]:
    from stix2 import patterns as p

    if isinstance(constant, p.ListConstant):
        return [value for item in constant.value for value in _strings(item)]
    if isinstance(constant, p.StringConstant):
        return [_ESCAPE.sub(r"\1", str(constant.value))]
    return []
