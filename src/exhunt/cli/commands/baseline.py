"""``exhunt baseline build``: record the web files of known-good servers, per Exchange build."""

from __future__ import annotations

from pathlib import Path

import click

from exhunt.cli.app import cli
from exhunt.exceptions import UsageError


@cli.group("baseline")
def baseline_group() -> None:
    """Baselines of known-good servers for ``exhunt scan --baseline``."""


@baseline_group.command("build")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The baseline file to write (JSON).")  # fmt: skip
@click.option("--build", "build", help="The Exchange build of every PATH, when the evidence "
              "cannot tell (e.g. 15.2.1118.7).")  # fmt: skip
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes.")
def build_command(
    paths: tuple[Path, ...], output: Path, build: str | None, jobs: int | None
) -> int:
    """Hash the web files of each known-good server's EVIDENCE (one PATH per server).

    Each server is scanned as usual; a server whose verdict is compromised is refused, since a
    baseline must only hold known-good files.
    """
    from exhunt.findings.baseline import build_baseline
    from exhunt.options import ScanOptions
    from exhunt.scan import scan_manifest

    for path in paths:
        if output.resolve().is_relative_to(path.resolve()):
            raise UsageError(f"--output {output} is inside the evidence {path}; write it elsewhere")
    manifests = []
    for path in paths:
        manifest, status = scan_manifest([path], ScanOptions(jobs=jobs), build)
        if status == "compromised":
            raise UsageError(f"{path}: the scan says compromised; not a known-good server")
        click.echo(f"{path}: build {manifest.build}, {len(manifest.entries)} web files", err=True)
        manifests.append(manifest)
    output.write_text(build_baseline(manifests).to_json() + "\n", encoding="utf-8")
    return 0
