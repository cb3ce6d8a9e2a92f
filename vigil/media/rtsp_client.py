"""Vigil's own RTSP client (RFC 2326): DESCRIBE, SETUP, PLAY; RTP interleaved on the RTSP connection (TCP) or on
a UDP port pair per track; Basic and Digest authentication, redirects, keep-alive within the session's timeout,
TEARDOWN.

It hands on RTP packets as they arrive; `depacketize.py` makes access units of them. Why our own: the FFmpeg
path spends CPU on every packet of every camera all day (demux, then remux), where an NVR only needs to move
the camera's NAL units into its files — Moonfire NVR's Retina client is the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import secrets
import select
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from vigil.media.depacketize import Buffer, RtpPacket, parse_rtp
from vigil.media.rtcp import SenderReport, sender_reports
from vigil.media.sdp import Media, SdpError, parse_sdp

USER_AGENT = "Vigil"
READ_CHUNK = 256 << 10
UDP_QUEUE = 8192  # packets waiting for the reader; beyond, new ones are dropped (and counted)
MAX_REDIRECTS = 3
MAX_HEADER_BYTES = 64 << 10
MAX_BODY_BYTES = 1 << 20
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class RtspError(Exception):
    """What went wrong, said so the user can act on it (a wrong password, a wrong path, a dead camera)."""


class RtspProtocolError(RtspError):
    """The camera answered, but not in a way this client reads (an odd status, a malformed answer or session
    description): FFmpeg's client may read it where Vigil's cannot, so native ingest falls back on this."""


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Track:
    media: Media
    channel: int  # interleaved channel of its RTP; RTCP on channel + 1
    sender_report: SenderReport | None = None  # the camera's latest, from the track's RTCP


# The set-up tracks' RTP packets of one read, as received (not parsed).
Batch = list[tuple[Track, Buffer]]


@dataclass
class Credentials:
    username: str
    password: str
    challenge: dict[str, str] = field(default_factory=dict)
    scheme: str = ""
    count: int = 0

    def header(self, method: str, uri: str) -> str | None:
        if self.scheme == "basic":
            import base64

            return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if self.scheme != "digest":
            return None
        c = self.challenge
        realm, nonce = c.get("realm", ""), c.get("nonce", "")

        def md5(s: str) -> str:
            return hashlib.md5(s.encode(), usedforsecurity=False).hexdigest()

        ha1, ha2 = md5(f"{self.username}:{realm}:{self.password}"), md5(f"{method}:{uri}")
        parts = [f'username="{self.username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
        qop = c.get("qop", "")
        if "auth" in [q.strip() for q in qop.split(",")]:
            self.count += 1
            nc, cnonce = f"{self.count:08x}", secrets.token_hex(8)
            parts += [f'response="{md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")}"', "qop=auth", f"nc={nc}",
                      f'cnonce="{cnonce}"']
        else:
            parts.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
        if "opaque" in c:
            parts.append(f'opaque="{c["opaque"]}"')
        return "Digest " + ", ".join(parts)

    def take(self, challenges: list[str]) -> bool:
        """Picks Digest over Basic from the WWW-Authenticate headers; False if neither is offered."""
        for want in ("digest", "basic"):
            for ch in challenges:
                scheme, _, rest = ch.strip().partition(" ")
                if scheme.lower() == want:
                    self.scheme = want
                    self.challenge = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                                      for m in _PARAM.finditer(rest)}
                    self.count = 0
                    return True
        return False


def split_url(url: str) -> tuple[str, str, int, Credentials | None]:
    """(the URL without user and password, host, port, the credentials it carried)."""
    u = urlsplit(url)
    if u.scheme.lower() != "rtsp" or not u.hostname:
        raise RtspError(f"{url!r} is not an rtsp:// URL with a host")
    creds = Credentials(unquote(u.username or ""), unquote(u.password or "")) if u.username else None
    host = u.hostname if ":" not in u.hostname else f"[{u.hostname}]"
    netloc = host + (f":{u.port}" if u.port else "")
    return urlunsplit((u.scheme, netloc, u.path or "/", u.query, "")), u.hostname, u.port or 554, creds


class RtspClient:
    """One camera session. `await open()`, then `async for track, packet in client.packets()`; `await close()`."""

    def __init__(self, url: str, timeout: float = 5.0, tracks: tuple[str, ...] = ("video", "audio"),
                 transport: Literal["tcp", "udp"] = "tcp", idle: float = 10.0) -> None:
        self.url, self.host, self.port, self.creds = split_url(url)
        self.timeout = timeout
        self.idle = idle  # seconds without media before the stream counts as lost
        self.transport = transport
        self._datagrams: asyncio.Queue[tuple[Track | None, bytes]] = asyncio.Queue(UDP_QUEUE)
        self._sockets: list[asyncio.DatagramTransport] = []
        self._control: asyncio.Task[None] | None = None
        self.udp_overflow = 0
        self.kinds = tracks
        self.tracks: list[Track] = []
        self.session = ""
        self.session_timeout = 60.0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._cseq = 0
        self._replies: asyncio.Queue[Response] = asyncio.Queue()
        self._keepalive: asyncio.Task[None] | None = None
        self._playing = False
        self._last_sent = 0.0
        self.keepalives = 0

    # connection
    async def _connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout)
        except TimeoutError:
            raise RtspError(f"{self.url}: no answer from {self.host}:{self.port} within {self.timeout:g} s — is the "
                            "camera on, and is this its address?") from None
        except ConnectionRefusedError:
            raise RtspError(f"{self.url}: connection refused at {self.host}:{self.port} — the camera is off, or "
                            "nothing listens on that port") from None
        except OSError as err:
            raise RtspError(f"{self.url}: cannot reach {self.host}:{self.port}: {err.strerror or err}") from None

    async def open(self) -> list[Track]:
        for _ in range(MAX_REDIRECTS + 1):
            await self._connect()
            r = await self.request("DESCRIBE", self.url, {"Accept": "application/sdp"})
            if r.status in (301, 302, 303, 305, 307) and r.header("location"):
                await self._drop()
                self.url, self.host, self.port, creds = split_url(r.header("location"))
                self.creds = creds or self.creds
                continue
            break
        else:
            raise RtspProtocolError(f"{self.url}: more than {MAX_REDIRECTS} redirects")
        self._check(r, "DESCRIBE")
        base = r.header("content-base") or r.header("content-location") or self.url
        try:
            media = parse_sdp(r.body.decode("utf-8", "replace"), base)
        except SdpError as err:
            raise RtspProtocolError(f"{self.url}: {err}") from None
        for m in media:
            if m.kind not in self.kinds or any(t.media.kind == m.kind for t in self.tracks):
                continue
            channel = 2 * len(self.tracks)
            track = Track(m, channel)
            if self.transport == "udp":
                port = await self._udp_pair(track)
                headers = {"Transport": f"RTP/AVP;unicast;client_port={port}-{port + 1}"}
            else:
                headers = {"Transport": f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}"}
            if self.session:
                headers["Session"] = self.session
            r = await self.request("SETUP", m.control, headers)
            self._check(r, f"SETUP of its {m.kind}")
            session, _, params = r.header("session").partition(";")
            self.session = session.strip()
            found = re.search(r"timeout=(\d+)", params)
            if found:
                self.session_timeout = max(5.0, float(found.group(1)))
            given = re.search(r"interleaved=(\d+)", r.header("transport"))
            track.channel = int(given.group(1)) if given and self.transport == "tcp" else channel
            self.tracks.append(track)
        if not any(t.media.kind == "video" for t in self.tracks):
            raise RtspError(f"{self.url}: the camera offers no video stream")
        r = await self.request("PLAY", self.url, {"Session": self.session, "Range": "npt=0.000-"})
        self._check(r, "PLAY")
        self._playing = True
        self._keepalive = asyncio.create_task(self._keep_alive())
        return self.tracks

    def _check(self, r: Response, what: str) -> None:
        if r.status == 401:
            raise RtspError(f"{self.url}: the camera refused the user name or password (401 at {what})"
                            if self.creds else f"{self.url}: the camera wants a login (401): put user:password@ in "
                            "the URL")
        if r.status == 404:
            raise RtspError(f"{self.url}: the camera has no such stream (404 at {what}) — check the path")
        if r.status == 461:
            other = "udp" if self.transport == "tcp" else "tcp"
            raise RtspError(f"{self.url}: the camera refused RTP over {self.transport.upper()} (461 at {what}) — "
                            f"set the camera's transport to {other}")
        if not 200 <= r.status < 300:
            raise RtspProtocolError(f"{self.url}: {what} answered {r.status} {r.reason}")

    # requests
    async def request(self, method: str, uri: str, headers: dict[str, str] | None = None) -> Response:
        r = await self._exchange(method, uri, headers or {})
        if r.status == 401 and self.creds is not None:
            # Once more with the answer to this challenge: the first time, or when the nonce changed (stale, or
            # a new connection after a redirect); the same nonce refused again means a wrong password.
            first, before = not self.creds.scheme, self.creds.challenge.get("nonce")
            if self.creds.take(self._challenges(r)) and (first or self.creds.challenge.get("nonce") != before):
                r = await self._exchange(method, uri, headers or {})
        return r

    @staticmethod
    def _challenges(r: Response) -> list[str]:
        return r.headers.get("www-authenticate", "").split("\n")

    async def _exchange(self, method: str, uri: str, headers: dict[str, str]) -> Response:
        if self._writer is None:
            raise RtspError(f"{self.url}: not connected")
        self._cseq += 1
        lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        auth = self.creds.header(method, uri) if self.creds else None
        if auth:
            lines.append(f"Authorization: {auth}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._last_sent = time.monotonic()
        try:
            await self._writer.drain()
            if self._playing:  # the reader loop owns the socket: its replies come through the queue
                return await asyncio.wait_for(self._replies.get(), self.timeout)
            while True:
                reply = await asyncio.wait_for(self._read_frame_or_reply(), self.timeout)
                if reply is not None:
                    return reply
        except TimeoutError:
            raise RtspError(f"{self.url}: no answer from {self.host}:{self.port} to {method} within "
                            f"{self.timeout:g} s — the camera is off or overloaded") from None
        except (ConnectionError, asyncio.IncompleteReadError):
            raise RtspError(f"{self.url}: the camera closed the connection during {method}") from None

    async def _read_frame_or_reply(self) -> Response | None:
        """An answer, or None for an interleaved frame that came first (some cameras send media before PLAY's
        answer): it is skipped."""
        assert self._reader is not None
        head = await self._reader.readexactly(1)
        if head == b"$":
            meta = await self._reader.readexactly(3)
            await self._reader.readexactly(int.from_bytes(meta[1:3], "big"))
            return None
        return await self._read_reply(head)

    async def _read_reply(self, first: bytes) -> Response:
        assert self._reader is not None
        try:
            raw = first + await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as err:
            sent = first + err.partial
            if sent.strip() and not sent.startswith(b"RTSP/"):  # it said something, but not RTSP
                raise RtspProtocolError(f"{self.url}: not an RTSP answer: {sent[:40]!r}") from None
            raise
        except asyncio.LimitOverrunError:
            raise RtspProtocolError(f"{self.url}: an RTSP answer without an end to its headers") from None
        r = self._parse_head(raw)
        try:
            size = int(r.header("content-length", "0") or 0)
        except ValueError:
            raise RtspProtocolError(f"{self.url}: an RTSP answer with an unreadable Content-Length") from None
        if size > MAX_BODY_BYTES:
            raise RtspProtocolError(f"{self.url}: an RTSP answer of {size} bytes")
        try:
            r.body = await self._reader.readexactly(size) if size else b""
        except asyncio.IncompleteReadError as err:
            raise RtspProtocolError(f"{self.url}: its answer was cut short ({len(err.partial)} of {size} bytes, "
                                    "then the connection closed)") from None
        return r

    def _parse_head(self, raw: bytes) -> Response:
        """Status line and headers of an answer (the body follows)."""
        if len(raw) > MAX_HEADER_BYTES:
            raise RtspProtocolError(f"{self.url}: an RTSP answer with {len(raw)} bytes of headers")
        text = raw.decode("utf-8", "replace").split("\r\n")
        status = text[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("RTSP/") or not status[1].isdigit():
            raise RtspProtocolError(f"{self.url}: not an RTSP answer: {text[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in text[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                headers[key] = headers[key] + "\n" + value.strip() if key in headers else value.strip()
        return Response(int(status[1]), status[2] if len(status) > 2 else "", headers)

    # media
    async def packets(self) -> AsyncIterator[tuple[Track, RtpPacket]]:
        """RTP packets of the set-up tracks as they arrive (over UDP: as they arrive, not yet in order — see
        `depacketize.Reorder`); RTCP and keep-alive replies are consumed here. Packets that are not RTP are
        skipped."""
        async for batch in self.frames():
            for track, data in batch:
                try:
                    packet = parse_rtp(data)
                except ValueError:
                    continue
                yield track, packet

    async def frames(self) -> AsyncIterator[Batch]:
        """The set-up tracks' RTP packets as received (not parsed), a batch per read from the camera: the cheap way
        to read (`VideoDepacketizer.push_raw`); one await per batch instead of one per packet."""
        if self.transport == "udp":
            async for item in self._udp_packets():
                yield [item]
            return
        assert self._reader is not None
        read = self._reader
        idle = self.idle
        # Read in large chunks and cut frames out of them: three awaits per packet (header, size, payload) cost
        # more than the depacketizing itself.
        cut = Interleaved(self)
        while True:
            batch, replies = cut.take()
            for reply in replies:
                await self._replies.put(reply)
            if batch:
                yield batch
            try:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives as
                # the read completes, and a reader told to stop would then read on for ever.
                async with asyncio.timeout(idle):
                    chunk = await read.read(READ_CHUNK)
            except TimeoutError:
                raise RtspError(f"{self.url}: no video for {idle:g} s") from None
            except ConnectionError:
                chunk = b""
            if not chunk:
                raise RtspError(f"{self.url}: the camera closed the stream")
            cut.buf += chunk

    def detach(self) -> tuple[socket.socket, bytes]:
        """TCP, once playing: the connection handed to a reader thread of the caller's (`BlockingReader`), as a
        blocking socket, with what asyncio had read already. The client still sends TEARDOWN on close."""
        assert self._writer is not None and self._reader is not None and self.transport == "tcp"
        transport: Any = self._writer.transport
        transport.pause_reading()
        pending = bytes(self._reader._buffer)  # type: ignore[attr-defined]  # read, not yet taken
        self._reader._buffer.clear()  # type: ignore[attr-defined]
        if self._keepalive is not None:
            self._keepalive.cancel()  # the reader thread keeps the session alive now
            self._keepalive = None
        raw = transport.get_extra_info("socket")
        sock = socket.socket(fileno=os.dup(raw.fileno()))
        sock.setblocking(True)
        return sock, pending

    def keepalive_request(self) -> bytes:
        """A GET_PARAMETER for the session, for a reader thread to send (its answer comes between the frames)."""
        self._cseq += 1
        lines = [f"GET_PARAMETER {self.url} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {USER_AGENT}",
                 f"Session: {self.session}"]
        auth = self.creds.header("GET_PARAMETER", self.url) if self.creds else None
        if auth:
            lines.append(f"Authorization: {auth}")
        self.keepalives += 1
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def _udp_pair(self, track: Track) -> int:
        """An even local port for the track's RTP and the next one for its RTCP (RFC 3550 §11)."""
        loop = asyncio.get_running_loop()
        for _ in range(32):
            rtp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self, track), local_addr=("0.0.0.0", 0))
            port = rtp.get_extra_info("sockname")[1]
            if port % 2 == 0 and port < 65535:
                try:
                    rtcp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self, track, rtcp=True),
                                                                  local_addr=("0.0.0.0", port + 1))
                except OSError:
                    rtcp = None
                if rtcp is not None:
                    self._sockets += [rtp, rtcp]
                    return int(port)
            rtp.close()
        raise RtspError(f"{self.url}: no free pair of UDP ports for RTP on this machine")

    async def _read_control(self) -> None:
        """Over UDP the RTSP connection carries only answers (keep-alives); its end is the session's end."""
        try:
            while True:
                reply = await self._read_frame_or_reply()
                if reply is not None:
                    await self._replies.put(reply)
        except (asyncio.IncompleteReadError, ConnectionError, RtspError):
            await self._datagrams.put((None, b""))

    async def _udp_packets(self) -> AsyncIterator[tuple[Track, bytes]]:
        self._control = asyncio.create_task(self._read_control())
        idle = self.idle
        while True:
            try:
                async with asyncio.timeout(idle):  # not wait_for (see packets)
                    track, data = await self._datagrams.get()
            except TimeoutError:
                raise RtspError(f"{self.url}: no video for {idle:g} s over UDP — a firewall may block the camera's "
                                "packets: try transport tcp") from None
            if track is None:
                raise RtspError(f"{self.url}: the camera closed the session")
            yield track, data

    async def _keep_alive(self) -> None:
        # Within the session timeout, whatever the camera: GET_PARAMETER (OPTIONS where a camera refuses it).
        method = "GET_PARAMETER"
        while True:
            await asyncio.sleep(max(1.0, self.session_timeout / 2 - (time.monotonic() - self._last_sent)))
            if time.monotonic() - self._last_sent < self.session_timeout / 2 - 0.5:
                continue
            try:
                r = await self.request(method, self.url, {"Session": self.session})
            except RtspError:
                return
            self.keepalives += 1
            if r.status in (405, 451, 501):
                method = "OPTIONS"

    async def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await asyncio.wait_for(self._writer.wait_closed(), 2.0)
            except TimeoutError:
                # A camera that does not read (its window full) would hold the close for ever: drop the rest.
                self._writer.transport.abort()
            except (ConnectionError, OSError):
                pass
        self._reader = self._writer = None

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._control is not None:
            self._control.cancel()
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        if self._writer is not None and self.session:
            with contextlib.suppress(OSError, TimeoutError):
                self._cseq += 1
                self._writer.write((f"TEARDOWN {self.url} RTSP/1.0\r\nCSeq: {self._cseq}\r\n"
                                    f"Session: {self.session}\r\nUser-Agent: {USER_AGENT}\r\n\r\n").encode())
                await asyncio.wait_for(self._writer.drain(), 1.0)
        await self._drop()


