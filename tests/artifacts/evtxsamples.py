"""Where the EVTX tests find the public sample logs of ../shared/data/evtx."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

EVTX_DATA = Path(__file__).parents[2] / ".." / "shared" / "data" / "evtx"
PARSER_SAMPLES = "parser-samples"
ATTACK_MITRE = "attack-samples/mdecrevoisier-EVTX-to-MITRE-Attack"
ATTACK_SB = "attack-samples/sbousseaden-EVTX-ATTACK-SAMPLES"


def evtx_sample(folder: str, name: str = "") -> Path:
    """A file or folder of ../shared/data/evtx; skip when absent (fail under CI)."""
    path = EVTX_DATA / folder / name if name else EVTX_DATA / folder
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared EVTX sample missing: {path}")
        pytest.skip(f"shared EVTX sample missing: {path}")
    return path
