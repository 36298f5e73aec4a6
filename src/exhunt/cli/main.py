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

import click

from exhunt.cli.app import cli
from exhunt.exceptions import ExhuntError
from exhunt.registry import load_package

EXIT_FINDINGS = 3

load_package("exhunt.cli.commands")


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


__all__ = ["EXIT_FINDINGS", "cli", "entry_point", "main"]
