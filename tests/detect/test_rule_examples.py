"""Every bundled rule's examples: each positive line hits, each near miss does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.detect.rules import RuleSpec, bundled_rules_dir, load_ruleset
from exhunt.testing.rulecases import load_cases, run_case

EXAMPLES = bundled_rules_dir() / "examples"
CASES = load_cases([EXAMPLES])


@pytest.mark.parametrize("case", CASES, ids=[c.path.stem for c in CASES])
def test_rule_examples(case) -> None:
    result = run_case(case, load_ruleset(RuleSpec()))
    assert result.failures == []


def test_every_bundled_rule_has_examples() -> None:
    ruleset = load_ruleset(RuleSpec())
    covered = {case.rule for case in CASES}
    # The hash rule needs a real web shell to match; tests/detect/test_ioc.py covers it.
    exempt = {"exhunt.ioc.hash", "exhunt.ioc.url"}
    missing = {info.id for rule in ruleset.rules for info in rule.emits} - covered - exempt
    assert missing == set()


def test_every_sigma_rule_file_has_an_example_file() -> None:
    sigma = {p.stem for p in (bundled_rules_dir() / "sigma").glob("*.yml")}
    examples = {p.stem for p in Path(EXAMPLES).glob("*.yml")}
    assert sigma - examples == set()
