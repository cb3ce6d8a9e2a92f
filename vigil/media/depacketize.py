"""RTP packets back into video access units (pure): H.264 (RFC 6184: single NAL units, STAP-A, FU-A) and H.265
(RFC 7798: single NAL units, aggregation packets, fragmentation units).

A lost packet (a gap in the sequence numbers) costs the access unit it belonged to — it is dropped whole, never
passed on half — and nothing else: the next access unit starts clean. Access units end at the marker bit or
when the RTP timestamp changes (some cameras never set the marker).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

_HEADER = struct.Struct(">BBHI")  # the first 8 bytes of an RTP header: flags, marker and type, sequence, timestamp
_AFTER_FLAGS = struct.Struct(">BHI")  # marker and type, sequence, timestamp

# Buffer: bytes, or a memoryview of them (what `rtsp_client.Interleaved` hands out: no copy a packet).
Buffer = bytes | memoryview


class RtpError(ValueError):
    """A packet that is not RTP, or a payload this depacketizer cannot read."""


@dataclass(frozen=True)
class RtpPacket:
    sequence: int
    timestamp: int
    marker: bool
    payload_type: int
    ssrc: int
    payload: bytes


def parse_rtp(data: Buffer) -> RtpPacket:
    """RFC 3550 §5.1: the fixed header, CSRCs, a header extension and padding are stepped over."""
    if len(data) < 12:
        raise RtpError(f"an RTP packet is at least 12 bytes ({len(data)} given)")
    b0, b1, seq, ts, ssrc = struct.unpack_from(">BBHII", data)
    if b0 >> 6 != 2:
        raise RtpError(f"RTP version {b0 >> 6} (2 expected)")
    pos = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # extension
        if len(data) < pos + 4:
            raise RtpError("truncated RTP header extension")
        pos += 4 + 4 * struct.unpack_from(">H", data, pos + 2)[0]
    end = len(data)
    if b0 & 0x20:  # padding
        end -= data[-1]
    if pos > end:
        raise RtpError("RTP header longer than the packet")
    return RtpPacket(seq, ts, bool(b1 & 0x80), b1 & 0x7F, ssrc, bytes(data[pos:end]))


@dataclass
class AccessUnit:
    timestamp: int  # RTP timestamp, unwrapped (monotonic over 32-bit wraps)
    nals: list[bytes] = field(default_factory=list)
    keyframe: bool = False


def is_keyframe(codec: str, nal: bytes) -> bool:
    if codec == "hevc":
        return 16 <= (nal[0] >> 1) & 0x3F <= 21  # IRAP: BLA, IDR, CRA
    return nal[0] & 0x1F == 5


class RtpClock:
    """32-bit RTP timestamps → timestamps that keep counting across wraps (a late packet from before a wrap counts
    back, not forward)."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.wraps = 0
        self._first: int | None = None

    def extend(self, ts: int) -> int:
        if self.last is not None:
            if ts < self.last and self.last - ts > 1 << 31:
                self.wraps += 1
            elif ts > self.last and ts - self.last > 1 << 31:
                self.wraps -= 1
        self.last = ts
        return ts + (self.wraps << 32)

    def since_first(self, ts: int) -> int:
        """The time from the first timestamp this clock was given."""
        t = self.extend(ts)
        if self._first is None:
            self._first = t
        return t - self._first


