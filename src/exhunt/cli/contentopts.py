"""The detection content and file limits options ``exhunt scan`` and ``exhunt fleet scan`` share,
so that a fleet scan can do everything a single scan can."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])
DEFAULT_MAX_FILE_MIB = 64
DEFAULT_FILE_TIMEOUT = 30

_OPTIONS = (
    click.option(
        "--sigma",
        "sigma_paths",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="More Sigma rules (file or folder); repeatable.",
    ),
    click.option(
        "--iocs",
        "ioc_paths",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="More indicators: CSV packs, STIX 2.1 bundles, MISP JSON/CSV exports, or folders "
        "of them; repeatable.",
    ),
    click.option(
        "--yara",
        "yara_paths",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="More YARA rules (file or folder, e.g. signature-base/yara); repeatable. "
        "Files that do not compile are reported and skipped.",
    ),
    click.option(
        "--baseline",
        "baseline_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Web files of known-good servers (exhunt baseline build): report files added or "
        "changed against the servers of the same build.",
    ),
    click.option(
        "--max-file-size",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_FILE_MIB,
        show_default=True,
        help="MiB: larger files are not hashed or matched with YARA (listed in coverage).",
    ),
    click.option(
        "--file-timeout",
        type=click.IntRange(min=1),
        default=DEFAULT_FILE_TIMEOUT,
        show_default=True,
        help="Seconds YARA may spend on one file (skipped files are listed in coverage).",
    ),
    click.option(
        "--skip-invalid-rules",
        is_flag=True,
        help="Skip rules that do not load instead of stopping.",
    ),
)


def content_options(command: F) -> F:
    """Add --sigma, --iocs, --yara, --baseline, --max-file-size, --file-timeout and
    --skip-invalid-rules to ``command``, in that order in its help."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
