"""Recall over known web shells and false positives over known-good pages, overall and per rule.

    SHELLS=DIR BENIGN=DIR python bench/bench_webshells.py [--yara DIR]

Every file under SHELLS should be found (any YARA rule of the pack, or of ``--yara``); no file
under BENIGN should be. Without SHELLS/BENIGN the bundled rule examples are used (our own
samples: every positive and every near-miss negative), and the output says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

from exhunt.detect.rules import RuleSpec, bundled_rules_dir, load_ruleset
from exhunt.detect.treecontent import yara_of
from exhunt.detect.yara import YaraScanner
from exhunt.testing.rulecases import load_cases

SCRIPTS = (".aspx", ".ashx", ".asmx", ".asp", ".asa", ".cer", ".cshtml", ".config", ".cs", ".txt")


def scan_folder(folder: Path, scanner: YaraScanner) -> dict[Path, list[str]]:
    results: dict[Path, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()[: 64 << 20]
        externals = {"filename": path.name, "filepath": str(path), "extension": path.suffix.lower()}
        matches = scanner.scan(data, externals)
        results[path] = [scanner.compiled.rules[m.key].info.id for m in matches]
    return results


def own_samples(root: Path) -> tuple[Path, Path]:
    """Write the pack's examples: positives to root/shells, near misses to root/benign."""
    for kind in ("shells", "benign"):
        (root / kind).mkdir()
    for case in load_cases([bundled_rules_dir() / "examples"]):
        if not case.rule.startswith("exhunt.yara."):
            continue
        for kind, examples in (("shells", case.match), ("benign", case.no_match)):
            for n, example in enumerate(examples):
                for entry in example if isinstance(example, list) else [example]:
                    name = f"{case.path.stem}_{n}_" + str(entry["path"]).rsplit("\\", 1)[-1]
                    (root / kind / name).write_bytes(str(entry.get("content", "")).encode())
    return root / "shells", root / "benign"


def report(shells: dict[Path, list[str]], benign: dict[Path, list[str]]) -> None:
    found = sum(1 for rules in shells.values() if rules)
    false = sum(1 for rules in benign.values() if rules)
    print(f"recall: {found}/{len(shells)} = {100 * found / max(len(shells), 1):.1f}%")
    print(f"false positives: {false}/{len(benign)} = {100 * false / max(len(benign), 1):.2f}%")
    per_rule_tp = Counter(r for rules in shells.values() for r in set(rules))
    per_rule_fp = Counter(r for rules in benign.values() for r in set(rules))
    print(f"{'rule':45} {'shells':>7} {'benign':>7}")
    for rule in sorted(set(per_rule_tp) | set(per_rule_fp)):
        print(f"{rule:45} {per_rule_tp[rule]:7} {per_rule_fp[rule]:7}")
    for path, rules in shells.items():
        if not rules and path.suffix.lower() in SCRIPTS:
            print(f"missed: {path}")
    for path, rules in benign.items():
        if rules:
            print(f"false positive: {path} {rules}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yara", type=Path, action="append", default=[])
    args = parser.parse_args()
    ruleset = load_ruleset(RuleSpec(yara_paths=tuple(args.yara)))
    for error in ruleset.errors:  # a file that does not compile drops all its rules: say so
        print(f"rule error: {error}", file=sys.stderr)
    compiled = yara_of(ruleset.rules)
    assert compiled is not None
    scanner = YaraScanner(compiled)
    shells_dir, benign_dir = os.environ.get("SHELLS"), os.environ.get("BENIGN")
    with tempfile.TemporaryDirectory() as tmp:
        if not shells_dir or not benign_dir:
            print(
                "no SHELLS/BENIGN given: measuring on the rule pack's own examples", file=sys.stderr
            )
            shells_path, benign_path = own_samples(Path(tmp))
        else:
            shells_path, benign_path = Path(shells_dir), Path(benign_dir)
        report(scan_folder(shells_path, scanner), scan_folder(benign_path, scanner))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
