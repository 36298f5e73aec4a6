"""The compiled form of a Sigma detection: a small immutable tree of plain values.

pySigma parses a rule and resolves its condition and modifiers; :mod:`.translate` turns the
result into this tree once. Predicates (:mod:`.predicates`) and prefilter literals
(:mod:`.literals`) are both derived from it, and it pickles, so a compiled rule can be sent to a
worker process and rebuilt there without pySigma.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ipaddress import IPv4Network, IPv6Network


class Wildcard(Enum):
    """A Sigma wildcard inside a string value."""

    MANY = "*"
    ONE = "?"


Token = str | Wildcard


@dataclass(frozen=True, slots=True)
class Text:
    """A Sigma string: literal parts and wildcards; case-insensitive unless ``cased``."""

    tokens: tuple[Token, ...]
    cased: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.tokens


@dataclass(frozen=True, slots=True)
class Regex:
    """A ``|re`` value, matched anywhere in the value (``re.search`` semantics)."""

    pattern: str
    flags: int = 0
    """Python ``re`` flags (``re.I``, ``re.M``, ``re.S``)."""


@dataclass(frozen=True, slots=True)
class Null:
    """Sigma ``null``: the field is missing or has an empty value."""


@dataclass(frozen=True, slots=True)
class Exists:
    """``|exists``: whether the field has a (non-empty) value."""

    present: bool


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric value, equal to a field that holds the same decimal number."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool


@dataclass(frozen=True, slots=True)
class Compare:
    """``|lt``, ``|lte``, ``|gt``, ``|gte``: a numeric comparison with the field's value."""

    op: str
    """One of ``<``, ``<=``, ``>``, ``>=``, ``!=``."""
    value: int | float


@dataclass(frozen=True, slots=True)
class Cidr:
    network: IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class FieldRef:
    """``|fieldref``: the field equals (or starts with, ends with, contains) another field."""

    field: str
    startswith: bool = False
    endswith: bool = False


@dataclass(frozen=True, slots=True)
class Alternatives:
    """Values that a modifier expanded one value into (``|windash``, ``|base64offset``): any."""

    values: tuple[Value, ...]


Value = Text | Regex | Null | Exists | Number | Boolean | Compare | Cidr | FieldRef | Alternatives


@dataclass(frozen=True, slots=True)
class Match:
    """A field (or, with ``field`` ``None``, the raw line) against values: any, or all of them."""

    field: str | None
    values: tuple[Value, ...]
    require_all: bool = False


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    child: Node


Node = Match | AllOf | AnyOf | Negation
