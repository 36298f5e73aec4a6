"""``exhunt scan``: options to :class:`~exhunt.options.ScanOptions`, documents to a report."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import click

from exhunt.cli.app import cli
from exhunt.cli.contentopts import content_options
from exhunt.cli.progress import ProgressBar
from exhunt.document import ScanDocument
from exhunt.exceptions import UsageError
from exhunt.model import Severity
from exhunt.options import DEFAULT_GAP_HOURS, ScanOptions
from exhunt.report.formats import FORMATS
from exhunt.timeutil import format_time, parse_time

EXIT_FINDINGS = 3
LEVELS = [s.value for s in Severity]


def _time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO-8601 time: {value!r} (e.g. 2021-03-01T00:00:00Z)"
        ) from None


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS.names()),
    default="text",
    show_default=True,
    help="Report format on stdout (or --output).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE instead of stdout.",
)
@click.option(
    "--fail-on",
    type=click.Choice(LEVELS),
    default="high",
    show_default=True,
    help="Exit 3 when a finding is at least this severe.",
)
@click.option("--since", callback=_time, help="Ignore records before this UTC time (ISO-8601).")
@click.option("--until", callback=_time, help="Ignore records after this UTC time (ISO-8601).")
@content_options
@click.option(
    "--internal",
    "internal",
    multiple=True,
    help="The organisation's own address range (CIDR) besides the private ranges; repeatable.",
)
@click.option(
    "--gap-hours",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_GAP_HOURS,
    show_default=True,
    help="Silence in IIS/HttpProxy logs longer than this is a coverage gap.",
)
@click.option(
    "--same-server",
    is_flag=True,
    help="The PATHs are parts of one server's evidence (an install and an IIS log folder).",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: every core)."
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where archives are unpacked (default: system temp).",
)
@click.option(
    "--store",
    help="Also save each result in this store (SQLite file or postgresql:// URL; docs/fleet.md).",
)
@click.option(
    "--organisation",
    default="default",
    show_default=True,
    help="The organisation results are stored under (with --store).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no warnings on stderr.")
@click.option("--verbose", "-v", count=True, help="More detail in the text report and on stderr.")
@click.option("--debug", is_flag=True, help="Debug log and full tracebacks on stderr.")
def scan_command(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str,
    since: datetime | None,
    until: datetime | None,
    sigma_paths: tuple[Path, ...],
    ioc_paths: tuple[Path, ...],
    yara_paths: tuple[Path, ...],
    baseline_path: Path | None,
    max_file_size: int,
    file_timeout: int,
    skip_invalid_rules: bool,
    internal: tuple[str, ...],
    gap_hours: float,
    same_server: bool,
    jobs: int | None,
    workdir: Path | None,
    store: str | None,
    organisation: str,
    quiet: bool,
    verbose: int,
    debug: bool,
) -> int:
    """Scan the evidence of Exchange servers and report a verdict for each.

    Each PATH is one server's evidence: a folder copy of its drives (C/, D/), one drive's
    root, a folder holding the Exchange install and IIS log folders, a KAPE or Velociraptor
    collection, a .zip/.tar/.tar.gz of any of these, or a single log file.
    """
    from exhunt.report.formats import RenderOptions, render_many
    from exhunt.scan import scan, scan_servers

    _configure_logging(quiet, verbose, debug)
    _check_window(since, until)
    _check_output(output, paths)
    options = ScanOptions(
        sigma_paths=sigma_paths,
        ioc_paths=ioc_paths,
        skip_invalid_rules=skip_invalid_rules,
        since=since,
        until=until,
        jobs=jobs,
        gap=timedelta(hours=gap_hours),
        internal_networks=_networks(internal),
        workdir=workdir,
        yara_paths=yara_paths,
        baseline_path=baseline_path,
        max_file_bytes=max_file_size << 20,
        file_timeout=file_timeout,
    )
    groups = [list(paths)] if same_server else [[p] for p in paths]
    documents: list[ScanDocument] = []
    if len(groups) > 1:
        # Servers scanned together are each other's baseline (files on one and none of its peers).
        bars = [ProgressBar(not quiet, label=str(group[0])) for group in groups]
        try:
            documents = scan_servers(groups, options, progress=lambda index: bars[index])
        finally:
            for bar in bars:
                bar.close()
    for group in groups if len(groups) == 1 else ():
        with ProgressBar(not quiet, label=str(group[0])) as bar:
            documents.append(scan(group, options, progress=bar))
    text = render_many(documents, fmt, RenderOptions(verbose=verbose > 0))
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if store is not None:
        _save(documents, store, organisation, quiet)
    threshold = Severity(fail_on).rank
    failing = any(f.severity.rank >= threshold for d in documents for f in d.findings)
    return EXIT_FINDINGS if failing else 0


def _save(documents: list[ScanDocument], target: str, organisation: str, quiet: bool) -> None:
    """Keep each result in the store (once per organisation, host and evidence)."""
    from exhunt.store import open_store

    with open_store(target) as store:
        for document in documents:
            result = store.save(document, organisation)
            state = "stored" if result.created else "already stored"
            if not quiet:
                click.echo(f"exhunt: {state} as scan {result.scan_id} in {store.url}", err=True)


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


def _check_output(output: Path | None, paths: tuple[Path, ...]) -> None:
    """Refuse, before any work, a report that would land in the evidence or nowhere.

    Evidence is never written to: not a file inside an evidence folder, and not the evidence
    file itself (a single log or an archive, reached by any name).
    """
    if output is None:
        return
    target = output.resolve()
    if not target.parent.is_dir():
        raise UsageError(f"--output {output}: the folder {target.parent} does not exist")
    for path in paths:
        root = path.resolve()
        inside = root.is_dir() and (target == root or root in target.parents)
        if inside or target == root or _same_file(output, path):
            raise UsageError(f"--output {output} is inside the evidence {path}; write it elsewhere")


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:  # either does not exist (yet)
        return False


def _check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise click.BadParameter(
            f"--since {format_time(since)} is after --until {format_time(until)}",
            param_hint="--since/--until",
        )


def _configure_logging(quiet: bool, verbose: int, debug: bool) -> None:
    """Messages of exhunt's own loggers on stderr; a program embedding the CLI keeps its own."""
    if debug:
        level = logging.DEBUG
    elif quiet:
        level = logging.ERROR
    else:
        level = logging.INFO if verbose > 1 else logging.WARNING
    logger = logging.getLogger("exhunt")
    logger.setLevel(level)
    if not any(getattr(h, "_exhunt_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("exhunt: %(levelname)s: %(message)s"))
        handler._exhunt_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
