"""Which parser claims which file: by the log's own preamble first, by its default folder next."""

from __future__ import annotations

from pathlib import Path

import pytest
from logread import (
    ECP_2021,
    ECP_2023,
    HTTPPROXY_70,
    HTTPPROXY_74,
    HTTPPROXY_OWA,
    HTTPPROXY_PS,
    IIS_0305,
    IIS_0306_X,
    OAB,
    RPS_CMDLET,
    RPS_HTTP,
    SAMPLES,
    sample,
)

from exhunt.artifacts.base import ARTIFACTS, LineLog
from exhunt.artifacts.ecp import EcpServerLog
from exhunt.artifacts.httpproxy import HttpProxyLog
from exhunt.artifacts.iis import IisW3cLog
from exhunt.artifacts.oab import OabGeneratorLog
from exhunt.artifacts.rps import RpsCmdletLog, RpsHttpLog
from exhunt.evidence.files import EvidenceFile

INSTALL = "C/Program Files/Microsoft/Exchange Server/V15/"
HEAD = 4096


def evidence_file(rel: str) -> EvidenceFile:
    return EvidenceFile(rel=rel, real=Path("/nonexistent"), size=1, mtime=None)


def winner(rel: str, head: bytes) -> tuple[int, str]:
    """The parser the scan picks for a file (as ``exhunt.artifacts.base.classify`` does)."""
    parsers = [cls for cls in ARTIFACTS if issubclass(cls, LineLog)]
    return max((cls.claims(evidence_file(rel), head), cls.type) for cls in parsers)


def rel_of(sample_rel: str) -> str:
    return sample_rel if sample_rel.startswith("inetpub/") else INSTALL + sample_rel


@pytest.mark.parametrize(
    ("sample_rel", "expected"),
    [
        (HTTPPROXY_74, (100, "exchange.httpproxy")),
        (HTTPPROXY_70, (100, "exchange.httpproxy")),
        (HTTPPROXY_PS, (100, "exchange.httpproxy")),
        (HTTPPROXY_OWA, (100, "exchange.httpproxy")),
        (ECP_2021, (100, "exchange.ecp_server")),
        (ECP_2023, (100, "exchange.ecp_server")),
        (RPS_CMDLET, (100, "exchange.rps_cmdlet")),
        (RPS_HTTP, (60, "exchange.rps_http")),
        (OAB, (60, "exchange.oab_generator")),
        (IIS_0305, (100, "iis.w3c")),
        (IIS_0306_X, (100, "iis.w3c")),
    ],
)
def test_each_sample_goes_to_its_parser(sample_rel: str, expected: tuple[int, str]) -> None:
    assert (SAMPLES / sample_rel).is_file()
    assert winner(rel_of(sample_rel), sample(sample_rel)[:HEAD]) == expected


@pytest.mark.parametrize(
    ("sample_rel", "expected"),
    [
        (HTTPPROXY_74, "exchange.httpproxy"),
        (ECP_2021, "exchange.ecp_server"),
        (RPS_CMDLET, "exchange.rps_cmdlet"),
        (IIS_0305, "iis.w3c"),
    ],
)
def test_preamble_wins_wherever_the_file_is(sample_rel: str, expected: str) -> None:
    assert winner("export/case-42/renamed.log", sample(sample_rel)[:HEAD]) == (100, expected)


def test_preamble_wins_over_the_folder() -> None:
    rel = INSTALL + "Logging/HttpProxy/Ecp/ECPServer20230111-1.LOG"
    assert winner(rel, sample(ECP_2023)[:HEAD]) == (100, "exchange.ecp_server")
    assert HttpProxyLog.claims(evidence_file(rel), sample(ECP_2023)[:HEAD]) == 60


def test_bom_before_the_preamble() -> None:
    head = b"\xef\xbb\xbf" + sample(HTTPPROXY_PS)[:HEAD]
    assert winner("x/HttpProxy_2023011116-1.LOG", head) == (100, "exchange.httpproxy")


def test_default_folders_without_preamble() -> None:
    rows_only = b"\n".join(sample(HTTPPROXY_70).split(b"\n")[6:])
    assert HttpProxyLog.claims(evidence_file(rel_of(HTTPPROXY_70)), rows_only) == 60
    assert HttpProxyLog.claims(evidence_file("elsewhere/HttpProxy.LOG"), rows_only) == 0
    ecp_rows = b"\n".join(sample(ECP_2023).split(b"\n")[5:])
    assert EcpServerLog.claims(evidence_file(rel_of(ECP_2023)), ecp_rows) == 60
    iis_rows = b"\r\n".join(sample(IIS_0306_X).split(b"\r\n")[4:])
    assert IisW3cLog.claims(evidence_file(IIS_0306_X), iis_rows) == 30
    assert IisW3cLog.claims(evidence_file("W3SVC2/u_ex210306.log"), iis_rows) == 30
    assert IisW3cLog.claims(evidence_file("inetpub/u_ex210306.log"), iis_rows) == 0


def test_folder_hint_claims_a_damaged_file_with_low_surety() -> None:
    # A damaged file in a log's own folder is still read as that log, so its damage is
    # counted; any parser that recognises the content outranks the folder.
    binary = b"MZ\x90\x00\x03\x00\x00\x00"
    assert HttpProxyLog.claims(evidence_file(rel_of(HTTPPROXY_70)), binary) == 20
    assert RpsCmdletLog.claims(evidence_file(rel_of(RPS_CMDLET)), binary) == 20


def test_iis_fields_directive_without_software_line() -> None:
    head = b"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query\r\n"
    assert IisW3cLog.claims(evidence_file("logs/x.log"), head) == 80


def test_other_exchange_logs_are_not_claimed_as_these() -> None:
    activity = (
        b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n"
        b"#Log-type: ECP Activity Context Log\r\n"
        b"#Fields: TimeStamp,ServerName,EventId,EventData\r\n"
    )
    rel = INSTALL + "Logging/ECP/Activity/ECPActivity_11500_20230111-1.LOG"
    for parser in (
        EcpServerLog,
        HttpProxyLog,
        RpsHttpLog,
        RpsCmdletLog,
        OabGeneratorLog,
        IisW3cLog,
    ):
        assert parser.claims(evidence_file(rel), activity) == 0
    ews = b"#Software: Microsoft Exchange Server\r\n#Log-type: EWS Logs\r\n"
    for parser in (
        EcpServerLog,
        HttpProxyLog,
        RpsHttpLog,
        RpsCmdletLog,
        OabGeneratorLog,
        IisW3cLog,
    ):
        assert parser.claims(evidence_file(INSTALL + "Logging/Ews/Ews_2023010616-1.LOG"), ews) == 0


def test_local_powershell_cmdlet_log_by_preamble() -> None:
    rel = (
        INSTALL
        + "Logging/CmdletInfra/LocalPowerShell/Cmdlet/LocalPowerShell_Cmdlet_2023011116-1.LOG"
    )
    assert winner(rel, sample(RPS_CMDLET)[:HEAD]) == (100, "exchange.rps_cmdlet")
