"""Reading versions from answers, judging them, and naming failures: each piece on its own."""

from __future__ import annotations

import ast
import socket
import ssl
from pathlib import Path

import httpx
import pytest
from probe_servers import CAMPAIGN_CVES, LOGON_PAGE, MANIFEST

import exhunt.probe
from exhunt.probe.errors import classify
from exhunt.probe.exposure import assess, choose, conflicts
from exhunt.probe.fetch import Answer
from exhunt.probe.results import Sighting, Source, clean
from exhunt.probe.versions import (
    exporttool_sighting,
    header_sightings,
    looks_like_exchange,
    owa_path_sighting,
)

URL = "https://mail.example.org/owa/auth/logon.aspx"


def answer(body: bytes = b"", status: int = 200, **headers: str) -> Answer:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Answer(URL, status, httpx.Headers(pairs), body)


def sighting(version: str, source: Source = Source.HEADER) -> Sighting:
    parts = tuple(int(p) for p in version.split("."))
    full = len(parts) == 4
    build = parts if full else (*parts, 0)
    return Sighting(source, URL, version, build, full)  # type: ignore[arg-type]


def test_header_values_and_junk() -> None:
    answers = [
        answer(x_owa_version="15.1.2507.16"),
        answer(x_owa_version=" 15.02.1118.020 "),
        answer(x_owa_version="\x1b[31mevil"),
        answer(x_owa_version="1" * 60),
    ]
    found, notes = header_sightings(answers)
    assert [(s.version, s.build, s.full) for s in found] == [
        ("15.1.2507.16", (15, 1, 2507, 16), True),
        ("15.02.1118.020", (15, 2, 1118, 20), True),
    ]
    assert notes[0] == f"unreadable x-owa-version '\\x1b[31mevil' from {URL}"
    assert len(notes) == 2


def test_owa_paths_2013_and_later_give_the_cu_level() -> None:
    page = LOGON_PAGE.format(v="15.1.2375").encode()
    found = owa_path_sighting([answer(page)])
    assert found is not None
    assert (found.source, found.version, found.build, found.full) == (
        "owa-path",
        "15.1.2375",
        (15, 1, 2375, 0),
        False,
    )


def test_owa_paths_of_2010_give_the_full_build() -> None:
    page = b'<link href="/owa/14.3.513.0/themes/resources/logon.css">'
    found = owa_path_sighting([answer(page)])
    assert found is not None
    assert (found.version, found.full) == ("14.3.513.0", True)


def test_owa_paths_only_in_pages_answered_200() -> None:
    page = LOGON_PAGE.format(v="15.1.2375").encode()
    assert owa_path_sighting([answer(page, status=500)]) is None
    assert owa_path_sighting([answer(b"<html>no paths</html>")]) is None


def test_export_tool_manifest_first_assembly_identity() -> None:
    body = MANIFEST.format(v="15.0.1497.12").encode()
    found = exporttool_sighting([answer(body)])
    assert found is not None
    assert (found.source, found.version, found.full) == ("exporttool", "15.0.1497.12", True)
    unprefixed = b'<assembly><assemblyIdentity version="15.2.986.5" name="x"/></assembly>'
    found = exporttool_sighting([answer(unprefixed)])
    assert found is not None
    assert found.version == "15.2.986.5"


def test_export_tool_refuses_what_is_not_a_manifest() -> None:
    assert exporttool_sighting([answer(b"<assemblyIdentity version='1.2.3'/>")]) is None
    assert exporttool_sighting([answer(MANIFEST.format(v="15.1.1.1").encode(), 404)]) is None
    huge = b"<assemblyIdentity " + b" " * 200_000 + b'version="15.1.2.3"/>'
    assert exporttool_sighting([answer(huge)]) is None


def test_exchange_markers() -> None:
    assert looks_like_exchange([answer(status=404, x_feserver="EXCH01")])
    assert looks_like_exchange([answer(b"<!-- OwaPage = ASP.auth_logon_aspx -->")])
    assert not looks_like_exchange([answer(b"<!-- OwaPage -->", status=404)])
    assert not looks_like_exchange([answer(b"Not Found", status=404, server="nginx")])


