"""Running the command line in the test process, and what a run gave."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from exhunt.cli.main import main

INSTALL_REL = "C/Program Files/Microsoft/Exchange Server/V15"
IIS_LOGS_REL = "C/inetpub/logs/LogFiles"
_SECONDS = re.compile(r"(?m)^(  read \d+ files, [\d.,]+ MB, in )[\d.]+ s$")


@dataclass(frozen=True)
class Result:
    """What one run of the command line did."""

    code: int
    out: str
    err: str


Run = Callable[..., Result]


def in_process(capsys: pytest.CaptureFixture[str]) -> Run:
    """A runner of ``exhunt ARGV`` through :func:`exhunt.cli.main.main`, output captured."""

    def invoke(*argv: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def without_duration(text: str) -> str:
    """A text report without the one figure that differs between two runs: the scan time."""
    return _SECONDS.sub(r"\1? s", text)
