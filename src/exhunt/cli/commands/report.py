"""``exhunt report``: render a saved result document again, without re-scanning."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from exhunt.cli.app import cli
from exhunt.report.formats import FORMATS

if TYPE_CHECKING:
    from exhunt.document import ScanDocument


@cli.command("report")
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS.names()),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of stdout.",
)
@click.option("--verbose", "-v", is_flag=True, help="Every evidence line and timeline entry.")
def report_command(document: Path, fmt: str, output: Path | None, verbose: bool) -> None:
    """Render a saved result document (exhunt scan --format json) again, without re-scanning.

    A JSON array of documents (a scan of several servers) renders as one report where the
    format allows (csv, timesketch, stix, html, json), else one report after another.
    """
    from exhunt.report.formats import RenderOptions, render_many

    docs = load_documents(document)
    text = render_many(docs, fmt, RenderOptions(verbose=verbose))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def load_documents(path: Path) -> list[ScanDocument]:
    """Saved result documents (one, or an array); anything else is a bad argument, in one line."""
    from pydantic import TypeAdapter, ValidationError

    from exhunt.document import ScanDocument

    data = path.read_bytes()
    try:
        if data.lstrip()[:1] == b"[":
            docs = TypeAdapter(list[ScanDocument]).validate_json(data)
        else:
            docs = [ScanDocument.from_json(data)]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise click.BadParameter(
            f"{path} is not an exhunt result document ({where}: {first['msg']})",
            param_hint="DOCUMENT",
        ) from None
    if not docs:
        raise click.BadParameter(f"{path} holds no result document", param_hint="DOCUMENT")
    return docs
