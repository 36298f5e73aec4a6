"""Write the two example servers used by ``make demo``: one clean, one compromised.

Usage::

    python -m exhunt.testing.demo DIR

writes ``DIR/clean-server`` and ``DIR/compromised-server`` (same bytes on every run; existing
copies of those two folders are replaced) and prints one line per server on stderr.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from exhunt.testing.generator import Profile, ServerManifest, write_server

SERVERS: tuple[tuple[str, Profile], ...] = (
    ("clean-server", "clean"),
    ("compromised-server", "compromised"),
)


def write_demo(dest: Path, seed: int = 1) -> list[ServerManifest]:
    """Write both example servers under ``dest`` and return their manifests."""
    manifests = []
    for name, profile in SERVERS:
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        manifests.append(write_server(target, profile, seed))
    return manifests


def describe(manifest: ServerManifest) -> str:
    """One line about a written server."""
    span = f"logs {manifest.first_log:%Y-%m-%d}..{manifest.last_log:%Y-%m-%d}"
    head = (
        f"{manifest.root}: {manifest.host} Exchange {manifest.build}, "
        f"{len(manifest.files)} files, {span}"
    )
    attack = manifest.attack
    if attack is None:
        return f"{head}, no attack"
    return (
        f"{head}, ProxyLogon from {attack.attacker_ip} at {attack.steps[0].time:%Y-%m-%d %H:%M}Z, "
        f"web shell {attack.webshell_url}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m exhunt.testing.demo", description=__doc__)
    parser.add_argument("dest", type=Path, help="folder that receives the two servers")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for manifest in write_demo(args.dest, args.seed):
        sys.stderr.write(describe(manifest) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
