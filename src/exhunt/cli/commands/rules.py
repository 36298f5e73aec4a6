"""``exhunt rules list | lint | test``: the bundled and the user's Sigma, YARA and IOC rules."""

from __future__ import annotations

from pathlib import Path

import click

from exhunt.cli.app import cli
from exhunt.detect.rules import RecordRule, RuleSet, RuleSpec, bundled_rules_dir, load_ruleset

EXIT_INVALID = 14
EXIT_FAILED = 1


def _rule_sources(func: click.decorators.FC) -> click.decorators.FC:
    options = [
        click.option("--sigma", "sigma_paths", multiple=True,
                     type=click.Path(exists=True, path_type=Path), help="User Sigma rules."),
        click.option("--yara", "yara_paths", multiple=True,
                     type=click.Path(exists=True, path_type=Path), help="User YARA rules."),
        click.option("--iocs", "ioc_paths", multiple=True,
                     type=click.Path(exists=True, path_type=Path), help="User indicator CSVs."),
        click.option("--no-bundled", is_flag=True, help="Only the user's rules."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _load(
    sigma: tuple[Path, ...], yara: tuple[Path, ...], iocs: tuple[Path, ...], no_bundled: bool
) -> RuleSet:
    spec = RuleSpec(
        sigma_paths=sigma,
        ioc_paths=iocs,
        yara_paths=yara,
        bundled=not no_bundled,
        skip_invalid=True,
    )
    return load_ruleset(spec)


def _kind(rule: RecordRule) -> str:
    name = type(rule).__name__
    return {"SigmaRecordRule": "sigma", "YaraRecordRule": "yara"}.get(
        name, "ioc" if type(rule).__module__.endswith(".ioc") else "check"
    )


@cli.group("rules")
def rules_group() -> None:
    """List, lint and test detection rules (Sigma, YARA, IOC), bundled and your own."""


@rules_group.command("list")
@_rule_sources
def list_command(
    sigma_paths: tuple[Path, ...],
    yara_paths: tuple[Path, ...],
    ioc_paths: tuple[Path, ...],
    no_bundled: bool,
) -> int:
    """One line per rule: kind, id, severity, title."""
    ruleset = _load(sigma_paths, yara_paths, ioc_paths, no_bundled)
    rows = sorted(
        {
            (_kind(rule), info.id, info.severity.value, info.title)
            for rule in ruleset.rules
            for info in rule.emits
        }
    )
    for kind, rule_id, severity, title in rows:
        click.echo(f"{kind}\t{rule_id}\t{severity}\t{title}")
    click.echo(f"{len(rows)} rules", err=True)
    return 0


@rules_group.command("lint")
@_rule_sources
def lint_command(
    sigma_paths: tuple[Path, ...],
    yara_paths: tuple[Path, ...],
    ioc_paths: tuple[Path, ...],
    no_bundled: bool,
) -> int:
    """Load every rule; print each that does not load as FILE:LINE: message (exit 14)."""
    ruleset = _load(sigma_paths, yara_paths, ioc_paths, no_bundled)
    for error in ruleset.errors:
        click.echo(str(error))
    if ruleset.errors:
        click.echo(f"{len(ruleset.errors)} rule files with errors", err=True)
        return EXIT_INVALID
    click.echo("all rules load", err=True)
    return 0


@rules_group.command("test")
@_rule_sources
@click.option("--examples", "example_paths", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="Your rules' example files or folders (YAML); repeatable.")  # fmt: skip
def test_command(
    sigma_paths: tuple[Path, ...],
    yara_paths: tuple[Path, ...],
    ioc_paths: tuple[Path, ...],
    no_bundled: bool,
    example_paths: tuple[Path, ...],
) -> int:
    """Run the rules' examples: each match must hit, each near miss must not (exit 1 if not)."""
    from exhunt.testing.rulecases import load_cases, run_case

    ruleset = _load(sigma_paths, yara_paths, ioc_paths, no_bundled)
    folders = list(example_paths)
    if not no_bundled:
        folders.insert(0, bundled_rules_dir() / "examples")
    failed = 0
    cases = load_cases(folders)
    for case in cases:
        result = run_case(case, ruleset)
        if not result.ok:
            failed += 1
            for failure in result.failures:
                click.echo(f"FAIL {case.path.name} ({case.rule}): {failure}")
    click.echo(f"{len(cases) - failed} passed, {failed} failed", err=True)
    return EXIT_FAILED if failed else 0
