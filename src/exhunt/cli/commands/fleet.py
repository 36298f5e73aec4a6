"""``exhunt fleet``: many servers into one store (``scan``), and the fleet's questions
(``summary``, ``pivot``, ``jobs``). The work is in :mod:`exhunt.fleet` and :mod:`exhunt.store`."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from exhunt.cli.app import cli
from exhunt.cli.contentopts import content_options
from exhunt.options import DEFAULT_GAP_HOURS, ScanOptions
from exhunt.timeutil import parse_time

if TYPE_CHECKING:
    from exhunt.fleet import FleetProgress
    from exhunt.store import Scope, Store

EXIT_INCOMPLETE = 16
FORMATS = ("text", "json", "csv")
DEFAULT_STORE = "exhunt.db"

store_option = click.option(
    "--store",
    default=DEFAULT_STORE,
    show_default=True,
    envvar="EXHUNT_STORE",
    help="Result store: an SQLite file path or a postgresql:// URL (env: EXHUNT_STORE).",
)
org_option = click.option(
    "--org",
    "organisations",
    multiple=True,
    help="Only these organisations' data (repeatable); others are counted, never named.",
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True
)
output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE."
)


@cli.group("fleet")
def fleet_group() -> None:
    """Many servers into one store, and the campaign view across organisations."""


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    try:
        return None if value is None else parse_time(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO-8601 time: {value!r}") from None


@fleet_group.command("scan")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@store_option
@click.option("--workers", "-j", type=click.IntRange(min=1), help="Local worker processes.")
@click.option("--dask", metavar="ADDRESS", help="Run on a Dask scheduler (tcp://HOST:8786).")
@click.option("--ship", is_flag=True, help="Send archive evidence to the Dask workers.")
@click.option("--retry-failed", is_flag=True, help="Run the jobs that failed before again.")
@click.option("--rescan", is_flag=True, help="Run every job again (same evidence: stored once).")
@content_options
@click.option("--internal", multiple=True, help="Own address range (CIDR); repeatable.")
@click.option(
    "--gap-hours",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_GAP_HOURS,
    show_default=True,
    help="Silence in IIS/HttpProxy logs longer than this is a coverage gap.",
)
@click.option("--since", callback=_time, help="Ignore records before this UTC time.")
@click.option("--until", callback=_time, help="Ignore records after this UTC time.")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where archives are unpacked (and shipped evidence written) on each worker.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", count=True, help="Worker warnings on stderr (-vv: info).")
@click.option("--debug", is_flag=True, help="Debug log and tracebacks.")
def fleet_scan_command(
    manifest: Path,
    store: str,
    workers: int | None,
    dask: str | None,
    ship: bool,
    retry_failed: bool,
    rescan: bool,
    sigma_paths: tuple[Path, ...],
    ioc_paths: tuple[Path, ...],
    yara_paths: tuple[Path, ...],
    baseline_path: Path | None,
    max_file_size: int,
    file_timeout: int,
    skip_invalid_rules: bool,
    internal: tuple[str, ...],
    gap_hours: float,
    since: datetime | None,
    until: datetime | None,
    workdir: Path | None,
    quiet: bool,
    verbose: int,
    debug: bool,
) -> int:
    """Scan every server of MANIFEST into the store; a rerun resumes where the last one ended.

    MANIFEST is CSV (header: organisation,host,evidence[,labels][,...]) or JSON Lines
    ({"organisation": ..., "host": ..., "evidence": ...}). Exit 16 when a row was bad or a
    job failed (both listed).
    """
    from exhunt.fleet import FleetOptions, load_manifest, run_fleet
    from exhunt.fleet.render import render_run

    if ship and not dask:
        raise click.UsageError("--ship sends evidence to Dask workers: use it with --dask")
    level = _logging(quiet, verbose, debug)
    scan_options = ScanOptions(
        sigma_paths=sigma_paths,
        ioc_paths=ioc_paths,
        yara_paths=yara_paths,
        baseline_path=baseline_path,
        max_file_bytes=max_file_size << 20,
        file_timeout=file_timeout,
        skip_invalid_rules=skip_invalid_rules,
        since=since,
        until=until,
        gap=timedelta(hours=gap_hours),
        internal_networks=_networks(internal),
        workdir=workdir,
    )
    options = FleetOptions(workers, dask, ship, retry_failed, rescan, scan_options, level)
    plan = load_manifest(manifest)
    with _open(store, create=True) as opened, _ProgressBar(not quiet) as bar:
        report = run_fleet(plan, opened, options, progress=bar)
        url = opened.url
    click.echo(render_run(report, str(manifest), url), nl=False)
    return 0 if report.complete else EXIT_INCOMPLETE


@fleet_group.command("summary")
@store_option
@org_option
@format_option
@output_option
def fleet_summary_command(
    store: str, organisations: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """Servers by verdict, exposure, build and organisation (each with its latest scan)."""
    from exhunt.fleet.render import render_summary

    with _open(store) as opened:
        text = render_summary(opened.summary(_scope(organisations)), fmt)
    _emit(text, output)


@fleet_group.command("pivot")
@store_option
@org_option
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    help="Indicator kinds (repeatable): ip, sha256, webshell_name, file_name, user_agent, "
    "tool, account, url, path. Default: all but url and path.",
)
@click.option("--min-orgs", type=click.IntRange(min=1), default=2, show_default=True)
@format_option
@output_option
@click.option("--verbose", "-v", is_flag=True, help="Name every organisation.")
def fleet_pivot_command(
    store: str,
    organisations: tuple[str, ...],
    kinds: tuple[str, ...],
    min_orgs: int,
    fmt: str,
    output: Path | None,
    verbose: bool,
) -> None:
    """Indicators seen at more than one organisation: addresses, web shells, tools, accounts."""
    from exhunt.fleet.render import render_pivot
    from exhunt.store import PIVOT_KINDS
    from exhunt.store.prepare import KINDS

    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise click.BadParameter(f"unknown kind {', '.join(unknown)}", param_hint="--kind")
    with _open(store) as opened:
        pivots = opened.pivot(_scope(organisations), kinds or PIVOT_KINDS, min_orgs)
    _emit(render_pivot(pivots, fmt, verbose), output)


@fleet_group.command("peers")
@store_option
@org_option
@click.option("--build", "builds", multiple=True, help="Only these Exchange builds (repeatable).")
@format_option
@output_option
def fleet_peers_command(
    store: str, organisations: tuple[str, ...], builds: tuple[str, ...], fmt: str,
    output: Path | None,
) -> None:  # fmt: skip
    """Web files a stored server has that its same-build peers do not (or have otherwise)."""
    from exhunt.fleet.peers import peer_deviations
    from exhunt.fleet.render import render_peers

    with _open(store) as opened:
        deviations = peer_deviations(opened, _scope(organisations), builds)
    _emit(render_peers(deviations, fmt), output)


@fleet_group.command("jobs")
@store_option
@org_option
@click.option("--status", type=click.Choice(("pending", "done", "failed")))
@format_option
@output_option
def fleet_jobs_command(
    store: str, organisations: tuple[str, ...], status: str | None, fmt: str, output: Path | None
) -> None:
    """The fleet's jobs (one per manifest row) with their state and errors."""
    from exhunt.fleet.render import render_jobs

    with _open(store) as opened:
        jobs = opened.jobs(status, _scope(organisations))
    _emit(render_jobs(jobs, fmt), output)


