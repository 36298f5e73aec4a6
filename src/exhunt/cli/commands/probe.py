"""``exhunt probe``: read the Exchange build of live servers over HTTP(S) and judge exposure."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from exhunt.cli.app import cli
from exhunt.exceptions import UsageError

if TYPE_CHECKING:
    from exhunt.probe import HostResult, ProbeOptions, Target
    from exhunt.probe.runner import Progress

EXIT_EXPOSED = 3
FORMATS = ("text", "json", "csv")


@cli.command("probe")
@click.argument("hosts", nargs=-1)
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help="Read hosts from FILE, one per line (# starts a comment); - reads stdin.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results to FILE instead of stdout.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=16,
    show_default=True,
    help="Hosts probed at the same time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds for one request, connection to last byte.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds for all requests to one host together.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=2,
    show_default=True,
    help="Further attempts after a failed connection, with a doubling wait.",
)
@click.option(
    "--cve",
    "cves",
    multiple=True,
    help="Judge only this CVE (repeatable); default: every CVE the builds table tracks.",
)
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (said per host).")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also trust the CA certificates in this PEM file.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no warnings on stderr.")
@click.option("--verbose", "-v", is_flag=True, help="List every request in the text output.")
@click.option("--debug", is_flag=True, help="Debug log and full tracebacks on stderr.")
def probe_command(
    hosts: tuple[str, ...],
    from_file: Path | None,
    fmt: str,
    output: Path | None,
    concurrency: int,
    timeout: float,
    deadline: float,
    retries: int,
    cves: tuple[str, ...],
    insecure: bool,
    ca_file: Path | None,
    quiet: bool,
    verbose: bool,
    debug: bool,
) -> int:
    """Read the Exchange build of servers you run, and report the CVEs it is exposed to.

    Each HOST is a name, an address, HOST:PORT or an http(s) URL; without a scheme HTTPS is
    used. Sends three GET requests per host and nothing else (docs/probe.md). Exit code 3 when
    any host is exposed.
    """
    from exhunt.probe import ProbeOptions, probe_hosts

    _configure_logging(quiet, debug)
    targets = _targets(hosts, from_file)
    if output is not None and not output.resolve().parent.is_dir():
        raise UsageError(f"--output {output}: the folder {output.resolve().parent} does not exist")
    options = ProbeOptions(
        concurrency=concurrency,
        timeout=timeout,
        deadline=deadline,
        retries=retries,
        verify_tls=not insecure,
        ca_file=ca_file,
        cves=_cves(cves),
    )
    started = datetime.now(UTC)
    with _progress(not quiet, len(targets)) as progress:
        results = probe_hosts(targets, options, progress)
    text = _render(results, fmt, options, started, verbose)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    return EXIT_EXPOSED if any(r.status == "exposed" for r in results) else 0


def _targets(hosts: tuple[str, ...], from_file: Path | None) -> list[Target]:
    from exhunt.probe.targets import iter_target_lines, load_targets, parse_target, unique

    targets = [parse_target(host) for host in hosts]
    if from_file is not None and str(from_file) == "-":
        targets += iter_target_lines(sys.stdin, "<stdin>")
    elif from_file is not None:
        targets += load_targets(from_file)
    if not targets:
        raise click.UsageError("give at least one HOST, or --from-file FILE with hosts in it")
    return unique(targets)


def _cves(values: tuple[str, ...]) -> frozenset[str] | None:
    """The ``--cve`` values, each one the builds table judges."""
    from exhunt.detect.cves import tracked

    if not values:
        return None
    known = set(tracked())
    wanted = frozenset(v.strip().upper() for v in values)
    unknown = sorted(wanted - known)
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} not in the builds table (known: {', '.join(sorted(known))})",
            param_hint="--cve",
        )
    return wanted


def _render(
    results: list[HostResult], fmt: str, options: ProbeOptions, started: datetime, verbose: bool
) -> str:
    from exhunt.probe.render import to_csv, to_json, to_text

    if fmt == "json":
        return to_json(results, options, started)
    if fmt == "csv":
        return to_csv(results)
    return to_text(results, verbose)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Progress | None]:
    """A bar of hosts done on stderr, on a terminal only; stdout stays clean."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich import progress as rich
    from rich.console import Console

    bar = rich.Progress(
        rich.TextColumn("probing"),
        rich.BarColumn(),
        rich.MofNCompleteColumn(),
        rich.TimeElapsedColumn(),
        rich.TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("", total=total)

    def advance(result: HostResult, done: int, _total: int) -> None:
        bar.update(task, completed=done, description=f"{result.target.text}: {result.status}")

    with bar:
        yield advance


def _configure_logging(quiet: bool, debug: bool) -> None:
    """exhunt's messages on stderr; a program embedding the CLI keeps its own handlers."""
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
    logger = logging.getLogger("exhunt")
    logger.setLevel(level)
    if not any(getattr(h, "_exhunt_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("exhunt: %(levelname)s: %(message)s"))
        handler._exhunt_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
