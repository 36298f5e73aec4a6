"""Typed options of a probe run, parsed once by a front end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exhunt import __version__

DEFAULT_CONCURRENCY = 16
DEFAULT_TIMEOUT = 10.0
DEFAULT_DEADLINE = 30.0
DEFAULT_RETRIES = 2
MAX_BODY = 1024 * 1024
"""Bytes read of one answer's body; a real OWA logon page is about 125 KB."""
MAX_REDIRECTS = 5
USER_AGENT = f"exhunt/{__version__} (Exchange version probe)"


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    concurrency: int = DEFAULT_CONCURRENCY
    """Hosts probed at the same time."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds for one request, from connecting to the last byte read."""
    deadline: float = DEFAULT_DEADLINE
    """Seconds for every request to one host together, retries and waits included."""
    retries: int = DEFAULT_RETRIES
    """Further attempts after a failed connection."""
    backoff: float = 0.5
    """Seconds before the first retry; doubled before each next one."""
    verify_tls: bool = True
    ca_file: Path | None = None
    """CA certificates (PEM) trusted besides the system's."""
    max_body: int = MAX_BODY
    max_redirects: int = MAX_REDIRECTS
    user_agent: str = USER_AGENT
    cves: frozenset[str] | None = None
    """The CVEs to judge; None judges every CVE the builds table tracks."""
