"""``exhunt build``: what a build number is, and which tracked CVEs it is exposed to."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from exhunt.cli.app import cli
from exhunt.detect.builds import (
    PRODUCT_NAMES,
    SUPPORT_ENDED,
    BuildFacts,
    Update,
    facts_for,
    format_build,
    latest_per_cu,
    parse_build,
)
from exhunt.detect.cves import family_of


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date: {value!r} (e.g. 2021-03-10)") from None


@cli.command("build")
@click.argument("build", required=False)
@click.option("--latest", is_flag=True, help="List the newest build of every CU instead.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--at", callback=_day, help="Judge exposure as of this date (fixes released by then)."
)
def build_command(build: str | None, latest: bool, fmt: str, at: date | None) -> None:
    """Product, CU, update level, release date and the CVEs BUILD is exposed to.

    BUILD is written as Exchange writes it: 15.1.2176.2, 15.01.2176.002, or
    "Version 15.1 (Build 2176.2)".
    """
    if latest == (build is not None):
        raise click.UsageError("give either a BUILD or --latest")
    if latest:
        rows = [_latest_row(u) for u in latest_per_cu()]
        click.echo(json.dumps(rows, indent=2) if fmt == "json" else _latest_text(rows))
        return
    assert build is not None
    facts = _facts(build)
    described = describe(facts, at)
    click.echo(json.dumps(described, indent=2) if fmt == "json" else _text(described))


def _facts(text: str) -> BuildFacts:
    parsed = parse_build(text)
    if parsed is None:
        raise click.BadParameter(
            f"not an Exchange build number: {text[:80]!r} (e.g. 15.1.2176.2)", param_hint="BUILD"
        )
    facts = facts_for(parsed)
    if not facts.known:
        raise click.BadParameter(
            f"{format_build(parsed)} is not a build of Exchange 2010 SP3, 2013, 2016, 2019 or "
            "Subscription Edition that the build table knows",
            param_hint="BUILD",
        )
    return facts


def describe(facts: BuildFacts, at: date | None = None) -> dict[str, Any]:
    """The JSON object for one build (also the text output's content)."""
    level = facts.exact or facts.level
    assert facts.cu is not None and level is not None
    fixed_by = facts.fixed_by(at)
    return {
        "build": format_build(facts.build),
        "product": PRODUCT_NAMES.get(facts.product or "", facts.product),
        "cu": facts.cu.name,
        "su": facts.su_text,
        "listed": facts.exact is not None,
        "release_date": level.released.isoformat() if facts.exact else None,
        "kb": level.kb if facts.exact else None,
        "support_ended": _support(facts.product),
        "as_of": at.isoformat() if at else None,
        "vulnerable_to": list(facts.vulnerable_to(at)),
        "fixed_by": {cve: format_build(fix.build) for cve, fix in fixed_by.items()},
        "fixes": [_fix(cve, fix) for cve, fix in fixed_by.items()],
        "source": level.source if facts.exact else None,
    }


def _support(product: str | None) -> str | None:
    ended = SUPPORT_ENDED.get(product or "")
    return ended.isoformat() if ended else None


def _fix(cve: str, fix: Update) -> dict[str, str]:
    return {
        "cve": cve,
        "family": family_of(cve) or "",
        "update": fix.label,
        "released": fix.released.isoformat(),
        "kb": fix.kb,
    }


def _text(d: dict[str, Any]) -> str:
    lines = [
        f"Build:      {d['build']}" + ("" if d["listed"] else "  (not listed in the build table)"),
        f"Product:    {d['product']}",
        f"CU:         {d['cu']}",
        f"SU level:   {d['su'] or 'none (the CU release build)'}",
    ]
    if d["release_date"]:
        kb = f" ({d['kb']})" if d["kb"] else ""
        lines.append(f"Released:   {d['release_date']}{kb}")
    if d["support_ended"]:
        lines.append(f"Support:    extended support ended {d['support_ended']}")
    cves = d["fixes"]
    when = f" (fixes released by {d['as_of']})" if d["as_of"] else ""
    lines.append(f"Exposed to: {len(cves)} tracked CVE(s){when}" if cves else "Exposed to: none")
    for fix in cves:
        lines.append(
            f"  {fix['cve']:<15} {fix['family']:<14} fixed by {fix['update']}, {fix['released']}"
        )
    return "\n".join(lines)


def _latest_row(update: Update) -> dict[str, str]:
    return {
        "product": PRODUCT_NAMES[update.product],
        "cu": update.cu,
        "build": format_build(update.build),
        "name": update.name,
        "release_date": update.released.isoformat(),
        "kb": update.kb,
    }


def _latest_text(rows: list[dict[str, str]]) -> str:
    lines = [f"{'product':<37} {'cu':<5} {'build':<14} {'update':<10} released    kb"]
    for row in rows:
        lines.append(
            f"{row['product']:<37} {row['cu']:<5} {row['build']:<14} {row['name']:<10} "
            f"{row['release_date']}  {row['kb']}".rstrip()
        )
    return "\n".join(lines)
