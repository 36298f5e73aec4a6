"""The ``exhunt`` command group. Commands live in :mod:`exhunt.cli.commands`, one module each,
and attach themselves with ``@cli.command``: adding a command is adding a file."""

from __future__ import annotations

import click

from exhunt import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exhunt")
def cli() -> None:
    """Compromise assessment for on-premises Microsoft Exchange servers."""