class VideoDepacketizer:
    def __init__(self, codec: str) -> None:
        if codec not in ("h264", "hevc"):
            raise RtpError(f"no depacketizer for {codec!r}: Vigil reads H.264 and H.265 natively")
        self.codec = codec
        self._expected: int | None = None
        self._au: AccessUnit | None = None
        self._damaged = False
        # The fragmented NAL unit under way: its header, then its fragments' bodies, joined once at its end.
        self._fu: list[Buffer] | None = None
        # Where a fragmentation unit's header says start/end, and where its body begins (RFC 6184 §5.8, 7798 §4.4.3)
        self._fu_type, self._fu_at = (49, 14) if codec == "hevc" else (28, 13)
        self._clock = RtpClock()
        self.lost_packets = 0
        self.dropped_units = 0

    def push(self, pkt: RtpPacket) -> list[AccessUnit]:
        """The access units this packet completes (at most two: the one a timestamp change ends, and its own)."""
        return self._push(pkt.sequence, pkt.timestamp, pkt.marker, pkt.payload)

    def push_many(self, packets: Iterable[Buffer]) -> list[AccessUnit]:
        """`push_raw` of packets in the order received (what is not RTP is skipped). The middle fragments of a
        large NAL unit — most packets of a camera's stream — are taken here in a few steps each (same sequence,
        same timestamp, no marker: the body is put aside for one join at the end); everything else goes through
        `push_raw`."""
        out: list[AccessUnit] = []
        at = self._fu_at
        body = at + 1
        hevc = self.codec == "hevc"
        fu_type = self._fu_type
        clock = self._clock
        after_flags = _AFTER_FLAGS.unpack_from
        for data in packets:
            fu = self._fu
            if fu is not None and len(data) > body and data[0] == 0x80 and not data[at] & 0xC0 and (
                    (data[12] >> 1) & 0x3F if hevc else data[12] & 0x1F) == fu_type:
                b1, seq, ts = after_flags(data, 1)
                if b1 < 0x80 and seq == self._expected and ts == clock.last:
                    fu.append(data[body:])
                    self._expected = (seq + 1) & 0xFFFF
                    continue
            try:
                out += self.push_raw(data)
            except RtpError:
                continue  # not RTP: skipped
        return out

    def push_raw(self, data: Buffer) -> list[AccessUnit]:
        """`push` of a packet as received. The usual header (version 2, no padding, extension or CSRCs) is read
        here without making an `RtpPacket`: at ~400 packets a second a camera, the objects and calls per packet are
        most of what reading costs in Python."""
        if len(data) < 13 or data[0] != 0x80:
            return self.push(parse_rtp(data))
        _, b1, seq, ts = _HEADER.unpack_from(data)
        return self._push(seq, ts, b1 >= 0x80, data[12:])

    def _push(self, seq: int, timestamp: int, marker: bool, payload: Buffer) -> list[AccessUnit]:
        out: list[AccessUnit] = []
        gap = self._expected is not None and seq != self._expected
        if gap:
            # Whose packets were lost cannot be told: the unit under way's tail, the next one's head, or units in
            # between. Both units next to the gap are dropped; whole units lost in between are simply missing.
            self.lost_packets += (seq - (self._expected or 0)) & 0xFFFF
            self._fu = None
        self._expected = (seq + 1) & 0xFFFF
        clock = self._clock  # most packets carry their unit's timestamp again: no call for those
        ts = timestamp + (clock.wraps << 32) if timestamp == clock.last else clock.extend(timestamp)
        if self._au is not None and ts != self._au.timestamp:
            self._damaged = self._damaged or gap
            self._finish(out)
        if self._au is None:
            self._au = AccessUnit(ts)
        self._damaged = self._damaged or gap
        try:
            if self.codec == "h264" and payload and payload[0] & 0x1F == 28 and len(payload) > 1:
                fu = payload[1]  # FU-A, most packets of a picture: inline rather than through _take
                if fu & 0x80:
                    self._fu = [bytes(((payload[0] & 0xE0) | (fu & 0x1F),))]
                elif self._fu is None:
                    raise RtpError("fragment without its start (lost)")
                self._fu.append(payload[2:])
                if fu & 0x40:
                    self._nal(b"".join(self._fu))
                    self._fu = None
            else:
                self._take(payload)
        except RtpError:
            self._damaged, self._fu = True, None
        if marker:
            self._finish(out)
        return out

    def _finish(self, out: list[AccessUnit]) -> None:
        au, self._au, self._fu = self._au, None, None
        if au is None:
            return
        damaged, self._damaged = self._damaged, False
        if damaged or not au.nals:
            self.dropped_units += damaged
            return
        au.keyframe = any(is_keyframe(self.codec, n) for n in au.nals)
        out.append(au)

    def _nal(self, nal: Buffer) -> None:
        assert self._au is not None
        if nal:
            self._au.nals.append(bytes(nal))  # a view would hold the whole read it came from

    def _take(self, payload: Buffer) -> None:
        if not payload:
            raise RtpError("empty RTP payload")
        if self.codec == "hevc":
            self._take_hevc(payload)
        else:
            self._take_h264(payload)

    def _aggregate(self, body: Buffer) -> None:
        pos = 0
        while pos + 2 <= len(body):
            n = struct.unpack_from(">H", body, pos)[0]
            pos += 2
            if n == 0 or pos + n > len(body):
                raise RtpError("aggregation packet with a NAL unit longer than the packet")
            self._nal(body[pos:pos + n])
            pos += n

    def _fragment(self, start: bool, end: bool, header: bytes, body: Buffer) -> None:
        if start:
            self._fu = [header]
        elif self._fu is None:
            raise RtpError("fragment without its start (lost)")
        self._fu.append(body)
        if end:
            self._nal(b"".join(self._fu))
            self._fu = None

    def _take_h264(self, p: Buffer) -> None:
        kind = p[0] & 0x1F
        if 1 <= kind <= 23:
            self._nal(p)
        elif kind == 24:  # STAP-A
            self._aggregate(p[1:])
        elif kind == 28:  # FU-A
            if len(p) < 2:
                raise RtpError("truncated FU-A")
            fu = p[1]
            self._fragment(bool(fu & 0x80), bool(fu & 0x40), bytes([(p[0] & 0xE0) | (fu & 0x1F)]), p[2:])
        else:
            raise RtpError(f"H.264 payload type {kind} (STAP-B, MTAP or FU-B) is not supported")

    def _take_hevc(self, p: Buffer) -> None:
        if len(p) < 2:
            raise RtpError("truncated H.265 payload")
        kind = (p[0] >> 1) & 0x3F
        if kind == 48:  # aggregation packet
            self._aggregate(p[2:])
        elif kind == 49:  # fragmentation unit
            if len(p) < 3:
                raise RtpError("truncated H.265 fragmentation unit")
            fu = p[2]
            header = bytes([(p[0] & 0x81) | ((fu & 0x3F) << 1), p[1]])
            self._fragment(bool(fu & 0x80), bool(fu & 0x40), header, p[3:])
        elif kind == 50:
            raise RtpError("H.265 PACI packets are not supported")
        else:
            self._nal(p)


