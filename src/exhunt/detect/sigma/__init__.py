"""The Sigma engine: SigmaHQ-style YAML rules compiled to fast predicates over records.

pySigma 2.x parses rules and resolves their condition language and modifiers; exhunt then
compiles each rule once into

* a predicate made of closures over the record's native fields (mapped from Sigma field names in
  :mod:`.logsources`), case-insensitive unless ``|cased``;
* per artifact type, a set of lower-case literals one of which the raw line of every matching
  record contains (or ``None``), for a multi-pattern prefilter over raw log bytes.

Rules whose log source maps to no artifact type load but stay inactive and are listed as such.

Example::

    ruleset = load_sigma_rules([Path("rules/sigma")])
    for rule in ruleset.for_artifact("iis.w3c"):
        if rule.matches(record):
            ...
"""

from typing import TYPE_CHECKING, Any

from exhunt.detect.sigma.fields import field_value
from exhunt.detect.sigma.rule import CompiledSigmaRule

if TYPE_CHECKING:
    from exhunt.detect.sigma.ruleset import (
        RuleSetSummary,
        SigmaRuleSet,
        load_rule_file,
        load_sigma_rules,
    )

__all__ = [
    "CompiledSigmaRule",
    "RuleSetSummary",
    "SigmaRuleSet",
    "field_value",
    "load_rule_file",
    "load_sigma_rules",
]

_LOADER = frozenset({"RuleSetSummary", "SigmaRuleSet", "load_rule_file", "load_sigma_rules"})


def __getattr__(name: str) -> Any:
    # The loader needs pySigma (slow to import); compiled rules, as from a cache, do not.
    if name in _LOADER:
        from exhunt.detect.sigma import ruleset

        return getattr(ruleset, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