class Interleaved:
    """RTSP over TCP (RFC 2326 §10.12) cut into the set-up tracks' RTP packets and the RTSP answers between them
    (pure: bytes in `buf`, `take()` out)."""

    def __init__(self, client: RtspClient) -> None:
        self.client = client
        self.by_channel = {t.channel: t for t in client.tracks}
        self.by_rtcp = {t.channel + 1: t for t in client.tracks}
        self.buf = bytearray()

    def take(self) -> tuple[Batch, list[Response]]:
        """The whole frames and answers in `buf` (what is left is the start of the next one). The packets are views
        of one copy of what was read, not a copy each: at ~400 packets a second a camera, the copies and objects
        cost more than cutting the frames."""
        buf = self.buf
        if len(buf) < 4 or (buf[0] == 0x24 and len(buf) < 4 + ((buf[2] << 8) | buf[3])):
            return [], []  # not one whole frame yet: nothing to copy
        data = bytes(buf)
        view = memoryview(data)
        n, pos = len(data), 0
        batch: Batch = []
        replies: list[Response] = []
        by_channel = self.by_channel
        while n - pos >= 4:
            if data[pos] != 0x24:  # not '$': an RTSP answer (to a keep-alive) between the frames
                end = data.find(b"\r\n\r\n", pos)
                if end < 0:
                    if n - pos > MAX_HEADER_BYTES:
                        raise RtspProtocolError(f"{self.client.url}: the camera sent neither RTP nor an RTSP answer")
                    break
                reply = self.client._parse_head(data[pos:end + 4])
                size = int(reply.header("content-length", "0") or 0)
                if size > MAX_BODY_BYTES:
                    raise RtspProtocolError(f"{self.client.url}: an RTSP answer of {size} bytes")
                if n < end + 4 + size:
                    break
                reply.body = data[end + 4:end + 4 + size]
                pos = end + 4 + size
                replies.append(reply)
                continue
            end = pos + 4 + ((data[pos + 2] << 8) | data[pos + 3])
            if end > n:
                break
            track = by_channel.get(data[pos + 1])
            if track is not None:
                batch.append((track, view[pos + 4:end]))
            elif (track := self.by_rtcp.get(data[pos + 1])) is not None:  # a few seconds apart
                note_sender_reports(track, view[pos + 4:end])
            pos = end
        del self.buf[:pos]
        return batch, replies


