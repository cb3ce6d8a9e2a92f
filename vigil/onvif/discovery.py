"""WS-Discovery: find ONVIF cameras on the local network.

A Probe for `dn:NetworkVideoTransmitter` goes to the multicast group 239.255.255.250:3702 from each given
interface address (and, for cameras on routed networks, to any unicast addresses given); every camera answers
with a ProbeMatch naming its device-service address (XAddrs) and scopes, which by ONVIF convention carry the
vendor (`onvif://www.onvif.org/name/…`) and model (`…/hardware/…`). Written here rather than taken from the
`wsdiscovery` package, which runs its own threads and binds every interface: Vigil needs one short asyncio probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree

GROUP = "239.255.255.250"
PORT = 3702
_NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}


@dataclass
class Discovered:
    address: str  # host[:port] of the device service
    xaddr: str  # http://host:port/onvif/device_service
    urn: str
    vendor: str = ""
    model: str = ""
    name: str = ""
    scopes: list[str] = field(default_factory=list)
    # filled in by the caller that tries the device: True / False, or None when it could not tell
    needs_credentials: bool | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.xaddr).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.xaddr).port or 80


def probe_message(message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{_NS["s"]}" xmlns:a="{_NS["a"]}" xmlns:d="{_NS["d"]}" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        f"<a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
        "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>"
        "</s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"
    ).encode()


def _scope_value(scopes: list[str], kind: str) -> str:
    prefix = f"onvif://www.onvif.org/{kind}/"
    for s in scopes:
        if s.lower().startswith(prefix):
            return unquote(s[len(prefix):]).replace("_", " ")
    return ""


def parse_matches(data: bytes, message_id: str | None = None) -> list[Discovered]:
    """The cameras in one ProbeMatches datagram (answers to other probes are ignored)."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return []
    if message_id is not None:
        relates = root.findtext(".//a:RelatesTo", default="", namespaces=_NS).strip()
        if relates and relates != message_id:
            return []
    out = []
    for m in root.iterfind(".//d:ProbeMatch", _NS):
        xaddrs = (m.findtext("d:XAddrs", default="", namespaces=_NS) or "").split()
        if not xaddrs:
            continue
        # A camera lists one address per interface (and IPv6 ones): prefer IPv4 http.
        xaddr = next((x for x in xaddrs if x.startswith("http://") and "[" not in x), xaddrs[0])
        scopes = (m.findtext("d:Scopes", default="", namespaces=_NS) or "").split()
        parts = urlsplit(xaddr)
        out.append(Discovered(
            address=parts.netloc, xaddr=xaddr,
            urn=(m.findtext("a:EndpointReference/a:Address", default="", namespaces=_NS) or "").strip(),
            vendor=_scope_value(scopes, "name"), model=_scope_value(scopes, "hardware"),
            name=_scope_value(scopes, "location"), scopes=scopes))
    return out


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, Discovered] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for d in parse_matches(data, self.message_id):
            self.found.setdefault(d.xaddr, d)


async def discover(timeout: float = 2.0, interfaces: list[str] | None = None, unicast: list[str] | None = None,
                   port: int = PORT) -> list[Discovered]:
    """Cameras that answered a Probe within `timeout` seconds, sorted by address.

    `interfaces`: local IPv4 addresses to send the multicast probe from (default: the system's default route
    and loopback); `unicast`: camera addresses probed directly (networks multicast does not reach)."""
    message_id = f"uuid:{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    collector = _Collector(message_id)
    transports: list[Any] = []
    errors: list[str] = []
    try:
        for iface in interfaces if interfaces is not None else ["", "127.0.0.1"]:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
            if iface:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
            sock.bind((iface, 0))
            transport, _ = await loop.create_datagram_endpoint(lambda: collector, sock=sock)
            transports.append(transport)
            try:
                transport.sendto(probe_message(message_id), (GROUP, port))
            except OSError as err:  # no multicast route on that interface: the others may still work
                errors.append(f"{iface or 'default'}: {err.strerror}")
        if unicast:
            transport, _ = await loop.create_datagram_endpoint(lambda: collector, family=socket.AF_INET)
            transports.append(transport)
            for host in unicast:
                with contextlib.suppress(OSError):
                    transport.sendto(probe_message(message_id), (host, port))
        await asyncio.sleep(timeout)
    finally:
        for t in transports:
            t.close()
    if not collector.found and errors and not unicast:
        raise OSError("could not send the discovery probe (" + "; ".join(errors) + ") — is the network up?")
    return sorted(collector.found.values(), key=lambda d: (d.host, d.port))
