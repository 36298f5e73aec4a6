"""One probe over fake Exchange builds and hostile hosts: each host gets its own exact result,
and no hostile host holds up or spoils the others."""

from __future__ import annotations

import socket
import time

import pytest
from probe_servers import CAMPAIGN_CVES, Certificates, Listener, newest_2019_build, url_of

from exhunt.probe import HostResult, ProbeOptions, parse_target, probe_hosts

pytestmark = pytest.mark.integration

PROXYLOGON = ["CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"]
PROXYSHELL = ["CVE-2021-34473", "CVE-2021-34523", "CVE-2021-31207"]
NOTSHELL = ["CVE-2022-41040", "CVE-2022-41082", "CVE-2022-41080"]
EXPORTTOOL = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"


def closed_port() -> int:
    """A port of 127.0.0.1 with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def probed(fleet: dict[str, Listener], certificates: Certificates) -> dict[str, HostResult]:
    names = list(fleet)
    targets = [parse_target(url_of(name, fleet[name])) for name in names]
    refused = closed_port()
    targets.append(parse_target(f"127.0.0.1:{refused}"))
    # Generous limits: a loaded test machine must not make a well-behaved host time out.
    options = ProbeOptions(
        timeout=3,
        deadline=4,
        retries=1,
        backoff=0.05,
        ca_file=certificates.ca,
        cves=CAMPAIGN_CVES,
    )
    started = time.monotonic()
    results = probe_hosts(targets, options)
    elapsed = time.monotonic() - started
    assert elapsed < 8, f"the hostile hosts held the probe up: {elapsed:.1f} s"
    return dict(zip([*names, "refused"], results, strict=True))


def fixed_by(result: HostResult) -> dict[str, str | None]:
    return {e.cve: e.fix_build for e in result.exposures}


def test_2016_cu19_rtm_is_exposed_to_every_campaign(
    probed: dict[str, HostResult], fleet: dict[str, Listener]
) -> None:
    result = probed["2016-cu19"]
    base = f"http://{fleet['2016-cu19'].host}"
    assert (result.status, result.build, result.full_build) == ("exposed", "15.1.2176.2", True)
    assert (result.product, result.cu, result.su) == ("Exchange Server 2016", "CU19", None)
    assert result.build_source is not None
    assert (result.build_source.source, result.build_source.url) == (
        "x-owa-version",
        base + "/owa/",
    )
    assert result.vulnerable_to == PROXYLOGON + PROXYSHELL + NOTSHELL
    assert result.possibly_vulnerable_to == []
    assert fixed_by(result) == {
        **dict.fromkeys(PROXYLOGON, "15.1.2176.9"),
        "CVE-2021-34473": "15.1.2176.12",
        "CVE-2021-34523": "15.1.2176.12",
        "CVE-2021-31207": "15.1.2176.14",
        **dict.fromkeys(NOTSHELL, "15.1.2375.37"),
    }
    assert [(e.fix_name, e.fix_cu) for e in result.exposures[:1]] == [("Mar21SU", "CU19")]
    assert [(s.source, s.version, s.full) for s in result.sightings] == [
        ("x-owa-version", "15.1.2176.2", True),
        ("x-owa-version", "15.1.2176.2", True),
        ("owa-path", "15.1.2176", False),
        ("exporttool", "15.1.2176.2", True),
    ]
    assert [(r.url.split("?")[0], r.status, r.error) for r in result.requests] == [
        (base + "/owa/", 302, None),
        (base + "/owa/auth/logon.aspx", 200, None),
        (base + EXPORTTOOL, 200, None),
        (base + "/autodiscover/autodiscover.xml", 401, None),
    ]
    assert (result.signs, result.notes, result.error) == ((), ("plain HTTP: no TLS",), None)
    assert (result.tls_verified, result.address) == (None, "127.0.0.1")


def test_2013_march_update_without_header_is_read_from_the_export_tool(
    probed: dict[str, HostResult], fleet: dict[str, Listener]
) -> None:
    result = probed["2013-cu23-mar21-exporttool"]
    assert (result.status, result.build, result.full_build) == ("exposed", "15.0.1497.12", True)
    assert (result.product, result.cu, result.su) == ("Exchange Server 2013", "CU23", "Mar21SU")
    assert result.build_source is not None
    assert result.build_source.source == "exporttool"
    assert (
        result.build_source.url == f"http://{fleet['2013-cu23-mar21-exporttool'].host}{EXPORTTOOL}"
    )
    assert result.vulnerable_to == PROXYSHELL + NOTSHELL
    assert fixed_by(result) == {
        "CVE-2021-34473": "15.0.1497.15",
        "CVE-2021-34523": "15.0.1497.15",
        "CVE-2021-31207": "15.0.1497.18",
        **dict.fromkeys(NOTSHELL, "15.0.1497.44"),
    }


def test_cu_level_only_leaves_security_update_fixes_open(probed: dict[str, HostResult]) -> None:
    result = probed["2019-cu11-path-only"]
    assert (result.status, result.build, result.full_build) == ("unknown", "15.2.986", False)
    assert (result.product, result.cu, result.su) == ("Exchange Server 2019", "CU11", None)
    assert result.build_source is not None
    assert result.build_source.source == "owa-path"
    assert result.vulnerable_to == []
    assert result.possibly_vulnerable_to == NOTSHELL
    assert fixed_by(result) == dict.fromkeys(NOTSHELL, "15.2.986.36")


def test_cu_level_is_exposed_when_no_update_of_the_cu_fixes(probed: dict[str, HostResult]) -> None:
    result = probed["2016-cu20-path-only"]
    assert (result.status, result.build, result.cu) == ("exposed", "15.1.2242", "CU20")
    assert result.vulnerable_to == NOTSHELL
    assert result.possibly_vulnerable_to == PROXYSHELL
    assert fixed_by(result) == {
        "CVE-2021-34473": "15.1.2242.8",
        "CVE-2021-34523": "15.1.2242.8",
        "CVE-2021-31207": "15.1.2242.10",
        **dict.fromkeys(NOTSHELL, "15.1.2375.37"),
    }


def test_header_on_autodiscover_only(
    probed: dict[str, HostResult], fleet: dict[str, Listener]
) -> None:
    result = probed["2016-cu22-autodiscover"]
    assert (result.status, result.build, result.su) == ("not-exposed", "15.1.2375.37", "Nov22SU")
    assert result.build_source is not None
    assert result.build_source.source == "x-owa-version"
    host = fleet["2016-cu22-autodiscover"].host
    assert result.build_source.url == f"http://{host}/autodiscover/autodiscover.xml"
    assert [(s.source, s.version) for s in result.sightings] == [
        ("owa-path", "15.1.2375"),
        ("x-owa-version", "15.1.2375.37"),
    ]
    assert result.exposures == ()


def test_stopped_ecp_is_a_visible_sign(probed: dict[str, HostResult]) -> None:
    result = probed["2019-cu9-ecp-stopped"]
    assert (result.status, result.build, result.cu, result.su) == (
        "exposed",
        "15.2.858.5",
        "CU9",
        None,
    )
    assert result.vulnerable_to == PROXYSHELL + NOTSHELL
    assert fixed_by(result) == {
        "CVE-2021-34473": "15.2.858.10",
        "CVE-2021-34523": "15.2.858.10",
        "CVE-2021-31207": "15.2.858.12",
        **dict.fromkeys(NOTSHELL, "15.2.986.36"),
    }
    assert [s.id for s in result.signs] == ["ecp-unavailable"]
    assert result.requests[2].status == 503


def test_exchange_2010_full_build_from_the_owa_path(probed: dict[str, HostResult]) -> None:
    result = probed["2010-sp3"]
    assert (result.build, result.full_build, result.product) == (
        "14.3.513.0",
        True,
        "Exchange Server 2010",
    )
    assert result.build_source is not None
    assert result.build_source.source == "owa-path"
    assert result.error is None


def test_newest_build_and_refused_autodiscover(probed: dict[str, HostResult]) -> None:
    result = probed["2019-newest"]
    assert (result.status, result.build, result.exposures) == (
        "not-exposed",
        newest_2019_build(),
        (),
    )
    assert [s.id for s in result.signs] == ["autodiscover-refused"]


def test_exchange_that_hides_its_version(probed: dict[str, HostResult]) -> None:
    result = probed["version-hidden"]
    assert result.error is not None
    assert (result.status, result.error.kind, result.error.message) == (
        "error",
        "no-version",
        "Exchange answered, but none of its answers shows a version",
    )
    assert [r.status for r in result.requests] == [302, 200, 404, 401]


def test_refused_ecp_is_a_visible_sign(probed: dict[str, HostResult]) -> None:
    result = probed["ecp-refused"]
    assert (result.status, result.build) == ("not-exposed", "15.1.2507.16")
    assert [s.id for s in result.signs] == ["ecp-refused"]


def test_owa_sent_elsewhere_still_gives_the_export_tool_build(
    probed: dict[str, HostResult],
) -> None:
    result = probed["owa-behind-adfs"]
    assert (result.status, result.build, result.error) == ("not-exposed", "15.1.2507.16", None)
    assert result.build_source is not None
    assert result.build_source.source == "exporttool"
    assert [s.id for s in result.signs] == ["owa-off-host"]
    assert result.signs[0].detail.startswith(
        "OWA sends visitors to another host (/owa/ redirects to https://sts.example.org/adfs/ls/: "
        "another host, not followed)"
    )
    assert str(result.requests[0].error) == (
        "redirect: /owa/ redirects to https://sts.example.org/adfs/ls/: another host, not followed"
    )


def test_verified_tls(probed: dict[str, HostResult]) -> None:
    result = probed["tls-2019-cu12-nov22"]
    assert (result.status, result.build, result.cu, result.su) == (
        "not-exposed",
        "15.2.1118.20",
        "CU12",
        "Nov22SU",
    )
    assert (result.tls_verified, result.notes) == (True, ())


@pytest.mark.parametrize(
    ("name", "kind", "message", "requests"),
    [
        ("slow", "timeout", "no answer within 3 s", 2),
        ("trickle", "timeout", "no answer within 3 s", 2),
        ("endless", "unreadable", "answer larger than 1048576 bytes; stopped reading", 3),
        ("gzip-bomb", "unreadable", "answer larger than 1048576 bytes; stopped reading", 3),
        ("huge-headers", "unreadable", "answer headers larger than 100 KiB", 3),
        ("malformed", "unreadable", "malformed HTTP answer (illegal status line)", 3),
        ("hangs-up", "unreadable", "the server closed the connection without answering", 3),
        (
            "not-exchange",
            "not-exchange",
            "no answer looks like Exchange (OWA 404, export tool 404, AutoDiscover.xml 404)",
            3,
        ),
        ("tls-self-signed", "tls", "certificate not accepted: self-signed certificate", 1),
        (
            "tls-wrong-name",
            "tls",
            "certificate not accepted: IP address mismatch, certificate is not valid for "
            "'127.0.0.1'.",
            1,
        ),
    ],
)
def test_hostile_hosts_give_one_clear_error(
    probed: dict[str, HostResult], name: str, kind: str, message: str, requests: int
) -> None:
    result = probed[name]
    assert result.status == "error"
    assert result.error is not None
    assert (result.error.kind, result.error.message) == (kind, message)
    assert (result.build, result.exposures, result.signs) == (None, (), ())
    assert len(result.requests) == requests
    assert all(r.attempts == 1 for r in result.requests)


def test_redirect_to_another_host_is_reported_not_followed(
    probed: dict[str, HostResult], fleet: dict[str, Listener]
) -> None:
    result = probed["elsewhere"]
    other = fleet["2016-cu19"].port
    assert result.error is not None
    assert (result.error.kind, result.error.message) == (
        "redirect",
        f"/owa/ redirects to http://localhost:{other}/adfs/ls/?wa=wsignin1.0: another host, "
        "not followed",
    )
    assert [r.url.rsplit("/", 1)[-1] for r in result.requests] == [
        "",
        "microsoft.exchange.ediscovery.exporttool.application",
        "autodiscover.xml",
    ]


def test_refused_connection_is_retried_then_reported(probed: dict[str, HostResult]) -> None:
    result = probed["refused"]
    assert result.error is not None
    assert (result.error.kind, result.error.message) == ("tcp", "connection refused")
    assert [(r.status, r.attempts) for r in result.requests] == [(None, 2)]
    assert result.tls_verified is True