class BlockingReader:
    """A playing TCP session read by the calling thread with plain `poll` + `recv_into` — no event loop: a
    camera's reading then costs about half what it costs through asyncio (bench/ingest.py) — with SO_RCVLOWAT
    batching (LowWater) and the keep-alives sent from here.

    The wait for the low-water mark is bounded (`MAX_WAIT_S`): the mark is set from the stream's average rate,
    and a keyframe-heavy, low-rate stream's P-frames can be far smaller than that average. Without the bound, a
    640×360 camera's pictures arrived three to five at a time, and its analysis skipped 5-10 % of the pictures
    due (the demo, 2026-12-07). The bound is below a 10 fps camera's picture interval, and well above the 20-40 ms
    it was first: each wake-up costs the process about 80 µs of CPU, and at 1080p 4 Mb/s fewer of them took the
    recorder from 1.4x to 1.0x the CPU of `ffmpeg -c copy` (bench/record.py)."""

    # Wake up for about GATHER_S of the stream at a time (SO_RCVLOWAT), not for each packet; MAX_WAIT_S bounds
    # the latency that adds. While nobody takes the pictures as they come (`urgent`: analysis, a live viewer,
    # RTSP out), recording alone takes them RELAXED_S at a time: a quarter of the wake-ups.
    GATHER_S = 0.06
    MAX_WAIT_S = 0.07
    RELAXED_S = 0.25
    RELAXED_WAIT_S = 0.3

    def __init__(self, client: RtspClient, gather_s: float = GATHER_S,
                 urgent: Callable[[], bool] = lambda: True) -> None:
        self.client = client
        self.sock, pending = client.detach()
        self.sock.setblocking(False)
        self._poll = select.poll()
        self._poll.register(self.sock.fileno(), select.POLLIN)
        self._wait_ms = int(self.MAX_WAIT_S * 1000)
        self.urgent, self._urgent = urgent, True
        self.gather_s = gather_s
        self.cut = Interleaved(client)
        self.cut.buf += pending
        self.lowat = LowWater(self.sock, gather_s) if gather_s > 0 else None
        self._chunk = bytearray(READ_CHUNK)
        self._view = memoryview(self._chunk)
        self._last_sent = self._last_data = time.monotonic()

    def batch(self) -> Batch:
        """The next packets: what arrived by the low-water mark or within MAX_WAIT_S (may be empty)."""
        c = self.client
        batch, _ = self.cut.take()  # answers to keep-alives: nothing to do with them
        if batch:
            return batch
        now = time.monotonic()
        if now - self._last_sent > c.session_timeout / 2:
            try:
                self.sock.sendall(c.keepalive_request())
            except OSError as err:
                raise RtspError(f"{c.url}: the connection failed: {err.strerror or err}") from None
            self._last_sent = now
        urgent = self.urgent()
        if urgent != self._urgent:
            self._urgent = urgent
            self._wait_ms = int((self.MAX_WAIT_S if urgent else self.RELAXED_WAIT_S) * 1000)
            if self.lowat is not None:
                self.lowat.set_gather(self.gather_s if urgent else self.RELAXED_S)
        # poll honours SO_RCVLOWAT; a non-blocking recv then takes whatever is there, below the mark or not.
        self._poll.poll(self._wait_ms)
        try:
            n = self.sock.recv_into(self._view)
        except BlockingIOError:
            if time.monotonic() - self._last_data > c.idle:
                raise RtspError(f"{c.url}: no video for {c.idle:g} s") from None
            return []
        except OSError:
            n = 0
        if not n:
            raise RtspError(f"{c.url}: the camera closed the stream")
        self._last_data = time.monotonic()
        if self.lowat is not None:
            self.lowat.arrived(n)
        self.cut.buf += self._view[:n]
        return self.cut.take()[0]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._poll.unregister(self.sock.fileno())
            self.sock.close()


