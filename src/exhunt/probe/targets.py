"""Hosts to probe, as the user writes them: names, addresses, ``host:port`` or URLs.

Without a scheme a host is reached over HTTPS (port 443), as OWA is published. A URL's path is
ignored: the probe always asks for the same fixed paths (``docs/probe.md``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from exhunt.exceptions import UsageError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_TARGET_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Target:
    """One server to probe."""

    text: str
    """What the user wrote."""
    scheme: str
    host: str
    """Lower-case name, or an address (IPv6 without brackets)."""
    port: int

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` with the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if _DEFAULT_PORTS[self.scheme] == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path


def parse_target(text: str) -> Target:
    """``text`` as a :class:`Target`.

    Raises:
        UsageError: the text is no host name, address, ``host:port`` or http(s) URL.
    """
    given = raw = text.strip()
    if not raw or len(raw) > MAX_TARGET_LENGTH:
        raise UsageError(f"not a host: {text!r}")
    has_scheme = "://" in raw
    if not has_scheme and raw.count(":") > 1 and not raw.startswith("["):
        raw = f"[{raw}]"  # a bare IPv6 address
    try:
        parts = urlsplit(raw if has_scheme else f"https://{raw}")
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"not a host: {text!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UsageError(f"not a host: {text!r} (only http:// and https:// are probed)")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"not a host: {text!r} (no user names or passwords in the address)")
    if not has_scheme and (parts.path or parts.query or parts.fragment):
        raise UsageError(f"not a host: {text!r} (write a URL with https:// to give a path)")
    host = _host(parts.hostname or "", text)
    return Target(given, scheme, host, port or _DEFAULT_PORTS[scheme])


def _host(name: str, text: str) -> str:
    """A valid IP address or DNS name (IDN names as their ASCII form)."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UsageError(f"not a host: {text!r} (invalid name)") from None
    labels = ascii_name.rstrip(".").split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_LABEL.match(x) for x in labels):
        raise UsageError(f"not a host: {text!r} (invalid name)")
    return ascii_name.rstrip(".")


def iter_target_lines(lines: Iterable[str], source: str) -> Iterator[Target]:
    """Targets of a file's lines: one per line, ``#`` starts a comment, blank lines skipped.

    Raises:
        UsageError: a line is not a target; the message names ``source`` and the line number.
    """
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            yield parse_target(text)
        except UsageError as exc:
            raise UsageError(f"{source}:{number}: {exc}") from None


def load_targets(path: Path) -> list[Target]:
    """The targets listed in the file at ``path`` (UTF-8, one per line).

    Raises:
        UsageError: the file cannot be read or a line is not a target.
    """
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return list(iter_target_lines(text.splitlines(), str(path)))


def unique(targets: Iterable[Target]) -> list[Target]:
    """``targets`` in order, each origin once."""
    seen: set[str] = set()
    result = []
    for target in targets:
        if target.origin not in seen:
            seen.add(target.origin)
            result.append(target)
    return result
