"""GET one path of one host: bounded in time and size, redirects followed on the same host only.

Every answer is read as raw bytes up to a cap (an endless body is cut, never read to the end);
a body the server compressed although ``identity`` was asked for is decompressed within the same
cap, so a small compressed answer cannot expand without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from exhunt.probe.errors import Failure, classify
from exhunt.probe.options import ProbeOptions
from exhunt.probe.results import ErrorKind, ProbeError, RequestRecord, clean
from exhunt.probe.targets import Target

log = logging.getLogger(__name__)

REDIRECTS = {301, 302, 303, 307, 308}
GRACE = 0.05


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, its body cut at the cap."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class Fetched:
    """The answers to one GET and its same-host redirects."""

    answers: tuple[Answer, ...]
    records: tuple[RequestRecord, ...]
    error: ProbeError | None
    reached: bool
    """False when the host could not be reached at all (DNS, TCP, TLS, connect timeout)."""
    address: str | None


@dataclass(slots=True)
class _Hop:
    answer: Answer | None = None
    error: ProbeError | None = None
    failure: Failure | None = None
    body_bytes: int = 0
    attempts: int = 0
    address: str | None = None


class Fetcher:
    """Sends the GETs of one host through one client, within the host's deadline."""

    def __init__(
        self, client: httpx.AsyncClient, target: Target, options: ProbeOptions, deadline: float
    ) -> None:
        self.client = client
        self.target = target
        self.options = options
        self.deadline = deadline

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def get(self, path: str) -> Fetched:
        """GET ``path``, following redirects that stay on the target's host."""
        url = self.target.url(path)
        answers: list[Answer] = []
        records: list[RequestRecord] = []
        address = None
        for _ in range(self.options.max_redirects + 1):
            started = time.monotonic()
            hop = await self._attempts(url)
            seconds = round(time.monotonic() - started, 3)
            following, problem = self._redirect(hop.answer) if hop.answer else (None, None)
            status = hop.answer.status if hop.answer else None
            error = problem or hop.error or (hop.failure.error if hop.failure else None)
            records.append(RequestRecord(url, status, error, hop.body_bytes, hop.attempts, seconds))
            address = address or hop.address
            if hop.answer is None:
                reached = hop.failure.reached if hop.failure else True
                return Fetched(tuple(answers), tuple(records), error, reached, address)
            answers.append(hop.answer)
            if following is None:
                return Fetched(tuple(answers), tuple(records), error, True, address)
            url = following
        limit = self.options.max_redirects
        error = ProbeError(ErrorKind.UNREADABLE, f"more than {limit} redirects")
        return Fetched(tuple(answers), tuple(records), error, True, address)

    def _redirect(self, answer: Answer) -> tuple[str | None, ProbeError | None]:
        """The next URL to follow, or why there is none."""
        location = answer.headers.get("location")
        if answer.status not in REDIRECTS or not location:
            return None, None
        try:
            following = httpx.URL(answer.url).join(location.strip())
        except (httpx.InvalidURL, ValueError, UnicodeError):
            return None, ProbeError(ErrorKind.UNREADABLE, f"invalid redirect '{clean(location)}'")
        if following.scheme not in ("http", "https"):
            return None, ProbeError(ErrorKind.UNREADABLE, f"redirect to {clean(str(following))}")
        host = following.raw_host.decode("ascii", "replace").lower().rstrip(".")
        if host != self.target.host:  # raw_host: the ASCII form of a name, as the target keeps it
            message = f"{_path(answer.url)} redirects to {clean(str(following))}: another host"
            return None, ProbeError(ErrorKind.REDIRECT, message + ", not followed")
        return str(following), None

    async def _attempts(self, url: str) -> _Hop:
        """One GET, tried again after connection failures with a doubling wait."""
        hop = _Hop()
        wait = self.options.backoff
        for attempt in range(1, self.options.retries + 2):
            hop = await self._once(url)
            hop.attempts = attempt
            failure = hop.failure
            if failure is None or not failure.retry or attempt > self.options.retries:
                return hop
            if self.remaining() <= wait:
                return hop
            log.debug("retrying %s in %.1f s: %s", url, wait, failure.error)
            await asyncio.sleep(wait)
            wait *= 2
        return hop

    async def _once(self, url: str) -> _Hop:
        remaining = self.remaining()
        if remaining <= 0:
            return _Hop(failure=_deadline_failure(self.options.deadline))
        limit = min(self.options.timeout, remaining)
        try:
            # A moment's grace lets httpx's own timeouts, which know the phase, fire first.
            async with asyncio.timeout(limit + GRACE):
                return await self._send(url, limit)
        except (TimeoutError, httpx.TimeoutException) as exc:
            if limit < self.options.timeout:
                return _Hop(failure=_deadline_failure(self.options.deadline))
            return _Hop(failure=classify(exc, limit))
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            log.debug("GET %s failed", url, exc_info=True)
            return _Hop(failure=classify(exc, limit))

    async def _send(self, url: str, limit: float) -> _Hop:
        request = self.client.build_request("GET", url, timeout=httpx.Timeout(limit))
        response = await self.client.send(request, stream=True)
        address = _peer(response)
        try:
            body, problem = await read_body(response, self.options.max_body)
        finally:
            await response.aclose()
        answer = Answer(str(response.url), response.status_code, response.headers, body)
        return _Hop(answer, problem, None, len(body), address=address)


def _deadline_failure(deadline: float) -> Failure:
    error = ProbeError(ErrorKind.TIMEOUT, f"the host's {deadline:g} s deadline ran out")
    return Failure(error, retry=False, reached=True)


async def read_body(response: httpx.Response, cap: int) -> tuple[bytes, ProbeError | None]:
    """At most ``cap`` bytes of the (decoded) body, and why it was cut, if it was."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    decode = _decoder(encoding)
    if decode is None:
        message = f"body in content encoding '{clean(encoding, 40)}' not read"
        return b"", ProbeError(ErrorKind.UNREADABLE, message)
    body = bytearray()
    async for raw in response.aiter_raw():
        try:
            data, over = decode(raw, cap + 1 - len(body))
        except zlib.error:
            return bytes(body), ProbeError(ErrorKind.UNREADABLE, "damaged compressed body")
        body += data
        if over or len(body) > cap:
            message = f"answer larger than {cap} bytes; stopped reading"
            return bytes(body[:cap]), ProbeError(ErrorKind.UNREADABLE, message)
    return bytes(body), None


Decoder = Callable[[bytes, int], tuple[bytes, bool]]


def _decoder(encoding: str) -> Decoder | None:
    """A bounded decoder for ``encoding``: (chunk, room) to (bytes, more than room)."""
    if encoding in ("", "identity"):
        return lambda chunk, room: (chunk, len(chunk) > room)
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: zlib or gzip header, detected

    def decode(chunk: bytes, room: int) -> tuple[bytes, bool]:
        data = inflater.decompress(chunk, max(room, 1))
        return data, bool(inflater.unconsumed_tail) or len(data) > room

    return decode


def _peer(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    try:
        peer = stream.get_extra_info("server_addr") if stream is not None else None
    except (AttributeError, OSError):
        return None
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def _path(url: str) -> str:
    parsed = httpx.URL(url)
    return clean(parsed.raw_path.decode("ascii", "replace"), 120)
