"""``exhunt probe`` on the command line: formats, exit codes, host files, usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from probe_servers import (
    CAMPAIGN_CVES,
    EXPORTTOOL,
    Certificates,
    FakeExchange,
    Listener,
    ServerThread,
)

from exhunt import __version__
from exhunt.cli.main import main
from exhunt.probe import Exposure, HostResult, ProbeError, Status, parse_target
from exhunt.probe.render import CSV_COLUMNS, to_csv, to_text
from exhunt.probe.results import ErrorKind

pytestmark = pytest.mark.integration

CVES = [arg for cve in sorted(CAMPAIGN_CVES) for arg in ("--cve", cve)]
FAST = ["--timeout", "10", "--retries", "0", *CVES]


@pytest.fixture(scope="module")
def cu19(servers: ServerThread) -> Listener:
    return servers.serve(FakeExchange("15.1.2176.2"))


@pytest.fixture(scope="module")
def nov22(servers: ServerThread) -> Listener:
    return servers.serve(FakeExchange("15.2.1118.20"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["probe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_document(capsys: pytest.CaptureFixture[str], cu19: Listener, nov22: Listener) -> None:
    code, out, err = run(
        capsys, f"http://{cu19.host}", f"http://{nov22.host}", "--format", "json", *FAST
    )
    assert (code, err) == (3, "")
    document = json.loads(out)
    assert set(document) == {"schema_version", "tool", "started", "options", "hosts"}
    assert document["tool"] == {"name": "exhunt", "version": __version__}
    assert document["options"] == {
        "timeout": 10.0,
        "deadline": 30.0,
        "retries": 0,
        "concurrency": 16,
        "verify_tls": True,
    }
    assert [(h["target"], h["status"]) for h in document["hosts"]] == [
        (f"http://{cu19.host}", "exposed"),
        (f"http://{nov22.host}", "not-exposed"),
    ]


def test_json_host_entry(capsys: pytest.CaptureFixture[str], cu19: Listener) -> None:
    code, out, _ = run(capsys, f"http://{cu19.host}", "--format", "json", *FAST)
    assert code == 3
    [host] = json.loads(out)["hosts"]
    base = f"http://{cu19.host}"
    seconds = host.pop("seconds")
    assert isinstance(seconds, float)
    requests = host.pop("requests")
    shown = [(r["method"], r["url"].split("?")[0], r["status"], r["attempts"]) for r in requests]
    assert shown == [
        ("GET", f"{base}/owa/", 302, 1),
        ("GET", f"{base}/owa/auth/logon.aspx", 200, 1),
        ("GET", f"{base}{EXPORTTOOL}", 200, 1),
        ("GET", f"{base}/autodiscover/autodiscover.xml", 401, 1),
    ]  # fmt: skip
    notshell = ["CVE-2022-41040", "CVE-2022-41082", "CVE-2022-41080"]
    assert host["exposures"][0] == {
        "cve": "CVE-2021-26855",
        "family": "ProxyLogon",
        "certain": True,
        "fix_build": "15.1.2176.9",
        "fix_update": "Mar21SU",
        "fix_cu": "CU19",
        "fix_released": "2021-03-02",
    }
    del host["exposures"], host["sightings"]
    assert host == {
        "target": f"http://{cu19.host}",
        "url": f"{base}/",
        "address": "127.0.0.1",
        "status": "exposed",
        "build": "15.1.2176.2",
        "build_precision": "full",
        "build_source": {
            "source": "x-owa-version",
            "url": f"{base}/owa/",
            "version": "15.1.2176.2",
            "precision": "full",
        },
        "product": "Exchange Server 2016",
        "cu": "CU19",
        "su": None,
        "vulnerable_to": [
            "CVE-2021-26855",
            "CVE-2021-26857",
            "CVE-2021-26858",
            "CVE-2021-27065",
            "CVE-2021-34473",
            "CVE-2021-34523",
            "CVE-2021-31207",
            *notshell,
        ],
        "possibly_vulnerable_to": [],
        "fixed_by": {
            "CVE-2021-26855": "15.1.2176.9",
            "CVE-2021-26857": "15.1.2176.9",
            "CVE-2021-26858": "15.1.2176.9",
            "CVE-2021-27065": "15.1.2176.9",
            "CVE-2021-34473": "15.1.2176.12",
            "CVE-2021-34523": "15.1.2176.12",
            "CVE-2021-31207": "15.1.2176.14",
            **dict.fromkeys(notshell, "15.1.2375.37"),
        },
        "signs": [],
        "notes": ["plain HTTP: no TLS"],
        "tls_verified": None,
        "error": None,
    }


def test_text_report_and_exit_0(capsys: pytest.CaptureFixture[str], nov22: Listener) -> None:
    code, out, err = run(capsys, f"http://{nov22.host}", *FAST)
    assert (code, err) == (0, "")
    assert out == (
        f"http://{nov22.host}  NOT-EXPOSED\n"
        "  Exchange Server 2019 CU12 Nov22SU, build 15.2.1118.20\n"
        f"  read from x-owa-version of http://{nov22.host}/owa/\n"
        "  note: plain HTTP: no TLS\n"
        "\n"
        "1 host: 1 not-exposed\n"
    )


def test_text_report_of_an_exposed_host(capsys: pytest.CaptureFixture[str], cu19: Listener) -> None:
    code, out, _ = run(capsys, f"http://{cu19.host}", *FAST)
    assert code == 3
    lines = out.splitlines()
    assert lines[:4] == [
        f"http://{cu19.host}  EXPOSED",
        "  Exchange Server 2016 CU19, build 15.1.2176.2",
        f"  read from x-owa-version of http://{cu19.host}/owa/",
        "  CVE-2021-26855 ProxyLogon: exposed; fixed by CU19 Mar21SU 15.1.2176.9 (2021-03-02)",
    ]
    assert lines[-1] == "1 host: 1 exposed"


def test_csv(capsys: pytest.CaptureFixture[str], cu19: Listener, nov22: Listener) -> None:
    code, out, _ = run(
        capsys, f"http://{cu19.host}", f"http://{nov22.host}", "--format", "csv", *FAST
    )
    assert code == 3
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(CSV_COLUMNS)
    first = dict(zip(rows[0], rows[1], strict=True))
    keys = ("status", "build", "build_precision", "cu", "su", "tls_verified")
    assert {k: first[k] for k in keys} == {
        "status": "exposed",
        "build": "15.1.2176.2",
        "build_precision": "full",
        "cu": "CU19",
        "su": "",
        "tls_verified": "",
    }  # fmt: skip
    assert first["vulnerable_to"].split(";")[:2] == ["CVE-2021-26855", "CVE-2021-26857"]
    assert first["fixed_by"].split(";")[0] == "CVE-2021-26855=15.1.2176.9"
    assert first["build_source"] == f"x-owa-version http://{cu19.host}/owa/"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["status"], second["su"], second["vulnerable_to"]) == (
        "not-exposed",
        "Nov22SU",
        "",
    )


def test_csv_cells_never_start_a_formula() -> None:
    result = HostResult(
        parse_target("mail.example.org"),
        Status.ERROR,
        error=ProbeError(ErrorKind.UNREADABLE, '=HYPERLINK("http://x")'),
    )
    row = next(iter(list(csv.reader(io.StringIO(to_csv([result]))))[1:]))
    assert dict(zip(CSV_COLUMNS, row, strict=True))["error"] == '\'=HYPERLINK("http://x")'


def test_text_names_a_fixing_cu_once() -> None:
    exposures = (
        Exposure(
            "CVE-2024-21410", "Exchange RCE", True, "15.2.1544.4", "CU14", "CU14", date(2024, 2, 13)
        ),
        Exposure("CVE-2022-41040", "ProxyNotShell", False, "15.2.986.36", "Nov22SU", "CU11", None),
        Exposure("CVE-2099-0001", "Exchange RCE", True, None, None, None, None),
    )
    result = HostResult(parse_target("mail.example.org"), Status.EXPOSED, exposures=exposures)
    assert to_text([result]).splitlines()[1:4] == [
        "  CVE-2024-21410 Exchange RCE: exposed; fixed by CU14 15.2.1544.4 (2024-02-13)",
        "  CVE-2022-41040 ProxyNotShell: exposed unless an update of this CU is installed; "
        "fixed by CU11 Nov22SU 15.2.986.36 (?)",
        "  CVE-2099-0001 Exchange RCE: exposed; no fixing update in the table",
    ]


def test_hosts_from_a_file_and_stdin(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cu19: Listener,
    nov22: Listener,
) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text(f"# front ends\nhttp://{nov22.host}   # patched\n\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"http://{cu19.host}\n"))
    code, out, _ = run(capsys, "--from-file", str(hosts), "--format", "json", *FAST)
    assert (code, [h["status"] for h in json.loads(out)["hosts"]]) == (0, ["not-exposed"])
    code, out, _ = run(
        capsys, f"http://{nov22.host}", "--from-file", "-", "--format", "json", *FAST
    )
    assert (code, [h["build"] for h in json.loads(out)["hosts"]]) == (
        3,
        ["15.2.1118.20", "15.1.2176.2"],
    )


def test_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, nov22: Listener) -> None:
    target = tmp_path / "probe.json"
    code, out, err = run(
        capsys, f"http://{nov22.host}", "-o", str(target), "--format", "json", *FAST
    )
    assert (code, out, err) == (0, "", "")
    assert json.loads(target.read_text("utf-8"))["hosts"][0]["build"] == "15.2.1118.20"


def test_insecure_is_said_per_host(
    capsys: pytest.CaptureFixture[str], servers: ServerThread, certificates: Certificates
) -> None:
    listener = servers.serve(FakeExchange("15.2.1118.20"), certificates.self_signed)
    code, out, _ = run(capsys, listener.host, "--format", "json", *FAST)
    assert json.loads(out)["hosts"][0]["error"]["kind"] == "tls"
    code, out, _ = run(capsys, listener.host, "--insecure", "--format", "json", *FAST)
    host = json.loads(out)["hosts"][0]
    assert (code, host["status"], host["tls_verified"]) == (0, "not-exposed", False)
    assert host["notes"] == ["TLS certificate not verified (--insecure)"]


def test_only_errors_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "http://127.0.0.1:1", *FAST)
    assert (code, err) == (0, "")
    assert "error: tcp: connection refused" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "Error: give at least one HOST, or --from-file FILE with hosts in it"),
        (["ftp://mail.example.org"], "exhunt: error: not a host: 'ftp://mail.example.org'"),
        (["--from-file", "/nonexistent/hosts.txt"], "Error: Invalid value for '--from-file'"),
        (["x", "--concurrency", "0"], "Error: Invalid value for '--concurrency'"),
        (["x", "--timeout", "0"], "Error: Invalid value for '--timeout'"),
        (["x", "--format", "xml"], "Error: Invalid value for '--format'"),
        (["x", "--cve", "CVE-1999-0001"], "CVE-1999-0001 not in the builds table"),
        (["x", "-o", "/nonexistent/out.json"], "exhunt: error: --output /nonexistent/out.json"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_a_bad_line_in_the_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("mail.example.org\nnot a host\n", encoding="utf-8")
    code, out, err = run(capsys, "--from-file", str(hosts))
    assert (code, out) == (2, "")
    assert err == f"exhunt: error: {hosts}:2: not a host: 'not a host' (invalid name)\n"


@pytest.mark.slow
def test_progress_bar_on_a_terminal_only(nov22: Listener) -> None:
    """In its own process: stdout a pipe, stderr a terminal, where the bar is drawn."""
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    argv = [
        sys.executable,
        "-m",
        "exhunt",
        "probe",
        f"http://{nov22.host}",
        "--format",
        "json",
        *CVES,
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=secondary, env=env) as process:
        os.close(secondary)
        out, _ = process.communicate(timeout=60)
    drawn = b""
    while select.select([primary], [], [], 0.5)[0]:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(primary)
    assert process.returncode == 0
    assert json.loads(out)["hosts"][0]["build"] == "15.2.1118.20"
    assert b"probing" in drawn
