"""Fixtures for Sigma engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma_helpers import RuleFactory, rule_text

from exhunt.detect.sigma import CompiledSigmaRule, load_rule_file


@pytest.fixture
def make_rule(tmp_path: Path) -> RuleFactory:
    """Compile a rule from a detection block (YAML text), a logsource and extra top-level YAML."""
    counter = iter(range(1_000_000))

    def make(
        detection: str, logsource: str = "category: webserver", extra: str = ""
    ) -> CompiledSigmaRule:
        path = tmp_path / f"rule_{next(counter)}.yml"
        path.write_text(rule_text(detection, logsource, extra), encoding="utf-8")
        (rule,) = load_rule_file(path)
        return rule

    return make
