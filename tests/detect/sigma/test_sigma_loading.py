"""Loading rule files: errors located by file and line, metadata, inactive rules, rule sets."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from sigma_helpers import RuleFactory, iis, rule_text

from exhunt.detect.sigma import load_rule_file, load_sigma_rules
from exhunt.exceptions import RuleError
from exhunt.model import Category, Severity

SELECTION = "sel:\n  cs-method: POST\ncondition: sel"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> RuleError:
    with pytest.raises(RuleError) as caught:
        load_rule_file(path)
    return caught.value


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yml", "title: x\nlogsource:\n  category: webserver\n  : : [\n")
    error = _error(path)
    assert error.path == str(path)
    assert error.line == 4
    assert str(error).startswith(f"{path}:4: invalid YAML")


def test_unknown_modifier_names_its_line(tmp_path: Path) -> None:
    text = rule_text("sel:\n  cs-method: POST\n  cs-uri-stem|contians: /ecp/\ncondition: sel")
    error = _error(_write(tmp_path, "typo.yml", text))
    assert error.line == 7
    assert "Unknown modifier" in error.reason


def test_undefined_detection_in_condition_names_condition_line(tmp_path: Path) -> None:
    text = rule_text("sel:\n  cs-method: POST\ncondition: sel and filter")
    error = _error(_write(tmp_path, "cond.yml", text))
    assert error.line == 7
    assert "filter" in error.reason


def test_invalid_level_names_its_line(tmp_path: Path) -> None:
    text = rule_text(SELECTION, extra="level: severe\n")
    error = _error(_write(tmp_path, "level.yml", text))
    assert error.line == 8
    assert "level" in error.reason


def test_missing_detection(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "nodet.yml", "title: x\nlogsource:\n  category: webserver\n"))
    assert "detection" in error.reason
    assert error.path == str(tmp_path / "nodet.yml")


def test_unresolved_placeholder(tmp_path: Path) -> None:
    text = rule_text("sel:\n  c-ip|expand: '%admin_ips%'\ncondition: sel")
    error = _error(_write(tmp_path, "ph.yml", text))
    assert error.line == 6
    assert "%admin_ips%" in error.reason


def test_invalid_exhunt_category(tmp_path: Path) -> None:
    text = rule_text(SELECTION, extra="exhunt:\n  group: proxylogon-ssrf\n  category: bad\n")
    error = _error(_write(tmp_path, "cat.yml", text))
    assert error.line == 10
    assert "unknown category 'bad'" in error.reason


def test_correlation_rules_are_refused(tmp_path: Path) -> None:
    text = (
        "title: many\nid: 5d6e1a8b-55c9-4b52-9a57-0f6fb1f1a2c3\ncorrelation:\n  type: event_count\n"
        "  rules: [x]\n  group-by: [c-ip]\n  timespan: 1h\n  condition:\n    gte: 10\n"
    )
    error = _error(_write(tmp_path, "corr.yml", text))
    assert error.reason == "correlation rules are not supported"
    assert error.line == 3


def test_not_a_mapping(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "list.yml", "- a\n- b\n"))
    assert error.reason == "a Sigma rule must be a YAML mapping"


def test_empty_file(tmp_path: Path) -> None:
    assert _error(_write(tmp_path, "empty.yml", "")).reason == "no Sigma rule in file"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = rule_text(SELECTION) + "\n".join(lines) + "\n"
    assert "YAML aliases" in _error(_write(tmp_path, "bomb.yml", text)).reason


def test_load_raises_first_error_unless_skipping(tmp_path: Path) -> None:
    _write(tmp_path, "a_good.yml", rule_text(SELECTION))
    _write(tmp_path, "b_bad.yml", rule_text("sel:\n  x|nope: 1\ncondition: sel"))
    with pytest.raises(RuleError) as caught:
        load_sigma_rules([tmp_path])
    assert caught.value.path == str(tmp_path / "b_bad.yml")
    ruleset = load_sigma_rules([tmp_path], skip_invalid=True)
    assert [rule.path.name for rule in ruleset.rules] == ["a_good.yml"]
    assert [error.path for error in ruleset.errors] == [str(tmp_path / "b_bad.yml")]
    summary = ruleset.summary()
    assert (summary.loaded, summary.active, summary.inactive, summary.failed) == (1, 1, 0, 1)
    assert summary.failures == {"Unknown modifier '…'": 1}


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such rule file or folder"):
        load_sigma_rules([tmp_path / "nope"])


def test_folders_are_read_recursively(tmp_path: Path) -> None:
    _write(tmp_path, "a/one.yml", rule_text(SELECTION))
    _write(tmp_path, "a/b/two.YAML", rule_text(SELECTION))
    _write(tmp_path, "a/readme.md", "not a rule")
    ruleset = load_sigma_rules([tmp_path / "a"])
    assert sorted(rule.path.name for rule in ruleset.rules) == ["one.yml", "two.YAML"]
    # Load order is path order: "a/b/two.YAML" sorts before "a/one.yml".
    assert [rule.info.id for rule in ruleset.for_artifact("iis.w3c")] == ["two", "one"]


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    extra = "id: 0f2a9c3e-7d1b-4e25-8c55-1b0b9e4f7a61\n"
    _write(tmp_path, "a.yml", rule_text(SELECTION, extra=extra))
    _write(tmp_path, "b.yml", rule_text(SELECTION, extra=extra))
    ruleset = load_sigma_rules([tmp_path], skip_invalid=True)
    assert len(ruleset.rules) == 1
    assert "duplicate rule id 0f2a9c3e-7d1b-4e25-8c55-1b0b9e4f7a61" in ruleset.errors[0].reason


def test_inactive_rule_is_loaded_and_listed(tmp_path: Path) -> None:
    logsource = "product: linux\ncategory: process_creation"
    _write(
        tmp_path,
        "proc.yml",
        rule_text("sel:\n  Image|endswith: '/bash'\ncondition: sel", logsource),
    )
    _write(tmp_path, "web.yml", rule_text(SELECTION))
    ruleset = load_sigma_rules([tmp_path])
    (inactive,) = ruleset.inactive
    assert inactive.path.name == "proc.yml"
    assert not inactive.active
    assert inactive.inactive_reason == (
        "no matching log source (product=linux, category=process_creation)"
    )
    assert ruleset.summary().inactive_logsources == {"product=linux, category=process_creation": 1}
    assert ruleset.artifacts == {"iis.w3c"}
    assert not inactive.matches(iis())


def test_metadata(make_rule: RuleFactory) -> None:
    extra = """
