"""The subcommands of ``exhunt``; each module registers its own with ``@cli.command``."""
