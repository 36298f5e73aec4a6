"""Build a record predicate from a detection tree: nested closures, no tree walk at match time.

Each :class:`~.ir.Match` becomes one closure that reads its field once (through a field table's
getter, or the raw line or field values for keywords), folds it once for case-insensitive values,
and runs the grouped value tests of :mod:`.text`. *And*/*or* nodes short-circuit over their
children, cheapest first. A field table (:mod:`.logsources`) is named by ``table``: an artifact
type, or a log source variant's own table (Security 4688 reads Sysmon names differently).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

from exhunt.detect.sigma.fields import field_getter, repeated_getter
from exhunt.detect.sigma.ir import (
    AllOf,
    Alternatives,
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
    Value,
)
from exhunt.detect.sigma.logsources import artifact_fields
from exhunt.detect.sigma.regex import search_test
from exhunt.detect.sigma.text import combine, fold, text_test
from exhunt.model import Record

Predicate = Callable[[Record], bool]
ValueTest = Callable[[str | None], bool]

_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d*)?", re.ASCII)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+", re.ASCII)
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda left, right: left < right,
    "<=": lambda left, right: left <= right,
    ">": lambda left, right: left > right,
    ">=": lambda left, right: left >= right,
    "!=": lambda left, right: left != right,
}


def build_predicate(node: Node, table: str) -> Predicate:
    """The predicate of a detection tree for records read through the field table ``table``."""
    if isinstance(node, Match):
        return _match(node, table)
    if isinstance(node, Negation):
        inner = build_predicate(node.child, table)
        return lambda record: not inner(record)
    children = sorted(node.children, key=cost)
    predicates = tuple(build_predicate(child, table) for child in children)
    return _all(predicates) if isinstance(node, AllOf) else _any(predicates)


def cost(node: Node) -> int:
    """A rough evaluation cost, to run cheap tests first."""
    if isinstance(node, Match):
        return sum(_value_cost(value) for value in node.values) + (4 if node.field is None else 0)
    if isinstance(node, Negation):
        return cost(node.child)
    return sum(cost(child) for child in node.children)


def _value_cost(value: Value) -> int:
    if isinstance(value, Regex):
        return 20
    if isinstance(value, Alternatives):
        return sum(_value_cost(item) for item in value.values)
    if isinstance(value, Cidr | FieldRef):
        return 6
    if isinstance(value, Text) and len(value.tokens) > 3:
        return 4
    return 1


def _all(predicates: Sequence[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) and second(record)

    def every(record: Record) -> bool:
        # A plain loop: twice as fast as all() over a generator on this hot path.
        for predicate in predicates:  # noqa: SIM110
            if not predicate(record):
                return False
        return True

    return every


def _any(predicates: Sequence[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda record: first(record) or second(record)

    def some(record: Record) -> bool:
        for predicate in predicates:  # noqa: SIM110
            if predicate(record):
                return True
        return False

    return some


def _match(match: Match, table: str) -> Predicate:
    references = [value for value in match.values if isinstance(value, FieldRef)]
    plain = [value for value in match.values if not isinstance(value, FieldRef)]
    predicates: list[Predicate] = []
    if plain:
        test = value_test(plain, table, require_all=match.require_all)
        predicates.append(_read(match.field, test, table))
    assert match.field is not None or not references
    predicates += [_field_ref(str(match.field), ref, table) for ref in references]
    if len(predicates) == 1:
        return predicates[0]
    return _all(predicates) if match.require_all else _any(predicates)


def _read(field: str | None, test: ValueTest, table: str) -> Predicate:
    if field is None:
        return _keywords(test, table)
    repeated = repeated_getter(table, field)
    if repeated is not None:
        return _read_repeated(repeated, test)
    get = field_getter(table, field)
    return lambda record: test(get(record.fields))


def _keywords(test: ValueTest, table: str) -> Predicate:
    """Keywords search the raw line, or the field values where the raw text is encoded."""
    if artifact_fields(table).keywords_in_values:
        return lambda record: test("\n".join(record.fields.values()))
    return lambda record: test(record.raw or " ".join(record.fields.values()))


def _read_repeated(
    get: Callable[[Mapping[str, str]], tuple[str, ...]], test: ValueTest
) -> Predicate:
    def predicate(record: Record) -> bool:
        values = get(record.fields)
        if not values:
            return test(None)
        for value in values:  # noqa: SIM110
            if test(value):
                return True
        return False

    return predicate


def value_test(values: Sequence[Value], table: str, *, require_all: bool) -> ValueTest:
    """One test of a field's value (``None`` when absent) against values: any, or all."""
    empty = artifact_fields(table).empty_values
    folded = [v for v in values if isinstance(v, Text) and not v.cased and not v.is_empty]
    cased = [v for v in values if isinstance(v, Text) and v.cased and not v.is_empty]
    tests: list[ValueTest] = []
    if folded:
        tests.append(_on_text(text_test(folded, require_all=require_all), fold))
    if cased:
        tests.append(_on_text(text_test(cased, require_all=require_all), None))
    tests += [
        _single(value, table, empty)
        for value in values
        if not (isinstance(value, Text) and not value.is_empty)
    ]
    return combine(tests, require_all=require_all)


