"""A looping clip's RTP packets made once, for every camera that plays it.

The sim serves most cameras one shared pre-encoded clip. Packetising each picture again for each camera (split
into fragments, an RTP header and RTSP's TCP framing per packet) cost the sim about as much CPU as the recorder
it feeds, on the same two cores. Here each picture is packetised and framed once; sending it to a camera's
clients writes only the two fields that differ: the packets' sequence numbers and the picture's RTP time. The
recording benchmark then measures the recorder, not the sim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.media.rtp import RtpPacketizer, payloads
from vigil.media.rtsp_broadcast import Broadcaster, interleave

TIME_BYTES = np.arange(4, 8)  # where the RTP time sits in an RTP header
HEADER = 4  # RTSP's interleaved framing before each RTP packet: '$', channel, length (2)


@dataclass(frozen=True)
class PrepackedUnit:
    data: bytes  # the picture's RTP packets framed for channel 0, sequence numbers and time still blank
    headers: npt.NDArray[np.intp]  # where each packet's RTP header starts in `data`
    keyframe: bool


def prepack(codec: str, frames: list[tuple[list[bytes], bool]], mtu: int = 1400) -> list[PrepackedUnit]:
    """Each picture's packets as `Broadcaster.publish` would send them (same fragments, marker bit, and a
    broadcaster's default payload type and SSRC), numbered from 0 at time 0."""
    out = []
    for nals, keyframe in frames:
        packets = RtpPacketizer().packets(payloads(codec, nals, mtu), 0)
        sizes = np.array([HEADER + len(p) for p in packets], dtype=np.intp)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) + HEADER
        out.append(PrepackedUnit(interleave(packets), starts.astype(np.intp), keyframe))
    return out


def stamp(unit: PrepackedUnit, seq: int, timestamp: int) -> bytes:
    """The unit's packets numbered from `seq` at RTP time `timestamp`."""
    buf = np.frombuffer(bytearray(unit.data), dtype=np.uint8)
    seqs = (seq + np.arange(len(unit.headers))) & 0xFFFF
    buf[unit.headers + 2] = seqs >> 8
    buf[unit.headers + 3] = seqs & 0xFF
    buf[unit.headers[:, None] + TIME_BYTES] = np.frombuffer((timestamp & 0xFFFFFFFF).to_bytes(4, "big"), np.uint8)
    return buf.tobytes()


def publish(b: Broadcaster, unit: PrepackedUnit, timestamp: int) -> None:
    """What `b.publish` does for the unit's picture, from the packets made once."""
    seq = b.packetizer.seq
    b.packetizer.seq = (seq + len(unit.headers)) & 0xFFFF
    b.publish_interleaved(stamp(unit, seq, timestamp), unit.keyframe, timestamp)
