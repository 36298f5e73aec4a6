"""Real HTTP(S) servers on 127.0.0.1 that answer like Exchange builds, or like hostile hosts.

All servers run on one asyncio loop in a background thread; each listens on its own port and
records every request it read, so tests can check exactly what the probe sent.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from exhunt.detect.builds import facts_for, parse_build

EXPORTTOOL = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
AUTODISCOVER = "/autodiscover/autodiscover.xml"


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Listener:
    port: int
    requests: list[Request] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


class ServerThread:
    """An event loop in a daemon thread hosting any number of listening servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.active = 0
        self.most_active = 0

    def serve(
        self, handler: Handler, context: ssl.SSLContext | None = None, port: int = 0
    ) -> Listener:
        """Listen on ``port`` (a free one by default) of 127.0.0.1 with ``handler`` answering."""
        started = self._start(handler, context, port)
        return asyncio.run_coroutine_threadsafe(started, self.loop).result(5)

    def serve_raw(
        self, callback: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> int:
        """Listen on a free port with ``callback`` owning each connection; the port."""

        async def start() -> int:
            server = await asyncio.start_server(callback, "127.0.0.1", 0)
            return int(server.sockets[0].getsockname()[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)

    async def _start(self, handler: Handler, context: ssl.SSLContext | None, port: int) -> Listener:
        listener = Listener(0)

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
            try:
                request = await read_request(reader)
                if request is not None:
                    listener.requests.append(request)
                    await handler(request, writer)
            except (ConnectionError, ssl.SSLError, OSError, asyncio.CancelledError):
                pass  # the client hung up, or the test is over
            finally:
                self.active -= 1
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", port, ssl=context)
        listener.port = server.sockets[0].getsockname()[1]
        listener.server = server
        return listener

    def close(self) -> None:
        async def stop() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = [tuple(x.split(": ", 1)) for x in lines[1:] if x]
    return Request(method, target, headers)  # type: ignore[arg-type]


async def send(
    writer: asyncio.StreamWriter,
    status: int,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> None:
    reason = {200: "OK", 302: "Found", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    lines = [f"HTTP/1.1 {status} {reason.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    writer.write("\r\n".join(lines).encode("latin-1") + body)
    await writer.drain()


# --- Exchange as it answers -------------------------------------------------------------------

LOGON_PAGE = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- OwaPage = ASP.auth_logon_aspx -->
<html>
<head>
<link rel="shortcut icon" href="/owa/auth/{v}/themes/resources/favicon.ico" type="image/x-icon">
<title>Outlook</title>
<style>
@font-face {{
    font-family: "wf_segoe-ui_normal";
    src: url("/owa/auth/{v}/themes/resources/segoeui-regular.eot?#iefix");
}}
</style>
</head>
<body class="signInBg">
<img src="/owa/auth/{v}/themes/resources/owa_text_blue.png">
<form action="/owa/auth.owa" method="POST" name="logonForm"></form>
</body>
</html>
"""

LOGON_PAGE_2010 = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- OwaPage = ASP.auth_logon_aspx -->
<html><head><title>Outlook Web App</title>
<link type="text/css" rel="stylesheet" href="/owa/{v}/themes/resources/logon.css">
<script type="text/javascript" src="/owa/{v}/scripts/premium/flogon.js"></script>
</head><body></body></html>
"""

MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd"
  manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1"
  xmlns="urn:schemas-microsoft-com:asm.v2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application"
    version="{v}" publicKeyToken="b03f5f7f11d50a3a" language="neutral"
    processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />
  <dependency>
    <dependentAssembly dependencyType="install" codebase="{v}\\exporttool.exe.manifest">
      <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.exe" version="{v}" />
    </dependentAssembly>
  </dependency>
</asmv1:assembly>
"""


@dataclass(frozen=True)
class FakeExchange:
    """How one Exchange server answers the probe's three paths."""

    build: str
    owa_header: bool = True
    """``X-OWA-Version`` on the OWA answers (a reverse proxy may strip it)."""
    owa_path: bool = True
    exporttool: bool = True
    autodiscover_header: bool = False
    ecp_status: int | None = None
    autodiscover_status: int = 401
    legacy: bool = False
    """Exchange 2010: the full build in ``/owa/<build>/`` paths."""
    owa_elsewhere: str | None = None
    """Where ``/owa/`` sends visitors instead of the logon page (a sign-in service)."""

    @property
    def cu_level(self) -> str:
        return ".".join(self.build.split(".")[:3])

    async def __call__(self, request: Request, writer: asyncio.StreamWriter) -> None:
        common = [("Server", "Microsoft-IIS/10.0"), ("X-FEServer", "EXCH01")]
        owa = [("X-OWA-Version", self.build)] if self.owa_header else []
        if request.path == "/owa/" and self.owa_elsewhere:
            await send(writer, 302, [("Location", self.owa_elsewhere)])
        elif request.path == "/owa/":
            await self._redirect_to_logon(request, writer, common + owa)
        elif request.path == "/owa/auth/logon.aspx":
            await send(writer, 200, [*common, *owa, ("Content-Type", "text/html")], self._page())
        elif request.path == EXPORTTOOL:
            await self._exporttool(writer, common)
        elif request.path == AUTODISCOVER:
            extra = [("X-OWA-Version", self.build)] if self.autodiscover_header else []
            auth = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")]
            await send(writer, self.autodiscover_status, common + extra + auth)
        else:
            await send(writer, 404, common)

    async def _redirect_to_logon(
        self, request: Request, writer: asyncio.StreamWriter, headers: list[tuple[str, str]]
    ) -> None:
        host = request.header("Host")
        scheme = "https" if writer.get_extra_info("sslcontext") else "http"
        back = quote(f"{scheme}://{host}/owa/", safe="")
        location = f"{scheme}://{host}/owa/auth/logon.aspx?url={back}&reason=0"
        cookie = ("Set-Cookie", "ClientId=0C2A6B5E7B4D4F0C9B1C; path=/; secure; HttpOnly")
        await send(writer, 302, [*headers, ("Location", location), cookie])

    def _page(self) -> bytes:
        if not self.owa_path:
            return b"<html><head><title>Outlook</title></head><body></body></html>"
        if self.legacy:
            return LOGON_PAGE_2010.format(v=self.build).encode()
        return LOGON_PAGE.format(v=self.cu_level).encode()

    async def _exporttool(
        self, writer: asyncio.StreamWriter, common: list[tuple[str, str]]
    ) -> None:
        if self.ecp_status is not None:
            await send(writer, self.ecp_status, common)
        elif self.exporttool:
            body = MANIFEST.format(v=self.build).encode()
            await send(
                writer, 200, [*common, ("Content-Type", "application/x-ms-application")], body
            )
        else:
            await send(writer, 404, common)


# --- Hosts that misbehave ---------------------------------------------------------------------


async def never_answers(request: Request, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def trickles(request: Request, writer: asyncio.StreamWriter) -> None:
    """A header byte every 0.1 s: each read is quick, the answer never ends."""
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while True:
        writer.write(b"a")
        await writer.drain()
        await asyncio.sleep(0.1)


async def endless_body(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
    chunk = b"<p>" + b"x" * 65533
    while True:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0)  # drain() does not yield while the client keeps up


async def huge_headers(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Filler: " + b"a" * 300_000 + b"\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(1)


async def malformed(request: Request, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_8.9\r\nnot an HTTP answer\r\n\r\n")
    await writer.drain()


async def hangs_up(request: Request, writer: asyncio.StreamWriter) -> None:
    return None  # the connection is closed without a byte


async def not_exchange(request: Request, writer: asyncio.StreamWriter) -> None:
    await send(writer, 404, [("Server", "nginx"), ("Content-Type", "text/html")], b"Not Found")


@functools.cache
def bomb() -> bytes:
    """8 MB of zeros in 8 KB of gzip."""
    return gzip.compress(bytes(8_000_000), compresslevel=9)


async def gzip_bomb(request: Request, writer: asyncio.StreamWriter) -> None:
    """A body that inflates 1000-fold, although the probe asked for ``identity``."""
    await send(writer, 200, [("Content-Encoding", "gzip"), ("Content-Type", "text/html")], bomb())


def redirects_to(location_host: str) -> Handler:
    """OWA that sends every visitor to ``location_host`` (a sign-in service elsewhere)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path == "/owa/":
            location = f"http://{location_host}/adfs/ls/?wa=wsignin1.0"
            await send(writer, 302, [("Location", location)])
        else:
            await send(writer, 404)

    return handler


# --- Certificates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    """The test CA (PEM), to pass as --ca-file."""
    good: ssl.SSLContext
    """A server context with a certificate for 127.0.0.1 signed by the test CA."""
    wrong_name: ssl.SSLContext
    """Signed by the test CA, but for mail.example.org."""
    self_signed: ssl.SSLContext
    """For 127.0.0.1, signed by nobody the client trusts."""


def make_certificates(folder: Path) -> Certificates:
    """A test CA and three server certificates, made with the openssl command."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(folder, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=exhunt test CA")  # fmt: skip
    _openssl(folder, "req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days",
             "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    for name, san in (("good", "IP:127.0.0.1"), ("wrong", "DNS:mail.example.org")):
        _openssl(folder, "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}")  # fmt: skip
        ext = folder / f"{name}.ext"
        ext.write_text(
            f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        _openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
                 "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                 "-extfile", ext.name)  # fmt: skip
    return Certificates(
        folder / "ca.pem",
        _server_context(folder, "good"),
        _server_context(folder, "wrong"),
        _server_context(folder, "self"),
    )


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)


def _server_context(folder: Path, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / f"{name}.pem", folder / f"{name}.key")
    return context


# --- Expectations -----------------------------------------------------------------------------

CAMPAIGN_CVES = frozenset(
    {
        "CVE-2021-26855",
        "CVE-2021-26857",
        "CVE-2021-26858",
        "CVE-2021-27065",
        "CVE-2021-34473",
        "CVE-2021-34523",
        "CVE-2021-31207",
        "CVE-2022-41040",
        "CVE-2022-41082",
        "CVE-2022-41080",
    }
)
"""The four campaigns' CVEs: tests judge these so that CVEs added to the table later do not
change their expectations."""


def newest_2019_build() -> str:
    """The newest Exchange 2019 build the builds table knows."""
    updates = facts_for(parse_build("15.2.0.0") or (15, 2, 0, 0)).updates
    return ".".join(str(p) for p in max(u.build for u in updates if u.product == "2019"))


def url_of(name: str, listener: Listener) -> str:
    """The URL of a fleet server: ``tls-*`` ones speak HTTPS."""
    return ("https://" if name.startswith("tls-") else "http://") + listener.host