class LowWater:
    """Fewer wake-ups for a TCP camera: the socket counts as readable only once `gather_s` of the stream (at its
    measured rate) is waiting (SO_RCVLOWAT), instead of at every packet. Each wake-up of a reader costs more than
    the packets it brings; at 4 Mb/s a camera sends ~400 packets a second."""

    MIN, MAX = 1024, 128 << 10

    def __init__(self, sock: Any, gather_s: float) -> None:
        self.sock, self.gather_s = sock, gather_s
        self.bytes = 0
        self.since = time.monotonic()
        self.level = 1
        self.rate = 0.0  # bytes a second, measured over the last second

    def arrived(self, size: int) -> None:
        self.bytes += size
        now = time.monotonic()
        if now - self.since < 1.0:
            return
        self.rate = self.bytes / (now - self.since)
        self.bytes, self.since = 0, now
        self._apply(False)

    def set_gather(self, gather_s: float) -> None:
        """Another span to gather, at once (a viewer came: wake-ups that take 60 ms at a time, not 250)."""
        self.gather_s = gather_s
        if self.rate:
            self._apply(True)

    def _apply(self, now: bool) -> None:
        level = int(min(self.MAX, max(self.MIN, self.rate * self.gather_s)))
        if now or abs(level - self.level) > self.level // 4:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, level)
                self.level = level


class _Datagrams(asyncio.DatagramProtocol):
    """One UDP socket of a track: its RTP, or its RTCP (sender reports noted on the track)."""

    def __init__(self, client: RtspClient, track: Track, rtcp: bool = False) -> None:
        self.client, self.track, self.rtcp = client, track, rtcp

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.rtcp:
            note_sender_reports(self.track, data)
            return
        try:
            self.client._datagrams.put_nowait((self.track, data))
        except asyncio.QueueFull:
            self.client.udp_overflow += 1


def note_sender_reports(track: Track, data: Buffer) -> None:
    for report in sender_reports(data):
        track.sender_report = report
