"""Helpers of the log parser tests: read bytes with a ``LogReader`` and keep what it saw.

The sample logs live in ``tests/data/logs`` (see the README there for their sources).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from exhunt.artifacts.base import LineLog
from exhunt.artifacts.textlog import BLOCK_SIZE, LineMatcher, LogReader, LogStats
from exhunt.model import Source

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "logs"
BLOCK_SIZES = (1, 7, 64, 4096, BLOCK_SIZE)

HTTPPROXY_74 = "Logging/HttpProxy/Ecp/HttpProxy_2023010611-1.LOG"
HTTPPROXY_70 = "Logging/HttpProxy/Ecp/HttpProxy_2021030306-1.LOG"
HTTPPROXY_PS = "Logging/HttpProxy/PowerShell/HttpProxy_2023011116-1.LOG"
HTTPPROXY_OWA = "Logging/HttpProxy/Owa/HttpProxy_2023010602-1.LOG"
ECP_2021 = "Logging/ECP/Server/ECPServer20210303-1.LOG"
ECP_2023 = "Logging/ECP/Server/ECPServer20230111-1.LOG"
RPS_CMDLET = "Logging/CmdletInfra/Powershell-Proxy/Cmdlet/Rps_Cmdlet_2023011116-1.LOG"
RPS_HTTP = "Logging/CmdletInfra/Powershell-Proxy/Http/Rps_Http_2022121316-1.LOG"
OAB = "Logging/OABGeneratorLog/OABGenerator_20210303-1.LOG"
IIS_0305 = "inetpub/logs/LogFiles/W3SVC1/u_ex210305.log"
IIS_0306_X = "inetpub/logs/LogFiles/W3SVC1/u_ex210306_x.log"


@dataclass(frozen=True)
class Row:
    """One yielded record, reduced to what the tests compare."""

    line: int | None
    ids: frozenset[int] | None
    time: datetime | None
    fields: dict[str, str]
    raw: str


@dataclass(frozen=True)
class ReadResult:
    rows: list[Row]
    stats: LogStats

    @property
    def lines(self) -> list[int | None]:
        return [row.line for row in self.rows]

    @property
    def bad(self) -> list[tuple[int, str]]:
        return [(example.line, example.reason) for example in self.stats.bad_examples]


def sample(rel: str) -> bytes:
    """The bytes of a sample log."""
    return (SAMPLES / rel).read_bytes()


def read(
    data: bytes,
    parser: LineLog,
    matcher: LineMatcher | None = None,
    block_size: int = BLOCK_SIZE,
    path: str = "sample.log",
) -> ReadResult:
    """Read ``data`` as one log file to the end."""
    source = Source(parser.type, path)
    reader = LogReader(io.BytesIO(data), parser, source, matcher=matcher, block_size=block_size)
    rows = [
        Row(record.line, ids, record.time, dict(record.fields), record.raw)
        for record, ids in reader
    ]
    return ReadResult(rows, reader.stats)


def crlf(data: bytes) -> bytes:
    """``data`` with LF line ends turned into CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
