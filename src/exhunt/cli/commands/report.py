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
    """Render a saved result document (exhunt scan --format json) again, without re-scanning."""
    from exhunt.report.formats import RenderOptions, render

    doc = load_document(document)
    text = render(doc, fmt, RenderOptions(verbose=verbose))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def load_document(path: Path) -> ScanDocument:
    """A saved result document; anything else is a bad argument, said in one line."""
    from pydantic import ValidationError

    from exhunt.document import ScanDocument

    try:
        return ScanDocument.from_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise click.BadParameter(
            f"{path} is not an exhunt result document ({where}: {first['msg']})",
            param_hint="DOCUMENT",
        ) from None