def _on_text(test: Callable[[str], bool], transform: Callable[[str], str] | None) -> ValueTest:
    if transform is None:
        return lambda value: value is not None and test(value)
    return lambda value: value is not None and test(transform(value))


def _single(value: Value, table: str, empty: frozenset[str]) -> ValueTest:
    if isinstance(value, Text):  # the empty string: IIS writes it "-"
        return lambda found: found is not None and found in empty
    if isinstance(value, Null):
        return lambda found: found is None or found in empty
    if isinstance(value, Exists):
        # The specification: presence only, "be it empty or null".
        present = value.present
        return lambda found: (found is not None) == present
    if isinstance(value, Alternatives):
        return value_test(value.values, table, require_all=False)
    if isinstance(value, Regex):
        search = search_test(value.pattern, value.flags)
        return lambda found: found is not None and search(found)
    return _typed(value, artifact_fields(table).hex_numbers)


def _typed(value: Value, hex_numbers: bool) -> ValueTest:
    if isinstance(value, Number):
        return _number_equals(value.value, hex_numbers)
    if isinstance(value, Boolean):
        expected = str(value.value).lower()
        return lambda found: found is not None and found.strip().lower() == expected
    if isinstance(value, Compare):
        return _compare(value, hex_numbers)
    if isinstance(value, Cidr):
        return _cidr(value)
    raise TypeError(f"no test for {type(value).__name__}")


def parse_number(text: str, hex_numbers: bool = False) -> int | float | None:
    """A decimal number (``"200"``, ``"-1.5"``), with ``hex_numbers`` also a hexadecimal one as
    Windows logs write access masks and ids (``"0x1410"``); ``None`` for anything else."""
    text = text.strip()
    if hex_numbers and _HEX.fullmatch(text) is not None:
        return int(text, 16)
    if _DECIMAL.fullmatch(text) is None:
        return None
    return float(text) if "." in text else int(text)


def _number_equals(number: int | float, hex_numbers: bool) -> ValueTest:
    text = str(number)

    def test(found: str | None) -> bool:
        if found is None:
            return False
        if found == text:
            return True
        parsed = parse_number(found, hex_numbers)
        return parsed is not None and parsed == number

    return test


def _compare(value: Compare, hex_numbers: bool) -> ValueTest:
    operator = _COMPARISONS[value.op]
    limit = value.value

    def test(found: str | None) -> bool:
        parsed = None if found is None else parse_number(found, hex_numbers)
        return parsed is not None and operator(parsed, limit)

    return test


def _cidr(value: Cidr) -> ValueTest:
    network = value.network

    def test(found: str | None) -> bool:
        address = None if found is None else client_address(found)
        return address is not None and address in network

    return test


def client_address(text: str) -> IPv4Address | IPv6Address | None:
    """The address in a field: ``ip``, ``ip:port`` or ``[ipv6]:port``; of a list of hops
    (Rps_Http ``ClientIpAddress``, ``X-Forwarded-For``), the first: the original client."""
    tokens = text.replace(",", " ").split()
    if not tokens:
        return None
    token = tokens[0]
    for candidate in (token, token.rsplit(":", 1)[0].strip("[]")):
        try:
            return ip_address(candidate)
        except ValueError:
            continue
    return None


def _field_ref(field: str, ref: FieldRef, table: str) -> Predicate:
    get = field_getter(table, field)
    get_other = field_getter(table, ref.field)

    def predicate(record: Record) -> bool:
        value, other = get(record.fields), get_other(record.fields)
        if value is None or other is None:
            return False
        value, other = fold(value), fold(other)
        if ref.startswith and ref.endswith:
            return other in value
        if ref.startswith:
            return value.startswith(other)
        if ref.endswith:
            return value.endswith(other)
        return value == other

    return predicate
