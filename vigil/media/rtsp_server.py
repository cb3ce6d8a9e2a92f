"""A small asyncio RTSP server: RTP over TCP (interleaved), H.264 and H.265.

It serves the simulated cameras and is the base of Vigil's RTSP re-streaming: requests, authentication and
sessions here; each path's packets go out through its `Broadcaster` (`media/rtsp_broadcast.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from vigil.log import get_logger
from vigil.media.rtsp_auth import DigestAuth
from vigil.media.rtsp_broadcast import Broadcaster, Client

log = get_logger(__name__)

MAX_REQUEST_BODY = 64 * 1024


def parse_interleaved(transport: str) -> int | None:
    """The first channel of `interleaved=N[-M]` in a SETUP's Transport (0 when absent); None when the channels
    are not a pair the one-byte channel field can carry."""
    m = re.search(r"(?:^|;)\s*interleaved=(\d{1,3})(?:-(\d{1,3}))?\s*(?:;|$)", transport)
    if m is None:
        return None if "interleaved" in transport else 0
    first = int(m.group(1))
    second = int(m.group(2)) if m.group(2) is not None else first + 1
    return first if first <= 254 and second == first + 1 else None


@dataclass(frozen=True)
class Elsewhere:
    """Another server has this path (a cluster's node recording the camera): the client's connection is relayed
    there byte for byte, from its first request naming the path (`RtspServer.locate`, before any sign-in here).
    Not a 302: a client would have to follow it and sign in again at the other server, and FFmpeg from
    libavformat 62.12.103 on (PyAV 18.1.1) no longer sends credentials to a server it is redirected to, so it
    could not. Through the relay the other server does the sign-in itself (Digest over one connection: its
    nonces, its checks, its login limits — which see this server's address for every relayed client)."""

    location: str  # rtsp://host:port/… of the other server


# (URL, whom the auth found or None, the client's address) -> the stream, where it is instead, or None (404)
Resolver = Callable[[str, Any, str], Awaitable[Broadcaster | Elsewhere | None]]
RECHECK_S = 1.0  # how often a playing client's right to the stream is checked again
RELAY_CONNECT_S = 5.0  # connecting to the server a client's connection is relayed to
RELAY_CHUNK = 256 * 1024


class Guard(Protocol):
    """The login limits and their audit, shared with the web login (vigil/logins.py)."""

    def wait(self, username: str, address: str, via: str) -> tuple[float, str]: ...
    def failed(self, username: str, address: str, via: str, action: str = ...) -> None: ...
    def succeeded(self, username: str) -> None: ...


class RtspServer:
    """Serves `streams` by path; or, given `resolve`, asks it for each path (a stream made on demand, or None:
    404). With `auth`, every request but OPTIONS needs Digest credentials (401 with a challenge otherwise)."""

    def __init__(self, host: str, port: int, streams: dict[str, Broadcaster] | None = None,
                 resolve: Resolver | None = None, auth: DigestAuth[Any] | None = None,
                 allow: Callable[[str | None], bool] | None = None, guard: Guard | None = None,
                 still_allowed: Callable[[Any, str], bool] | None = None,
                 locate: Callable[[str], Awaitable[Elsewhere | None]] | None = None) -> None:
        """`guard` limits password guessing; `still_allowed(user, url)` is asked every second while a client
        plays (a user deleted, disabled or no longer allowed the camera is hung up on). `locate(url)` says
        whether another server has the path: a client's connection is then relayed there from its first request
        naming it, before any sign-in here, so that the client signs in with that server alone."""
        self.locate = locate
        self.allow = allow  # the peer's address → may it connect (the IP filter)
        self.guard = guard
        self.still_allowed = still_allowed
        self.host = host
        self.port = port
        self.streams = streams if streams is not None else {}
        self._resolve = resolve
        self.auth = auth
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for b in self.streams.values():
                for c in list(b.clients):
                    c.writer.transport.abort()
                b.clients.clear()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    @staticmethod
    def path_of(url: str) -> str:
        path = unquote(urlsplit(url).path).strip("/")
        for track in ("trackID=0", "trackID=1"):
            if path.endswith(track):
                path = path[: -len(track)].rstrip("/")
        return path

    async def _stream_for(self, url: str, user: Any, address: str) -> Broadcaster | Elsewhere | None:
        if self._resolve is not None:
            return await self._resolve(url, user, address)
        return self.streams.get(self.path_of(url))

    async def _watch(self, writer: asyncio.StreamWriter, user: Any, url: str) -> None:
        """Hangs up on a playing client once its user may no longer watch this stream."""
        assert self.still_allowed is not None
        while not writer.transport.is_closing():
            await asyncio.sleep(RECHECK_S)
            try:
                allowed = await asyncio.to_thread(self.still_allowed, user, url)
            except Exception as err:  # the catalog briefly unreachable: ask again next time
                log.warning("rtsp_recheck_failed", error=repr(err))
                continue
            if not allowed:
                log.info("rtsp_client_revoked", path=self.path_of(url))
                writer.transport.abort()
                return

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
        while True:
            first = await reader.readexactly(1)
            if first == b"$":  # RTCP from the client, interleaved: skip it
                head = await reader.readexactly(3)
                await reader.readexactly(int.from_bytes(head[1:3], "big"))
                continue
            raw = first + await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("utf-8", "replace").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                return None
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = headers.get("content-length", "0") or "0"
            if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
                return None  # nothing a client of this server sends: hang up
            if int(length):
                await reader.readexactly(int(length))
            return parts[0], parts[1], headers

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.allow is not None and not self.allow(peer[0] if peer else None):
            writer.transport.abort()  # not even a status line for an address that may not connect
            return
        address = str(peer[0]) if peer else ""
        session = secrets.token_hex(8)
        counts: dict[str, int] = {}  # Digest nc per nonce on this connection
        signed_in: str | None = None
        watcher: asyncio.Task[None] | None = None
        client: Client | None = None
        stream: Broadcaster | None = None
        user: str | None = None
        described: tuple[str, Broadcaster] | None = None  # SETUP of the described path plays what DESCRIBE found

        def reply(cseq: str, status: str = "200 OK", headers: dict[str, str] | None = None, body: str = "") -> None:
            out = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", "Server: Vigil"]
            out += [f"{k}: {v}" for k, v in (headers or {}).items()]
            if body:
                out.append(f"Content-Length: {len(body.encode())}")
            writer.write(("\r\n".join(out) + "\r\n\r\n" + body).encode())

        try:
            while True:
                req = await self._read_request(reader)
                if req is None:
                    break
                method, url, headers = req
                cseq = headers.get("cseq", "0")
                if self.locate is not None and client is None and (where := await self.locate(url)) is not None:
                    await writer.drain()
                    await relay(reader, writer, where.location, f"{method} {url} RTSP/1.0", headers)
                    break
                if method == "OPTIONS":
                    reply(cseq, headers={"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"})
                    await writer.drain()
                    continue
                if self.auth is not None:
                    header = headers.get("authorization")
                    name = self.auth.username(header)
                    if name is not None and self.guard is not None:
                        wait, what = await asyncio.to_thread(self.guard.wait, name, address, "rtsp")
                        if wait > 0:  # as the web login answers: the right password waits too
                            reply(cseq, "429 Too Many Requests", {"Retry-After": str(int(wait) + 1),
                                                                  "X-Reason": f"too many failed logins for {what}"})
                            await writer.drain()
                            continue
                    verdict = await asyncio.to_thread(self.auth.check, method, url, header, session, counts)
                    if verdict.user is None:
                        if verdict.failed and self.guard is not None:
                            await asyncio.to_thread(self.guard.failed, verdict.username, address, "rtsp")
                        reply(cseq, "401 Unauthorized",
                              {"WWW-Authenticate": self.auth.challenge(verdict.stale, session)})
                        await writer.drain()
                        continue
                    user = verdict.user
                    if signed_in != verdict.username and self.guard is not None:
                        signed_in = verdict.username
                        await asyncio.to_thread(self.guard.succeeded, verdict.username)
                if method == "SETUP" and described is not None and described[0] == self.path_of(url):
                    target: Broadcaster | Elsewhere | None = described[1]
                elif method in ("DESCRIBE", "SETUP"):
                    target = await self._stream_for(url, user, address)
                else:
                    target = stream
                if method == "GET_PARAMETER":
                    reply(cseq, headers={"Session": session})
                elif target is None:
                    reply(cseq, "404 Not Found")
                elif isinstance(target, Elsewhere):
                    await writer.drain()
                    await relay(reader, writer, target.location, f"{method} {url} RTSP/1.0", headers)
                    break
                elif method == "DESCRIBE":
                    described = (self.path_of(url), target)
                    plain = urlsplit(url)._replace(query="", fragment="").geturl()  # ?start=… is not a path
                    base = plain if plain.endswith("/") else plain + "/"
                    reply(
                        cseq,
                        headers={"Content-Base": base, "Content-Type": "application/sdp"},
                        body=target.sdp(self.host),
                    )
                elif method == "SETUP":
                    transport = headers.get("transport", "")
                    if "TCP" not in transport.upper():
                        reply(cseq, "461 Unsupported Transport")
                        continue
                    parsed = parse_interleaved(transport)
                    if parsed is None:
                        reply(cseq, "461 Unsupported Transport", {"X-Reason": "interleaved channels must be a pair "
                                                                  "n-(n+1) with n from 0 to 254"})
                        await writer.drain()
                        continue
                    channel = parsed
                    if urlsplit(url).path.rstrip("/").endswith("trackID=1"):  # the audio track of this session
                        if client is None or stream is not target or target.audio is None:
                            reply(cseq, "455 Method Not Valid in This State")
                            continue
                        client.audio_channel = channel
                    else:
                        if client is not None and stream is not None:
                            stream.clients.discard(client)
                        client = Client(writer, channel)
                        stream = target
                    reply(
                        cseq,
                        headers={
                            "Transport": f"RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}",
                            "Session": f"{session};timeout=60",
                        },
                    )
                elif method == "PLAY" and client is not None and stream is not None:
                    seq, rtptime = stream.start_position()
                    info = f"url={url.rstrip('/')}/trackID=0;seq={seq};rtptime={rtptime}"
                    if stream.audio is not None and client.audio_channel is not None:
                        info += f",url={url.rstrip('/')}/trackID=1;seq={stream.audio.packetizer.seq}"
                    reply(cseq, headers={"Session": session, "Range": "npt=0.000-", "RTP-Info": info})
                    stream.clients.add(client)
                    stream.play(client)
                    if self.still_allowed is not None and user is not None and watcher is None:
                        watcher = asyncio.create_task(self._watch(writer, user, url))
                elif method == "TEARDOWN":
                    reply(cseq, headers={"Session": session})
                    break
                else:
                    reply(cseq, "455 Method Not Valid in This State")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except Exception as err:  # a request this server did not foresee ends this connection, no other
            log.warning("rtsp_request_failed", peer=address, error=repr(err))
        finally:
            if watcher is not None:
                watcher.cancel()
            if client is not None and stream is not None:
                stream.clients.discard(client)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, location: str, request_line: str,
                headers: dict[str, str]) -> None:
    """The client's connection relayed to the server at `location`: the request just read (its line and headers,
    which carry the client's credentials and CSeq), then every byte either way until one side hangs up."""
    target = urlsplit(location)
    try:
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(target.hostname, target.port or 554), RELAY_CONNECT_S)
    except (OSError, TimeoutError) as err:
        log.warning("rtsp_relay_failed", to=f"{target.hostname}:{target.port}", error=repr(err))
        cseq = headers.get("cseq", "0")
        writer.write(f"RTSP/1.0 503 Service Unavailable\r\nCSeq: {cseq}\r\nServer: Vigil\r\n\r\n".encode())
        await writer.drain()
        return
    up_writer.write((request_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                     + "\r\n").encode())

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(RELAY_CHUNK):
            dst.write(data)
            await dst.drain()

    both = [asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))]
    try:
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in both:
            task.cancel()
        await asyncio.gather(*both, return_exceptions=True)
        up_writer.close()
        with contextlib.suppress(Exception):
            await up_writer.wait_closed()
