"""Translate a pySigma rule's condition tree into exhunt's detection tree (:mod:`.ir`).

pySigma resolves the condition language (``and``/``or``/``not``, ``1 of sel*``, ``all of
them``) and the value modifiers (wildcards for ``contains``/``startswith``/``endswith``,
expansions for ``windash`` and ``base64offset``, regular expressions, CIDR, comparisons). This
module walks the result once, maps every value to an :mod:`.ir` value and merges sibling tests on
one field, so matching never touches pySigma objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from exhunt.detect.sigma.ir import (
    AllOf,
    Alternatives,
    AnyOf,
    Boolean,
    Cidr,
    Compare,
    Exists,
    FieldRef,
    Match,
    Negation,
    Node,
    Null,
    Number,
    Regex,
    Text,
    Token,
    Value,
    Wildcard,
)


class TranslationError(Exception):
    """A construct exhunt cannot evaluate; ``token`` helps to find its line in the rule file."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.token = token


_COMPARE_OPS = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "!=",
}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}
_WILDCARDS = {
    SpecialChars.WILDCARD_MULTI: Wildcard.MANY,
    SpecialChars.WILDCARD_SINGLE: Wildcard.ONE,
}


def translate_rule(rule: SigmaRule) -> Node:
    """The detection tree of a rule; several conditions in one rule are alternatives."""
    trees = [
        translate_condition(condition.parse()) for condition in rule.detection.parsed_condition
    ]
    return trees[0] if len(trees) == 1 else AnyOf(tuple(trees))


def translate_condition(item: Any) -> Node:
    """Translate one pySigma condition tree item (postprocessed) into a node."""
    if isinstance(item, ConditionAND):
        return _merge(AllOf, [translate_condition(arg) for arg in item.args])
    if isinstance(item, ConditionOR):
        return _merge(AnyOf, [translate_condition(arg) for arg in item.args])
    if isinstance(item, ConditionNOT):
        return Negation(translate_condition(item.args[0]))
    if isinstance(item, ConditionFieldEqualsValueExpression):
        return Match(item.field, (translate_value(item.value, item.field),))
    if isinstance(item, ConditionValueExpression):
        return Match(None, (_keyword(translate_value(item.value, None)),))
    raise TranslationError(f"unsupported condition element {type(item).__name__}")


def translate_value(value: Any, field: str | None) -> Value:
    """Map one pySigma value to an :mod:`.ir` value."""
    if isinstance(value, SigmaString):
        return _text(value, field)
    if isinstance(value, SigmaExpansion):
        return Alternatives(tuple(translate_value(item, field) for item in value.values))
    if isinstance(value, SigmaRegularExpression):
        return _regex(value)
    if isinstance(value, SigmaNull):
        return Null()
    if isinstance(value, SigmaExists):
        return Exists(bool(value.exists))
    if isinstance(value, SigmaTimestampPart):
        raise TranslationError("timestamp part modifiers are not supported", field)
    if isinstance(value, SigmaNumber):
        return Number(value.number)
    if isinstance(value, SigmaBool):
        return Boolean(bool(value.boolean))
    if isinstance(value, SigmaCompareExpression):
        return Compare(_COMPARE_OPS[value.op], value.number.number)
    if isinstance(value, SigmaCIDRExpression):
        return Cidr(value.network)
    if isinstance(value, SigmaFieldReference):
        return _field_ref(value, field)
    raise TranslationError(f"unsupported value type {type(value).__name__}", field)


def _text(value: SigmaString, field: str | None) -> Text:
    tokens: list[Token] = []
    for part in value.s:
        if isinstance(part, str):
            if tokens and isinstance(tokens[-1], str):
                tokens[-1] += part
            else:
                tokens.append(part)
        elif isinstance(part, SpecialChars):
            tokens.append(_WILDCARDS[part])
        elif isinstance(part, Placeholder):
            raise TranslationError(
                f"unresolved placeholder %{part.name}% (no value list is configured)",
                f"%{part.name}%",
            )
    return Text(tuple(tokens), cased=isinstance(value, SigmaCasedString))


def _regex(value: SigmaRegularExpression) -> Regex:
    if value.contains_placeholder():
        raise TranslationError("unresolved placeholder in a regular expression (no value list)")
    flags = 0
    for flag in value.flags:
        flags |= _REGEX_FLAGS[flag]
    return Regex(value.regexp.to_plain_regex(), flags)


def _field_ref(value: SigmaFieldReference, field: str | None) -> FieldRef:
    if field is None:
        raise TranslationError("fieldref needs a field to compare with", value.field)
    return FieldRef(value.field, startswith=value.starts_with, endswith=value.ends_with)


def _keyword(value: Value) -> Value:
    """Keywords search the raw line: a plain keyword matches anywhere in it."""
    if isinstance(value, Text):
        return _contains(value)
    if isinstance(value, Number | Boolean):
        return Text((Wildcard.MANY, str(value.value), Wildcard.MANY))
    if isinstance(value, Alternatives):
        return Alternatives(tuple(_keyword(item) for item in value.values))
    if isinstance(value, Regex):
        return value
    raise TranslationError(f"{type(value).__name__.lower()} values need a field")


def _contains(text: Text) -> Text:
    tokens = text.tokens
    if not tokens or tokens[0] is not Wildcard.MANY:
        tokens = (Wildcard.MANY, *tokens)
    if tokens[-1] is not Wildcard.MANY:
        tokens = (*tokens, Wildcard.MANY)
    return Text(tokens, text.cased)


def _merge(kind: type[AllOf] | type[AnyOf], children: Sequence[Node]) -> Node:
    """Flatten nested nodes of the same kind and join tests of one field into one match.

    Joining lets a list of values on one field become a single set lookup or prefix test.
    """
    flat = list(_flatten(kind, children))
    require_all = kind is AllOf
    merged: list[Node] = []
    by_field: dict[str | None, int] = {}
    for child in flat:
        if isinstance(child, Match) and _joinable(child, require_all):
            index = by_field.get(child.field)
            if index is not None:
                previous = merged[index]
                assert isinstance(previous, Match)
                merged[index] = Match(child.field, previous.values + child.values, require_all)
                continue
            by_field[child.field] = len(merged)
        merged.append(child)
    if len(merged) == 1:
        return merged[0]
    if kind is AnyOf:
        return _factor_common(merged)
    return kind(tuple(merged))


def _factor_common(alternatives: list[Node]) -> Node:
    """Rewrite ``(a and b) or (a and c)`` as ``a and (b or c)``, so ``a`` is tested once.

    Rules often repeat a cheap test (``cs-method: POST``) in every selection.
    """
    conjuncts = [_conjuncts(alternative) for alternative in alternatives]
    common = [item for item in conjuncts[0] if all(item in others for others in conjuncts[1:])]
    if not common:
        return AnyOf(tuple(alternatives))
    rests = [tuple(item for item in items if item not in common) for items in conjuncts]
    if any(not rest for rest in rests):  # (a) or (a and b) is just a
        return _merge(AllOf, common)
    remainder = _merge(AnyOf, [rest[0] if len(rest) == 1 else AllOf(rest) for rest in rests])
    return _merge(AllOf, [*common, remainder])


def _conjuncts(node: Node) -> tuple[Node, ...]:
    return node.children if isinstance(node, AllOf) else (node,)


def _flatten(kind: type[AllOf] | type[AnyOf], children: Iterable[Node]) -> Iterable[Node]:
    for child in children:
        if isinstance(child, kind):
            yield from child.children
        else:
            yield child


def _joinable(match: Match, require_all: bool) -> bool:
    return len(match.values) == 1 or match.require_all == require_all