class Reorder:
    """Puts RTP packets that arrived out of order over UDP back in sequence (pure). A missing packet is waited for
    while at most `window` later ones arrive; then it counts as lost and the depacketizer sees the gap."""

    def __init__(self, window: int = 16) -> None:
        self.window = window
        self._next: int | None = None
        self._held: dict[int, RtpPacket] = {}
        self.late = 0  # packets that came after their place was given up: dropped

    def push(self, pkt: RtpPacket) -> list[RtpPacket]:
        if self._next is None:
            self._next = pkt.sequence
        ahead = (pkt.sequence - self._next) & 0xFFFF
        if ahead >= 0x8000:  # behind the point already released: too late, or a duplicate
            self.late += 1
            return []
        self._held[pkt.sequence] = pkt
        out: list[RtpPacket] = []
        while True:
            nxt = self._held.pop(self._next, None)
            if nxt is not None:
                out.append(nxt)
                self._next = (self._next + 1) & 0xFFFF
                continue
            if len(self._held) <= self.window:
                return out
            # Give the missing one up: skip to the oldest held packet.
            self._next = min(self._held, key=lambda s: (s - (self._next or 0)) & 0xFFFF)


class AacDepacketizer:
    """AAC in RTP (RFC 3640, mpeg4-generic, AAC-hbr or AAC-lbr as the SDP's sizelength/indexlength say): the AU
    headers give each frame's size; a frame larger than a packet comes in fragments ending at the marker bit. A
    lost packet costs the frames it carried (a fragmented frame is dropped whole)."""

    SAMPLES = 1024  # per AAC frame: frames of one packet are this many clock ticks apart

    def __init__(self, fmtp: dict[str, str]) -> None:
        try:
            self.size_bits = int(fmtp.get("sizelength", "13"))
            self.index_bits = int(fmtp.get("indexlength", "3"))
        except ValueError:
            raise RtpError(f"unreadable AAC format parameters {fmtp!r}") from None
        if not 1 <= self.size_bits <= 16 or not 0 <= self.index_bits <= 8:
            raise RtpError(f"AAC sizelength {self.size_bits} / indexlength {self.index_bits} out of range")
        self._expected: int | None = None
        self._fragment: bytearray | None = None
        self._fragment_size = 0
        self.lost_packets = 0

    def push(self, pkt: RtpPacket) -> list[tuple[int, bytes]]:
        """(RTP timestamp, raw AAC frame) of each frame the packet completes."""
        if self._expected is not None and pkt.sequence != self._expected:
            self.lost_packets += (pkt.sequence - self._expected) & 0xFFFF
            self._fragment = None
        self._expected = (pkt.sequence + 1) & 0xFFFF
        p = pkt.payload
        if len(p) < 2:
            return []
        header_bits = struct.unpack_from(">H", p)[0]
        header_bytes = (header_bits + 7) // 8
        per = self.size_bits + self.index_bits
        count = header_bits // per if per else 0
        bits = int.from_bytes(p[2:2 + header_bytes], "big") if header_bytes else 0
        sizes = [(bits >> (header_bytes * 8 - per * (i + 1) + self.index_bits)) & ((1 << self.size_bits) - 1)
                 for i in range(count)]
        data = p[2 + header_bytes:]
        if self._fragment is not None or (count == 1 and sizes[0] > len(data)):
            return self._fragmented(pkt, sizes[0] if count == 1 else 0, data)
        out, pos = [], 0
        for i, size in enumerate(sizes):
            if pos + size > len(data):
                break  # a truncated packet: the frames that fit are kept
            out.append((pkt.timestamp + i * self.SAMPLES, data[pos:pos + size]))
            pos += size
        return out

    def _fragmented(self, pkt: RtpPacket, size: int, data: bytes) -> list[tuple[int, bytes]]:
        if self._fragment is None:
            self._fragment, self._fragment_size = bytearray(), size
        self._fragment += data
        if not pkt.marker:
            return []
        frame, self._fragment = bytes(self._fragment), None
        return [(pkt.timestamp, frame)] if len(frame) == self._fragment_size else []
