"""What rules may know about the server beyond the record in front of them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# RFC 1918, loopback, link-local, CGNAT and IPv6 unique-local/link-local: the organisation's own.
DEFAULT_INTERNAL = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


@dataclass(frozen=True, slots=True)
class ScanContext:
    """Facts about the server, fixed before records are read; picklable for worker processes."""

    install_path: str | None = None
    """Windows path of the Exchange install root, with a trailing backslash, if known."""
    internal_networks: tuple[IPNetwork, ...] = DEFAULT_INTERNAL
    host: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def is_internal(self, address: str | None) -> bool:
        """Whether ``address`` belongs to the organisation's own networks."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]").split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self.internal_networks if net.version == ip.version)
