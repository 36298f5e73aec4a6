"""``exhunt``: the command line. Thin: options become typed values, the library does the work.

Exit codes (docs/cli.md): 0 done, nothing at or above ``--fail-on``; 1 unexpected error;
2 usage; 3 findings at or above ``--fail-on``; 10 evidence not found; 11 evidence unreadable;
12 unsupported evidence; 13 unsafe or damaged archive; 14 invalid rules; 15 store; 16 fleet.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from exhunt import __version__
from exhunt.cli.progress import ProgressBar
from exhunt.cli.scan_command import scan_command
from exhunt.exceptions import ExhuntError

if TYPE_CHECKING:
    from exhunt.document import ScanDocument

EXIT_FINDINGS = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exhunt")
def cli() -> None:
    """Compromise assessment for on-premises Microsoft Exchange servers."""


cli.add_command(scan_command)


@cli.command("report")
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
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

    doc = _load_document(document)
    text = render(doc, fmt, RenderOptions(verbose=verbose))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _load_document(path: Path) -> ScanDocument:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (for tests and embedding)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="exhunt", standalone_mode=False
        )
    except click.exceptions.Abort:
        click.echo("exhunt: interrupted", err=True)
        return 130
    except click.UsageError as exc:
        exc.show()
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ExhuntError as exc:
        click.echo(f"exhunt: error: {exc}", err=True)
        if debug:
            traceback.print_exc()
        return exc.exit_code
    except Exception as exc:  # the one place that catches everything: one line, not a trace
        logging.getLogger("exhunt").debug("unexpected error", exc_info=True)
        click.echo(f"exhunt: unexpected error: {type(exc).__name__}: {exc}", err=True)
        if debug:
            traceback.print_exc()
        else:
            click.echo("exhunt: run again with --debug for the details", err=True)
        return 1
    return result if isinstance(result, int) else 0


def entry_point() -> None:
    sys.exit(main())


__all__ = ["EXIT_FINDINGS", "ProgressBar", "cli", "entry_point", "main"]
