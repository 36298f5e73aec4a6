"""Where exhunt's reading of a Sigma modifier differs from pySigma's, and why.

``windash``: the specification makes ``-``, ``/``, U+2013 (en dash), U+2014 (em dash) and
U+2015 (horizontal bar) interchangeable. pySigma 2.0 expands only ``-`` and ``/`` found at the
start of a word (a flag), so a rule written with an en dash flag would not match ``-enc``. The
replacement below expands every one of the five characters at the start of a word, with
pySigma's own limit of three expanded flags per value.

References:
    https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-appendix-modifiers.md
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sigma import modifiers
from sigma.modifiers import SigmaWindowsDashModifier
from sigma.types import Placeholder, SigmaExpansion, SigmaString

_FLAG_DASH = re.compile("\\B[-/\u2013\u2014\u2015]\\b")


class WindowsDashModifier(SigmaWindowsDashModifier):
    """``windash`` over all five dash characters of the specification, at word starts."""

    def modify(self, val: SigmaString) -> SigmaExpansion:
        # pySigma's implementation matches "-" and "/" only; normalising every flag dash to
        # "-" first lets it expand the others too.
        normalised = val.replace_with_placeholder(_FLAG_DASH, _DASH)
        plain = normalised.replace_placeholders(_as_dash)
        return super().modify(plain[0] if plain else val)


_DASH = "_exhunt_flag_dash"


def _as_dash(placeholder: Placeholder) -> Iterator[str | Placeholder]:
    yield "-" if placeholder.name == _DASH else placeholder


def install() -> None:
    """Make pySigma's parser use exhunt's modifiers (idempotent)."""
    modifiers.modifier_mapping["windash"] = WindowsDashModifier
    modifiers.reverse_modifier_mapping[WindowsDashModifier.__name__] = "windash"
