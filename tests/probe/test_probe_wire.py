"""What the probe sends, and the bounds it keeps: exactly the documented GETs, no cookies, no
other host, a bounded number of hosts at once, retries, the per-host deadline, TLS options."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import warnings
from pathlib import Path

import pytest
from probe_servers import (
    AUTODISCOVER,
    CAMPAIGN_CVES,
    EXPORTTOOL,
    Certificates,
    FakeExchange,
    Request,
    ServerThread,
    never_answers,
    newest_2019_build,
    redirects_to,
    send,
    trickles,
)

from exhunt import __version__
from exhunt.exceptions import UsageError
from exhunt.probe import PATHS, ProbeOptions, parse_target, probe_hosts

pytestmark = pytest.mark.integration

FAST = ProbeOptions(timeout=10, deadline=20, retries=0, cves=CAMPAIGN_CVES)


def test_exactly_three_documented_gets_and_nothing_else(servers: ServerThread) -> None:
    listener = servers.serve(FakeExchange("15.1.2176.2"))
    [result] = probe_hosts([parse_target(f"http://{listener.host}/owa/anything?x=1")], FAST)
    assert result.status == "exposed"
    assert PATHS == ("/owa/", EXPORTTOOL, AUTODISCOVER)
    assert [(r.method, r.path) for r in listener.requests] == [
        ("GET", "/owa/"),
        ("GET", "/owa/auth/logon.aspx"),
        ("GET", EXPORTTOOL),
        ("GET", AUTODISCOVER),
    ]
    for request in listener.requests:
        assert request.headers == [
            ("Host", listener.host),
            ("Connection", "keep-alive"),
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("User-Agent", f"exhunt/{__version__} (Exchange version probe)"),
        ]
    # The logon page was reached through the server's own redirect, query included.
    assert listener.requests[1].target.startswith("/owa/auth/logon.aspx?url=http%3A%2F%2F")


def test_a_cookie_set_by_the_server_is_never_sent_back(servers: ServerThread) -> None:
    listener = servers.serve(FakeExchange("15.1.2176.2"))
    probe_hosts([parse_target(f"http://{listener.host}")], FAST)
    assert len(listener.requests) == 4
    assert [r.header("Cookie") for r in listener.requests] == [None] * 4


def test_the_other_host_of_a_redirect_receives_nothing(servers: ServerThread) -> None:
    other = servers.serve(FakeExchange("15.1.2176.2"))
    redirecting = servers.serve(redirects_to(f"localhost:{other.port}"))
    [result] = probe_hosts([parse_target(f"http://{redirecting.host}")], FAST)
    assert result.error is not None
    assert result.error.kind == "redirect"
    assert other.requests == []
    assert [r.path for r in redirecting.requests] == list(PATHS)


def test_every_tracked_cve_is_judged_by_default(servers: ServerThread) -> None:
    newest = servers.serve(FakeExchange(newest_2019_build()))
    nov22 = servers.serve(FakeExchange("15.2.1118.20"))
    options = ProbeOptions(timeout=10, retries=0)
    targets = [parse_target(f"http://{x.host}") for x in (newest, nov22)]
    latest, older = probe_hosts(targets, options)
    assert (latest.status, latest.exposures) == ("not-exposed", ())
    # Nov 2022 closed ProxyNotShell and OWASSRF; the later RCE fixes came in 2023 and 2024.
    assert older.status == "exposed"
    assert "CVE-2023-21529" in older.vulnerable_to
    assert CAMPAIGN_CVES.isdisjoint(older.vulnerable_to)
    assert [e.family for e in older.exposures if e.cve == "CVE-2023-21529"] == ["Exchange RCE"]


def test_a_redirect_to_https_on_the_same_host_is_followed(
    servers: ServerThread, certificates: Certificates
) -> None:
    secure = servers.serve(FakeExchange("15.1.2507.16"), certificates.good)

    async def to_https(request: Request, writer: asyncio.StreamWriter) -> None:
        location = f"https://127.0.0.1:{secure.port}{request.target}"
        await send(writer, 301, [("Location", location)])

    plain = servers.serve(to_https)
    options = ProbeOptions(timeout=10, retries=0, ca_file=certificates.ca, cves=CAMPAIGN_CVES)
    [result] = probe_hosts([parse_target(f"http://{plain.host}")], options)
    assert (result.status, result.build, result.tls_verified) == (
        "not-exposed",
        "15.1.2507.16",
        True,
    )
    assert result.notes == ()
    assert [r.path for r in plain.requests] == list(PATHS)
    assert [r.path for r in secure.requests] == [
        "/owa/",
        "/owa/auth/logon.aspx",
        EXPORTTOOL,
        AUTODISCOVER,
    ]


def test_at_most_concurrency_hosts_at_once() -> None:
    thread = ServerThread()  # its own, to count only these connections

    async def slowly(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        await send(writer, 404)

    try:
        listeners = [thread.serve(slowly) for _ in range(6)]
        targets = [parse_target(f"http://{x.host}") for x in listeners]
        results = probe_hosts(targets, ProbeOptions(concurrency=2, timeout=10, retries=0))
    finally:
        thread.close()
    assert [r.error.kind if r.error else None for r in results] == ["not-exchange"] * 6
    assert thread.most_active == 2
    assert [r.target.port for r in results] == [x.port for x in listeners]


def test_a_server_that_starts_late_is_reached_by_a_retry(servers: ServerThread) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    late = threading.Timer(0.3, lambda: servers.serve(FakeExchange("15.1.2176.2"), port=port))
    late.start()
    options = ProbeOptions(timeout=10, deadline=20, retries=4, backoff=0.1, cves=CAMPAIGN_CVES)
    [result] = probe_hosts([parse_target(f"http://127.0.0.1:{port}")], options)
    late.join()
    assert (result.status, result.build) == ("exposed", "15.1.2176.2")
    assert result.requests[0].attempts > 1
    assert [r.attempts for r in result.requests[1:]] == [1, 1, 1]


def test_the_host_deadline_bounds_a_trickling_answer(servers: ServerThread) -> None:
    listener = servers.serve(trickles)
    options = ProbeOptions(timeout=10, deadline=0.8, retries=0)
    started = time.monotonic()
    [result] = probe_hosts([parse_target(f"http://{listener.host}")], options)
    assert time.monotonic() - started < 4  # not the 10 s timeout, nor endless
    assert result.error is not None
    assert (result.error.kind, result.error.message) == (
        "timeout",
        "the host's 0.8 s deadline ran out",
    )
    assert len(result.requests) == 1


def test_the_host_deadline_bounds_a_silent_server(servers: ServerThread) -> None:
    listener = servers.serve(never_answers)
    [result] = probe_hosts([parse_target(f"http://{listener.host}")], ProbeOptions(deadline=0.6))
    assert str(result.error) == "timeout: the host's 0.6 s deadline ran out"
    assert [r.url.rsplit("/", 1)[-1] for r in result.requests] == [""]
    assert result.seconds < 4


def test_insecure_reads_past_bad_certificates_and_says_so(
    servers: ServerThread, certificates: Certificates
) -> None:
    handler = FakeExchange("15.1.2507.16")
    hosts = [servers.serve(handler, c) for c in (certificates.self_signed, certificates.wrong_name)]
    options = ProbeOptions(timeout=10, retries=0, verify_tls=False, cves=CAMPAIGN_CVES)
    results = probe_hosts([parse_target(f"https://{x.host}") for x in hosts], options)
    for result in results:
        assert (result.status, result.build, result.su) == (
            "not-exposed",
            "15.1.2507.16",
            "Nov22SU",
        )
        assert result.tls_verified is False
        assert result.notes == ("TLS certificate not verified (--insecure)",)


def test_insecure_reaches_a_server_that_speaks_only_tls_1_0(
    servers: ServerThread, certificates: Certificates
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        certificates.ca.parent / "good.pem", certificates.ca.parent / "good.key"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot serve TLS 1.0")
    listener = servers.serve(FakeExchange("14.3.513.0", owa_header=False, legacy=True), context)
    target = parse_target(f"https://{listener.host}")
    [refused] = probe_hosts([target], ProbeOptions(timeout=10, retries=0, ca_file=certificates.ca))
    assert refused.error is not None
    assert refused.error.kind == "tls"
    assert refused.error.message.endswith(
        "(the server may speak only TLS 1.0 or 1.1, which --insecure allows)"
    )
    insecure = ProbeOptions(timeout=10, retries=0, verify_tls=False)
    [result] = probe_hosts([target], insecure)
    assert (result.build, result.error, result.tls_verified) == ("14.3.513.0", None, False)


def test_https_to_a_plain_http_port_is_a_tls_error(servers: ServerThread) -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # IIS answers a TLS hello sent to its plain HTTP port with a 400 at once.
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    port = servers.serve_raw(plain_http)
    [result] = probe_hosts([parse_target(f"https://127.0.0.1:{port}")], FAST)
    assert result.error is not None
    assert (result.error.kind, result.error.message) == (
        "tls",
        "TLS handshake failed: WRONG_VERSION_NUMBER (is this port plain HTTP?)",
    )
    assert len(result.requests) == 1


def test_a_tls_handshake_that_never_ends_is_a_connection_timeout(servers: ServerThread) -> None:
    listener = servers.serve(never_answers)
    options = ProbeOptions(timeout=0.5, retries=0)
    [result] = probe_hosts([parse_target(f"https://{listener.host}")], options)
    assert result.error is not None
    assert str(result.error) == "timeout: no connection within 0.5 s"
    assert [(r.status, r.attempts) for r in result.requests] == [(None, 1)]


def test_a_ca_file_that_is_no_certificate_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(UsageError, match="not a PEM CA file"):
        probe_hosts([parse_target("127.0.0.1")], ProbeOptions(ca_file=bad))
