"""Who may connect at all: an allow-list and a block-list of addresses and networks (CIDR), applied to the API,
its WebSockets and RTSP out. Empty allow-list: everybody not blocked. Pure."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Sequence[str], what: str) -> list[Network]:
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{what}: {item!r} is not an address or network (e.g. 192.168.1.0/24, 10.0.0.7, "
                             "fd00::/8)") from None
    return out


class IpFilter:
    def __init__(self, allow: Sequence[str] = (), block: Sequence[str] = ()) -> None:
        self.allow = parse_networks(allow, "ip_allow")
        self.block = parse_networks(block, "ip_block")

    @property
    def active(self) -> bool:
        return bool(self.allow or self.block)

    def allows(self, address: str | None) -> bool:
        if not self.active:
            return True
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False  # no address (a Unix socket, a test client): only when nothing is filtered
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in n for n in self.block):
            return False
        return not self.allow or any(ip in n for n in self.allow)
