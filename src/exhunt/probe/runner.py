"""Probe many hosts at once: a bounded number at a time, each within its own deadline."""

from __future__ import annotations

import asyncio
import logging
import ssl
import warnings
from collections.abc import Callable, Sequence

import certifi

from exhunt.exceptions import UsageError
from exhunt.probe.host import probe_host
from exhunt.probe.options import ProbeOptions
from exhunt.probe.results import HostResult
from exhunt.probe.targets import Target

log = logging.getLogger(__name__)

Progress = Callable[[HostResult, int, int], None]
"""Called after each host with its result, the hosts done and the hosts in all."""


def probe_hosts(
    targets: Sequence[Target], options: ProbeOptions | None = None, progress: Progress | None = None
) -> list[HostResult]:
    """Probe ``targets`` and return one result per target, in their order.

    Raises:
        UsageError: the options cannot work (a CA file that does not load).
    """
    return asyncio.run(probe_hosts_async(targets, options or ProbeOptions(), progress))


async def probe_hosts_async(
    targets: Sequence[Target], options: ProbeOptions, progress: Progress | None = None
) -> list[HostResult]:
    """:func:`probe_hosts` for callers that run an event loop already."""
    context = ssl_context(options)
    results: list[HostResult | None] = [None] * len(targets)
    pending = iter(enumerate(targets))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index, target in pending:  # one shared iterator: each target is taken once
            result = await probe_host(target, options, context)
            results[index] = result
            done += 1
            if progress is not None:
                progress(result, done, len(targets))

    workers = min(max(options.concurrency, 1), len(targets))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [r for r in results if r is not None]


def ssl_context(options: ProbeOptions) -> ssl.SSLContext:
    """The TLS settings of every connection: the system's CAs (plus ``ca_file``), or none.

    Raises:
        UsageError: ``options.ca_file`` cannot be read as PEM certificates.
    """
    if not options.verify_tls:
        return _insecure_context()
    context = ssl.create_default_context()
    if not context.cert_store_stats()["x509_ca"]:
        context.load_verify_locations(cafile=certifi.where())  # a system without a CA store
    if options.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(options.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--ca-file {options.ca_file}: not a PEM CA file ({exc})") from None
    return context


def _insecure_context() -> ssl.SSLContext:
    """No certificate checks, and the old protocol versions of servers too old for TLS 1.2."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # deliberate, for old servers
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        log.debug("this OpenSSL refuses TLS versions below 1.2", exc_info=True)
    return context
