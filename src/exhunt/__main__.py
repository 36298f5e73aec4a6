"""``python -m exhunt``: the same as the ``exhunt`` command."""

from exhunt.cli.main import entry_point

entry_point()
