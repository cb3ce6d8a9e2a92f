"""The simulated cameras' WS-Discovery responder: answers Probes for the sim's ONVIF devices."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import socket
import struct
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from lxml import etree

from vigil.log import get_logger
from vigil.sim.soap import NS, envelope

if TYPE_CHECKING:
    from vigil.sim.onvif import OnvifDevice

log = get_logger(__name__)

DISCOVERY_GROUP = "239.255.255.250"
DISCOVERY_PORT = 3702


class DiscoveryResponder(asyncio.DatagramProtocol):
    """Answers WS-Discovery Probes (multicast on 239.255.255.250:3702, or unicast) for the sim's devices."""

    def __init__(self, devices: list[OnvifDevice]) -> None:
        self.devices = devices
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return
        probe = root.find(".//d:Probe", NS)
        if probe is None or self.transport is None:
            return
        relates = root.findtext(".//wsa4:MessageID", default="", namespaces=NS)
        for dev in self.devices:
            self.transport.sendto(self._match(dev, relates).encode(), addr)

    @staticmethod
    def _match(dev: OnvifDevice, relates: str) -> str:
        header = (f"<wsa4:MessageID>uuid:{secrets.token_hex(16)}</wsa4:MessageID>"
                  f"<wsa4:RelatesTo>{escape(relates)}</wsa4:RelatesTo>"
                  "<wsa4:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa4:To>"
                  "<wsa4:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa4:Action>")
        body = ("<d:ProbeMatches><d:ProbeMatch><wsa4:EndpointReference><wsa4:Address>"
                f"urn:uuid:{uuid_for(dev)}</wsa4:Address></wsa4:EndpointReference>"
                "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
                f"<d:Scopes>{' '.join(dev.scopes())}</d:Scopes><d:XAddrs>{dev.xaddr}</d:XAddrs>"
                "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>")
        return envelope(body, header)


def uuid_for(dev: OnvifDevice) -> str:
    h = hashlib.sha1(f"{dev.host}:{dev.port}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


async def start_discovery(devices: list[OnvifDevice], interface: str, port: int = DISCOVERY_PORT
                          ) -> asyncio.DatagramTransport:
    """Joins the WS-Discovery group on `interface` (the sim's host address); several sims can share the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("", port))
    mreq = struct.pack("4s4s", socket.inet_aton(DISCOVERY_GROUP), socket.inet_aton(interface))
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as err:  # still answers unicast probes
        log.warning("sim_discovery_no_multicast", interface=interface, error=str(err))
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: DiscoveryResponder(devices), sock=sock)
    return transport