def test_choose_judges_the_lowest_cu_and_prefers_the_full_build() -> None:
    header = sighting("15.1.2507.16")
    path = sighting("15.1.2507", Source.OWA_PATH)
    assert choose([path, header]) == header
    older = sighting("15.1.2375", Source.OWA_PATH)
    assert choose([header, older]) == older
    assert conflicts([header, older], older) == [
        f"x-owa-version of {URL} shows 15.1.2507.16, not 15.1.2375: more than one server may "
        "answer; the lowest is judged"
    ]
    assert conflicts([header, path], header) == []
    assert choose([]) is None


def test_assess_an_unknown_build() -> None:
    found = assess(sighting("15.9.1.1"), CAMPAIGN_CVES)
    assert (found.status, found.product, found.cu, found.exposures) == ("unknown", None, None, ())
    assert found.notes == ("the builds table does not know build 15.9.1.1: exposure unknown",)


def test_assess_proxyshell_under_the_april_2021_update() -> None:
    # The April 2021 SU (15.1.2176.12) fixed 34473 and 34523; only May's fixed 31207.
    found = assess(sighting("15.1.2176.12"), CAMPAIGN_CVES)
    assert found.status == "exposed"
    assert [(e.cve, e.fix_build, e.fix_name) for e in found.exposures[:1]] == [
        ("CVE-2021-31207", "15.1.2176.14", "May21SU")
    ]


def test_assess_2016_cu20_rtm_has_proxylogon_fixed_not_proxyshell() -> None:
    found = assess(sighting("15.1.2242.4"), CAMPAIGN_CVES)
    cves = [e.cve for e in found.exposures]
    assert "CVE-2021-26855" not in cves
    assert cves[:3] == ["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"]


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    """The shape httpx raises: its ConnectError caused by the operating system's error."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise httpx.ConnectError("failed") from exc
    except httpx.ConnectError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("cause", "kind", "message", "retry"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns",
         "name does not resolve (Name or service not known)", False),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "dns",
         "name does not resolve (Temporary failure in name resolution)", True),
        (OSError("All connection attempts failed"), "tcp",
         "cannot connect (All connection attempts failed)", True),
        (ConnectionRefusedError(111, "Connection refused"), "tcp", "connection refused", True),
        (OSError(113, "No route to host"), "tcp", "cannot connect (No route to host)", True),
    ],
)  # fmt: skip
def test_classify_connection_failures(
    cause: BaseException, kind: str, message: str, retry: bool
) -> None:
    failure = classify(_connect_error(cause), 10)
    assert (failure.error.kind, failure.error.message, failure.retry, failure.reached) == (
        kind,
        message,
        retry,
        False,
    )


def test_classify_refusal_inside_an_exception_group() -> None:
    group = ExceptionGroup("attempts", [ConnectionRefusedError(111, "Connection refused")])
    failure = classify(_connect_error(group), 10)
    assert (failure.error.kind, failure.error.message) == ("tcp", "connection refused")


def test_classify_timeouts() -> None:
    assert (
        str(classify(httpx.ConnectTimeout("x"), 10).error) == "timeout: no connection within 10 s"
    )
    assert classify(httpx.ConnectTimeout("x"), 10).retry
    read = classify(httpx.ReadTimeout("x"), 2.5)
    assert (str(read.error), read.retry, read.reached) == (
        "timeout: no answer within 2.5 s",
        False,
        True,
    )


def test_classify_tls_is_never_retried() -> None:
    failure = classify(_connect_error(ssl.SSLError(1, "[SSL] unsupported protocol")), 10)
    assert (failure.error.kind, failure.retry) == ("tls", False)


def test_clean_makes_server_text_one_safe_line() -> None:
    assert clean("a\nb\x1b[2Jc\u202ed") == "a\\x0ab\\x1b[2Jc\\x202ed"
    assert clean("x" * 400) == "x" * 297 + "..."


def test_the_package_imports_only_the_foundation_and_the_builds_table() -> None:
    allowed = {
        "exhunt",
        "exhunt.exceptions",
        "exhunt.timeutil",
        "exhunt.detect.builds",
        "exhunt.detect.cves",
    }
    package = Path(exhunt.probe.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("exhunt"):
                module = node.module or ""
                assert module in allowed or module.startswith("exhunt.probe"), (path, module)
