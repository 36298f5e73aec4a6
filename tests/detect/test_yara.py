"""YARA rules with yara-x: third-party files with externals, compile errors, the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from exhunt.detect.rules import RuleSpec, load_ruleset
from exhunt.detect.yara import (
    compile_files,
    escape_bytes,
    load_yara,
    rule_files,
)
from exhunt.model import Category, Severity
from exhunt.options import ScanOptions
from exhunt.scan import scan

THIRD_PARTY = """
rule WEBSHELL_Test_Externals {
    meta:
        description = "test rule using externals"
        score = 85
    strings:
        $a = "marker-123"
    condition:
        $a and filename == "shell.aspx" and extension == ".aspx"
        and filepath contains "upload" and filetype == ""
}
rule SUSP_Gif_Type {
    meta:
        score = 55
    condition:
        filetype == "GIF"
}
"""
BROKEN = """
rule good_one { condition: true }

rule broken { condition: undefined_thing }
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXHUNT_CACHE_DIR", str(tmp_path / "cache"))


def _rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "third.yar").write_text(THIRD_PARTY, "utf-8")
    (folder / "broken.yar").write_text(BROKEN, "utf-8")
    return folder


def test_broken_file_is_reported_by_name_and_line_and_skipped(tmp_path: Path) -> None:
    compiled = compile_files(rule_files([_rules(tmp_path)], bundled=False))
    (problem,) = compiled.problems
    assert problem.path == str(tmp_path / "rules" / "broken.yar")
    assert problem.line == 4
    assert problem.reason == "error[E009]: unknown identifier `undefined_thing`"
    names = sorted(rule.info.id for rule in compiled.rules.values())
    assert names == ["yara.SUSP_Gif_Type", "yara.WEBSHELL_Test_Externals"]


def test_third_party_metadata_becomes_rule_info(tmp_path: Path) -> None:
    compiled = compile_files(rule_files([_rules(tmp_path)], bundled=False))
    infos = {rule.info.id: rule.info for rule in compiled.rules.values()}
    shell = infos["yara.WEBSHELL_Test_Externals"]
    assert (shell.severity, shell.category) == (Severity.HIGH, Category.WEBSHELL)
    assert shell.title == "YARA WEBSHELL_Test_Externals: test rule using externals"
    gif = infos["yara.SUSP_Gif_Type"]
    assert (gif.severity, gif.category) == (Severity.LOW, Category.POST_EXPLOITATION)


def test_externals_are_set_per_file_in_a_plain_folder(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    (evidence / "upload").mkdir(parents=True)
    (evidence / "upload" / "shell.aspx").write_bytes(b"<% marker-123 %>")
    (evidence / "upload" / "other.aspx").write_bytes(b"<% marker-123 %>")
    (evidence / "upload" / "pic.bin").write_bytes(b"GIF89a....")
    options = ScanOptions(yara_paths=(_rules(tmp_path),), jobs=1)
    document = scan([evidence], options)
    hits = sorted((loc.rule, loc.path) for f in document.findings for loc in f.evidence)
    assert hits == [
        ("yara.SUSP_Gif_Type", "upload/pic.bin"),
        ("yara.WEBSHELL_Test_Externals", "upload/shell.aspx"),
    ]
    shell = next(f for f in document.findings if "yara.WEBSHELL_Test_Externals" in f.rules)
    (location,) = shell.evidence
    assert (location.line, location.excerpt) == (1, "marker-123")
    assert [e.component for e in document.errors] == ["rules"]
    assert document.errors[0].path == str(tmp_path / "rules" / "broken.yar")
    assert document.errors[0].line == 4


def test_compiled_rules_are_cached_by_content(tmp_path: Path) -> None:
    files = rule_files([_rules(tmp_path)], bundled=False)
    first = load_yara(files)
    cached = list((tmp_path / "cache").glob("yara-*.pickle"))
    assert len(cached) == 1
    second = load_yara(files)
    assert second.digest == first.digest and second.blob == first.blob
    (tmp_path / "rules" / "third.yar").write_text(THIRD_PARTY + "\nrule extra { condition: false }")
    third = load_yara(files)
    assert third.digest != first.digest
    assert len(list((tmp_path / "cache").glob("yara-*.pickle"))) == 2


def test_bundled_pack_compiles_without_problems() -> None:
    ruleset = load_ruleset(RuleSpec())
    assert [e for e in ruleset.errors if "yara" in str(e.path)] == []
    ids = {i.id for rule in ruleset.rules for i in rule.emits if i.id.startswith("exhunt.yara.")}
    assert len(ids) == 45
    assert "exhunt.yara.chopper-oab-dump" in ids


def test_escape_bytes_keeps_ascii_and_escapes_the_rest() -> None:
    assert escape_bytes(b'eval(Request["a"])') == 'eval(Request["a"])'
    assert escape_bytes(b"a\x00b\r\n\xc3\xa9\tc") == "a\\x00b\\x0d\\x0a\\xc3\\xa9\tc"
