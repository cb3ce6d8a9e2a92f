"""What one RTSP path serves: a `Broadcaster` takes access units from a producer and sends every client of the
path the same RTP packets over its TCP connection. A client that joins mid-GOP first receives the GOP so far,
so it can decode at once (as MediaMTX does); a client too slow to keep up is dropped, never waited for."""

from __future__ import annotations

import asyncio
import ctypes
import secrets
from dataclasses import dataclass, field
from typing import Any

from vigil.log import get_logger
from vigil.media.rtp import RtpPacketizer, payloads, sdp_fmtp

log = get_logger(__name__)

CLOCK_RATE = 90_000
MAX_CLIENT_BACKLOG = 8 * 1024 * 1024


@dataclass
class AccessUnit:
    nals: list[bytes]
    keyframe: bool
    timestamp: int  # 90 kHz


@dataclass(eq=False)
class Client:
    writer: asyncio.StreamWriter
    channel: int
    playing: bool = False
    audio_channel: int | None = None
    synced: bool = False  # has had a keyframe: until then it gets nothing it could not decode


@dataclass
class AudioTrack:
    """AAC (MPEG4-GENERIC, RFC 3640, AAC-hbr): one access unit per RTP packet, timestamps at the sample rate."""

    sample_rate: int
    channels: int
    config: bytes  # the encoder's AudioSpecificConfig
    packetizer: RtpPacketizer = field(
        default_factory=lambda: RtpPacketizer(payload_type=97, ssrc=0x56494732, seq=secrets.randbelow(65536)))

    def sdp(self) -> str:
        return (
            "m=audio 0 RTP/AVP 97\r\n"
            f"a=rtpmap:97 MPEG4-GENERIC/{self.sample_rate}/{self.channels}\r\n"
            "a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
            f"indexdeltalength=3;config={self.config.hex()}\r\n"
            "a=control:trackID=1\r\n"
        )

    def packet(self, au: bytes, timestamp: int) -> list[bytes]:
        header = (16).to_bytes(2, "big") + (len(au) << 3).to_bytes(2, "big")  # AU-headers-length, one AU-header
        return self.packetizer.packets([header + au], timestamp)


@dataclass
class Broadcaster:
    codec: str  # "h264" | "hevc"
    params: dict[str, bytes]
    mtu: int = 1400
    packetizer: RtpPacketizer = field(default_factory=lambda: RtpPacketizer(seq=secrets.randbelow(65536)))
    clients: set[Client] = field(default_factory=set)
    # (rtp timestamp, the access unit's packets framed for channel 0) since the last keyframe
    gop: list[tuple[int, bytes]] = field(default_factory=list)
    audio: AudioTrack | None = None

    def sdp(self, host: str) -> str:
        encoding = "H265" if self.codec == "hevc" else "H264"
        return (
            "v=0\r\n"
            f"o=- 0 0 IN IP4 {host}\r\n"
            "s=Vigil\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "t=0 0\r\n"
            "a=control:*\r\n"
            "m=video 0 RTP/AVP 96\r\n"
            f"a=rtpmap:96 {encoding}/{CLOCK_RATE}\r\n"
            f"{sdp_fmtp(self.codec, self.params)}\r\n"
            "a=control:trackID=0\r\n"
        ) + (self.audio.sdp() if self.audio else "")

    def drop_clients(self, abort: bool) -> None:
        """Hang up on every client: `abort` when the stream changed under them, else a clean end of stream."""
        for c in list(self.clients):
            if abort:
                c.writer.transport.abort()
            else:
                c.writer.transport.close()
        self.clients.clear()

    def publish_audio(self, au: bytes, timestamp: int) -> None:
        if self.audio is None:
            return
        data = interleave(self.audio.packet(au, timestamp))
        for client in list(self.clients):
            if client.playing and client.audio_channel is not None:
                self._send(client, data, client.audio_channel)

    def publish(self, au: AccessUnit) -> None:
        packets = self.packetizer.packets(payloads(self.codec, au.nals, self.mtu), au.timestamp)
        self.publish_interleaved(interleave(packets), au.keyframe, au.timestamp)

    def publish_interleaved(self, data: bytes, keyframe: bool, timestamp: int) -> None:
        """An access unit's RTP packets, already framed for channel 0 (`interleave`), numbered by this
        broadcaster's packetizer. Framed once for every client, not once per client."""
        if keyframe:
            self.gop.clear()
        if keyframe or self.gop:
            self.gop.append((timestamp, data))
        for client in list(self.clients):
            if client.playing and (client.synced or keyframe):
                client.synced = True
                self._send(client, data, client.channel)

    def start_position(self) -> tuple[int, int]:
        """(seq, rtptime) of the first packet a new client will get."""
        if self.gop:
            first = self.gop[0][1]  # '$', channel, length (2), then the RTP header: seq at 2, time at 4
            return int.from_bytes(first[6:8], "big"), int.from_bytes(first[8:12], "big")
        return self.packetizer.seq, 0

    def play(self, client: Client) -> None:
        client.playing = True
        client.synced = bool(self.gop)
        for _, data in self.gop:
            self._send(client, data, client.channel)

    def _send(self, client: Client, data: bytes, channel: int) -> None:
        transport = client.writer.transport
        if transport.is_closing():
            self.clients.discard(client)
            return
        if transport.get_write_buffer_size() > MAX_CLIENT_BACKLOG:
            log.warning("rtsp_client_too_slow", backlog=transport.get_write_buffer_size())
            self.clients.discard(client)
            transport.abort()
            release_freed_memory()
            return
        try:
            client.writer.write(data if channel == 0 else rechannel(data, channel))
        except Exception as err:  # one client's trouble must never reach the producer or the other clients
            log.warning("rtsp_client_dropped", error=repr(err))
            self.clients.discard(client)
            transport.abort()


def interleave(packets: list[bytes]) -> bytes:
    """RTP packets as RTSP sends them over its TCP connection (RFC 2326 10.12: '$', channel, length, packet),
    on channel 0; `rechannel` moves them to another."""
    return b"".join(b"$\x00" + len(p).to_bytes(2, "big") + p for p in packets)


def rechannel(data: bytes, channel: int) -> bytes:
    """Interleaved packets moved to another channel (a client's SETUP chooses its own)."""
    out = bytearray(data)
    pos = 0
    while pos + 4 <= len(out):
        out[pos + 1] = channel
        pos += 4 + int.from_bytes(out[pos + 2 : pos + 4], "big")
    return bytes(out)


def release_freed_memory() -> None:
    """Hands freed heap back to the system (glibc keeps it otherwise): a slow client's dropped backlog is many
    mid-sized buffers, which would stay in the process's memory for good."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
        except OSError:
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc: Any = None