@contextmanager
def _open(target: str, create: bool = False) -> Iterator[Store]:
    from exhunt.store import open_store

    store = open_store(target, create)
    try:
        yield store
    finally:
        store.close()


def _scope(organisations: tuple[str, ...]) -> Scope:
    from exhunt.store import Scope

    return Scope(frozenset(organisations) if organisations else None)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _networks(values: tuple[str, ...]) -> tuple[str, ...]:
    import ipaddress

    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise click.BadParameter(
                f"not an address range: {value!r}", param_hint="--internal"
            ) from None
    return values


def _logging(quiet: bool, verbose: int, debug: bool) -> int:
    """Configure exhunt's logger on stderr; return the level for the workers."""
    levels = {0: logging.ERROR, 1: logging.WARNING}
    level = logging.DEBUG if debug else levels.get(verbose, logging.INFO)
    logger = logging.getLogger("exhunt")
    logger.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING)
    if not any(getattr(h, "_exhunt_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("exhunt: %(levelname)s: %(message)s"))
        handler._exhunt_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    return level


class _ProgressBar:
    """Servers done of the total, failures, rate and time left, on stderr (a terminal only)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()

    def __call__(self, state: FleetProgress) -> None:
        if not self.enabled:
            return
        if self._progress is None or self._task is None:
            self._progress = self._start()
            self._task = self._progress.add_task("fleet", total=state.total, failed=0, rate=0.0)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._progress.update(
            self._task, completed=state.done, failed=state.failed, rate=state.done / elapsed
        )

    @staticmethod
    def _start() -> Progress:
        progress = Progress(
            TextColumn("fleet"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} servers/s"),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        progress.start()
        return progress

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
