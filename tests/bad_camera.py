"""A fake RTSP camera that answers badly, one way per path, for the bad-input tests.

/garbage        random bytes instead of an RTSP answer
/silent         accepts the connection and never answers
/truncated-sdp  a DESCRIBE answer whose body stops half-way (Content-Length says more) and a hang-up
/huge-length    a DESCRIBE answer that announces a 2 GB body
/bad-status     a status line no RTSP server sends
/bad-stream     a plausible session (SDP, SETUP, PLAY) whose parameter sets, RTP packets and interleaved frame
                lengths are nonsense, then a hang-up
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from urllib.parse import urlsplit

SDP_BAD = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bad\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    # an SPS claiming an absurd picture, then base64 of nothing in particular
    "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2QAKP////////8=,aGVsbG8=\r\n"
    "a=control:trackID=0\r\n"
)
SDP_OK_START = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cut\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H2"


class BadCamera:
    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def start(self) -> BadCamera:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def _shutdown() -> None:
            me = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not me:
                    task.cancel()
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(_shutdown(), self._loop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _request(self, reader: asyncio.StreamReader) -> tuple[str, str, str]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        method, url, _ = head.split("\r\n", 1)[0].split(" ", 2)
        cseq = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                     if line.lower().startswith("cseq:")), "1")
        return method, url, cseq

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                method, url, cseq = await self._request(reader)
                path = urlsplit(url).path.strip("/").split("/")[0]
                ok = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n"
                if path == "silent":
                    await asyncio.sleep(3600)
                if path == "garbage":
                    writer.write(os.urandom(4096))
                    await writer.drain()
                    return
                if path == "bad-status":
                    writer.write(f"RTSP/1.0 999 Something odd\r\nCSeq: {cseq}\r\n\r\n".encode())
                    await writer.drain()
                    continue
                if method == "OPTIONS":
                    writer.write((ok + "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n").encode())
                elif method == "DESCRIBE" and path == "truncated-sdp":
                    writer.write((ok + "Content-Type: application/sdp\r\nContent-Length: 400\r\n\r\n"
                                  + SDP_OK_START).encode())
                    await writer.drain()
                    return
                elif method == "DESCRIBE" and path == "huge-length":
                    writer.write((ok + "Content-Type: application/sdp\r\nContent-Length: 2147483647\r\n\r\n"
                                  + SDP_OK_START).encode())
                    await writer.drain()
                    await asyncio.sleep(1)
                    return
                elif method == "DESCRIBE":
                    writer.write((ok + f"Content-Type: application/sdp\r\nContent-Base: {url}/\r\n"
                                  f"Content-Length: {len(SDP_BAD)}\r\n\r\n{SDP_BAD}").encode())
                elif method == "SETUP":
                    writer.write((ok + "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 1234\r\n\r\n")
                                 .encode())
                elif method == "PLAY":
                    writer.write((ok + "Session: 1234\r\n\r\n").encode())
                    await writer.drain()
                    await self._nonsense(writer)
                    return
                else:
                    writer.write((ok + "\r\n").encode())
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is closing: the test is over
                writer.close()

    @staticmethod
    async def _nonsense(writer: asyncio.StreamWriter) -> None:
        """RTP over the interleaved channel, wrong in every way a camera can get it wrong."""
        for i in range(200):
            kind = i % 4
            if kind == 0:  # a valid RTP header over a random payload
                body = bytes([0x80, 96, i >> 8 & 0xFF, i & 0xFF]) + os.urandom(8) + os.urandom(300)
            elif kind == 1:  # a FU-A fragment that never ends
                body = bytes([0x80, 96, i >> 8 & 0xFF, i & 0xFF]) + os.urandom(8) + bytes([0x7C, 0x05]) + b"\xff" * 900
            elif kind == 2:  # not RTP at all
                body = os.urandom(40)
            else:  # a frame announcing 65535 bytes and carrying a few
                writer.write(b"$\x00\xff\xff" + os.urandom(16))
                continue
            writer.write(b"$\x00" + len(body).to_bytes(2, "big") + body)
            await writer.drain()
            await asyncio.sleep(0.01)
