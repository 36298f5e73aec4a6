"""From a failed request's exception to a plain per-host error, and whether to try again.

httpx wraps the operating system's error (``socket.gaierror``, ``ConnectionRefusedError``,
``ssl.SSLCertVerificationError``) one or two levels down its cause chain, and anyio groups the
errors of every address it tried; the chain is searched for the most telling one.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from exhunt.probe.results import ErrorKind, ProbeError, clean

_DNS_TEMPORARY = {socket.EAI_AGAIN}


@dataclass(frozen=True, slots=True)
class Failure:
    error: ProbeError
    retry: bool
    """A connection that failed in a way that may pass on a second attempt."""
    reached: bool
    """The host answered at the TCP level: later requests are worth sending."""


def classify(exc: BaseException, seconds: float) -> Failure:
    """The :class:`Failure` that ``exc``, raised while sending one request, stands for."""
    if isinstance(exc, httpx.ConnectTimeout):
        return _fail(ErrorKind.TIMEOUT, f"no connection within {seconds:g} s", retry=True)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        error = ProbeError(ErrorKind.TIMEOUT, f"no answer within {seconds:g} s")
        return Failure(error, retry=False, reached=True)
    if isinstance(exc, httpx.ConnectError):
        return _connect_failure(exc)
    if isinstance(exc, httpx.RemoteProtocolError):
        return Failure(ProbeError(ErrorKind.UNREADABLE, _protocol_message(exc)), False, True)
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        message = f"connection broken during the answer ({_innermost(exc)})"
        return Failure(ProbeError(ErrorKind.UNREADABLE, message), False, True)
    message = f"{type(exc).__name__}: {clean(str(exc))}"
    return Failure(ProbeError(ErrorKind.UNREADABLE, message), False, True)


def _connect_failure(exc: BaseException) -> Failure:
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror):
            retry = cause.errno in _DNS_TEMPORARY
            return _fail(ErrorKind.DNS, f"name does not resolve ({cause.strerror})", retry)
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = getattr(cause, "verify_message", None) or "verification failed"
            return _fail(ErrorKind.TLS, f"certificate not accepted: {reason}", retry=False)
        if isinstance(cause, ssl.SSLError):
            return _fail(ErrorKind.TLS, _tls_message(cause), retry=False)
        if isinstance(cause, ConnectionRefusedError):
            return _fail(ErrorKind.TCP, "connection refused", retry=True)
    for cause in _chain(exc):
        if isinstance(cause, OSError) and cause.strerror:
            return _fail(ErrorKind.TCP, f"cannot connect ({cause.strerror})", retry=True)
    return _fail(ErrorKind.TCP, f"cannot connect ({_innermost(exc)})", retry=True)


def _fail(kind: ErrorKind, message: str, retry: bool) -> Failure:
    return Failure(ProbeError(kind, message), retry, reached=False)


_OLD_TLS = " (the server may speak only TLS 1.0 or 1.1, which --insecure allows)"
_TLS_HINTS = {
    "WRONG_VERSION_NUMBER": " (is this port plain HTTP?)",
    "UNSUPPORTED_PROTOCOL": _OLD_TLS,
    "TLSV1_ALERT_PROTOCOL_VERSION": _OLD_TLS,
    "UNEXPECTED_EOF_WHILE_READING": _OLD_TLS,
}


def _tls_message(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None) or clean(str(exc), 120)
    return f"TLS handshake failed: {reason}{_TLS_HINTS.get(reason, '')}"


def _protocol_message(exc: httpx.RemoteProtocolError) -> str:
    text = str(exc)
    if text.startswith("Server disconnected without sending a response"):
        return "the server closed the connection without answering"
    if "Receive buffer too long" in text:
        return "answer headers larger than 100 KiB"
    return f"malformed HTTP answer ({clean(text.split(': ', 1)[0], 120)})"


def _innermost(exc: BaseException) -> str:
    last = exc
    for cause in _chain(exc):
        last = cause
    text = str(last) or type(last).__name__
    return clean(text, 120)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the members of exception groups, depth first."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(reversed(current.exceptions))
        for linked in (current.__context__, current.__cause__):
            if linked is not None:
                stack.append(linked)
