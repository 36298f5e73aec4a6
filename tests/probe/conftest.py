"""Fixtures of the probe tests: fake Exchange and hostile servers on 127.0.0.1, certificates."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator

import pytest
from probe_servers import (
    Certificates,
    FakeExchange,
    Listener,
    ServerThread,
    bomb,
    endless_body,
    gzip_bomb,
    hangs_up,
    huge_headers,
    make_certificates,
    malformed,
    never_answers,
    newest_2019_build,
    not_exchange,
    redirects_to,
    trickles,
)


@pytest.fixture(autouse=True)
def _keep_logging() -> Iterator[None]:
    """The CLI configures exhunt's logger; give it back as it was after each test."""
    logger = logging.getLogger("exhunt")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerThread]:
    thread = ServerThread()
    yield thread
    thread.close()


@pytest.fixture(scope="session")
def hostile_servers() -> Iterator[ServerThread]:
    """A loop of its own for the misbehaving servers, so they cannot slow the fake Exchanges."""
    thread = ServerThread()
    yield thread
    thread.close()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    if shutil.which("openssl") is None:
        message = "the openssl command is needed to make test certificates"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="session")
def fleet(
    servers: ServerThread, hostile_servers: ServerThread, certificates: Certificates
) -> dict[str, Listener]:
    """One server of every kind, by name; ``tls-*`` ones speak HTTPS."""
    exchanges = {
        "2016-cu19": FakeExchange("15.1.2176.2"),
        "2013-cu23-mar21-exporttool": FakeExchange("15.0.1497.12", owa_header=False),
        "2019-cu11-path-only": FakeExchange("15.2.986.9", owa_header=False, exporttool=False),
        "2016-cu20-path-only": FakeExchange("15.1.2242.10", owa_header=False, exporttool=False),
        "2016-cu22-autodiscover": FakeExchange(
            "15.1.2375.37", owa_header=False, exporttool=False, autodiscover_header=True
        ),
        "2019-cu9-ecp-stopped": FakeExchange("15.2.858.5", exporttool=False, ecp_status=503),
        "2010-sp3": FakeExchange("14.3.513.0", owa_header=False, exporttool=False, legacy=True),
        "2019-newest": FakeExchange(newest_2019_build(), autodiscover_status=403),
        "version-hidden": FakeExchange(
            "15.1.2507.16", owa_header=False, owa_path=False, exporttool=False
        ),
        "ecp-refused": FakeExchange("15.1.2507.16", ecp_status=403),
        "owa-behind-adfs": FakeExchange(
            "15.1.2507.16", owa_header=False, owa_elsewhere="https://sts.example.org/adfs/ls/"
        ),
    }
    hostile = {
        "slow": never_answers,
        "trickle": trickles,
        "endless": endless_body,
        "gzip-bomb": gzip_bomb,
        "huge-headers": huge_headers,
        "malformed": malformed,
        "hangs-up": hangs_up,
        "not-exchange": not_exchange,
    }
    bomb()  # made before the probe starts, not while it waits for answers
    found = {name: servers.serve(handler) for name, handler in exchanges.items()}
    found |= {name: hostile_servers.serve(handler) for name, handler in hostile.items()}
    found["elsewhere"] = servers.serve(redirects_to(f"localhost:{found['2016-cu19'].port}"))
    found["tls-2019-cu12-nov22"] = servers.serve(FakeExchange("15.2.1118.20"), certificates.good)
    found["tls-self-signed"] = servers.serve(FakeExchange("15.1.2507.16"), certificates.self_signed)
    found["tls-wrong-name"] = servers.serve(FakeExchange("15.1.2507.16"), certificates.wrong_name)
    return found