id: 67bce556-312f-4c81-9162-c3c9ff2599b2
description: |
    Detects things.
references:
    - https://example.org/a
tags:
    - attack.initial-access
    - attack.t1190
    - attack.t1505.003
    - cve.2021-26855
    - cve.2021.27065
level: critical
"""
    info = make_rule(SELECTION, extra=extra).info
    assert info.id == "67bce556-312f-4c81-9162-c3c9ff2599b2"
    assert info.title == "Test rule"
    assert info.severity is Severity.CRITICAL
    assert info.category is Category.ATTEMPT
    assert info.cves == ("CVE-2021-26855", "CVE-2021-27065")
    assert info.attack == ("T1190", "T1505.003")
    assert info.description == "Detects things."
    assert info.references == ("https://example.org/a",)


def test_id_defaults_to_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "web_probe.yml", rule_text(SELECTION))
    (rule,) = load_rule_file(path)
    assert rule.info.id == "web_probe"
    assert rule.info.severity is Severity.MEDIUM


@pytest.mark.parametrize(
    ("tags", "level", "category"),
    [
        (["attack.t1190"], "high", Category.ATTEMPT),
        (["cve.2022-41082"], "low", Category.ATTEMPT),
        (["attack.persistence", "attack.t1505.003"], "high", Category.WEBSHELL),
        (["attack.credential-access", "attack.t1003.001"], "high", Category.POST_EXPLOITATION),
        (["attack.persistence", "attack.t1098"], "medium", Category.PERSISTENCE),
        (["attack.discovery"], "informational", Category.INFORMATIONAL),
        (["attack.discovery"], "low", Category.INFORMATIONAL),
        (["attack.execution"], "medium", Category.POST_EXPLOITATION),
        ([], None, Category.POST_EXPLOITATION),
    ],
)
def test_category_from_tags(
    make_rule: RuleFactory, tags: list[str], level: str | None, category: Category
) -> None:
    extra = f"tags: [{', '.join(tags)}]\n" + (f"level: {level}\n" if level else "")
    assert make_rule(SELECTION, extra=extra).info.category is category


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("informational", Severity.INFO),
        ("low", Severity.LOW),
        ("medium", Severity.MEDIUM),
        ("high", Severity.HIGH),
        ("critical", Severity.CRITICAL),
    ],
)
def test_severity_from_level(make_rule: RuleFactory, level: str, severity: Severity) -> None:
    assert make_rule(SELECTION, extra=f"level: {level}\n").info.severity is severity


def test_exhunt_field(make_rule: RuleFactory) -> None:
    extra = (
        "tags: [attack.t1190]\n"
        "exhunt:\n  category: exploitation\n  group: proxylogon-ssrf\n  tags: [ssrf]\n"
    )
    rule = make_rule(SELECTION, extra=extra)
    assert rule.info.category is Category.EXPLOITATION
    assert rule.exhunt == {"category": "exploitation", "group": "proxylogon-ssrf", "tags": ["ssrf"]}
    assert make_rule(SELECTION).exhunt == {}


def test_compiled_rule_pickles(make_rule: RuleFactory) -> None:
    rule = make_rule(
        "sel:\n  cs-method: POST\n  c-ip|cidr: 203.0.113.0/24\n"
        "  cs-uri-stem|re: '^/ecp/'\ncondition: sel",
        extra="exhunt:\n  group: g\n",
    )
    copy = pickle.loads(pickle.dumps(rule))
    hit = iis(cs_method="POST", cs_uri_stem="/ecp/x")
    assert copy.matches(hit) and rule.matches(hit)
    assert not copy.matches(iis(cs_method="GET", cs_uri_stem="/ecp/x"))
    assert copy.info == rule.info
    assert copy.exhunt == {"group": "g"}
    assert copy.literals("iis.w3c") == rule.literals("iis.w3c") == {"/ecp/"}


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = rule_text("sel:\n  cs-method: POST\n  cs-method: GET\ncondition: sel")
    error = _error(_write(tmp_path, "dup.yml", text))
    assert error.reason == "invalid YAML: Duplicate key 'cs-method'"
    assert error.line == 7
