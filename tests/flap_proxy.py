"""A TCP proxy in front of the sim's RTSP port, one listening port per camera, that cuts a camera's connections
on demand: camera flapping (disconnect and reconnect) without touching the camera."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field


@dataclass(eq=False)  # kept in sets by identity
class _Conn:
    writers: list[asyncio.StreamWriter]
    began: float = field(default_factory=time.monotonic)
    down_bytes: int = 0


class FlapProxy:
    def __init__(self, upstream_port: int, cameras: int) -> None:
        self.upstream_port = upstream_port
        self.ports: list[int] = []
        self.conns: list[set[_Conn]] = [set() for _ in range(cameras)]
        self.cuts = [0] * cameras
        self._n = cameras
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="flap-proxy")

    def url(self, i: int, path: str) -> str:
        """Camera i's URL through the proxy (i from 0); `path` on the sim, e.g. "cam1"."""
        return f"rtsp://127.0.0.1:{self.ports[i]}/{path}"

    def start(self) -> FlapProxy:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def streaming(self, i: int, min_seconds: float, min_bytes: int) -> bool:
        """Whether camera i has a connection that has carried video for a while."""
        now = time.monotonic()
        return any(now - c.began >= min_seconds and c.down_bytes >= min_bytes for c in list(self.conns[i]))

    def cut(self, i: int) -> None:
        done = threading.Event()

        def _cut() -> None:
            for c in list(self.conns[i]):
                for w in c.writers:
                    w.transport.abort()
            self.conns[i].clear()
            done.set()

        self._loop.call_soon_threadsafe(_cut)
        done.wait(5)
        self.cuts[i] += 1

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        for i in range(self._n):
            server = self._loop.run_until_complete(
                asyncio.start_server(lambda r, w, i=i: self._handle(i, r, w), "127.0.0.1", 0))
            self.ports.append(server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        conn = _Conn([writer, up_w])
        self.conns[i].add(conn)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, down: bool) -> None:
            try:
                while data := await src.read(65536):
                    if down:
                        conn.down_bytes += len(data)
                    dst.write(data)
                    await dst.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                for w in conn.writers:
                    w.transport.abort()

        await asyncio.gather(pump(reader, up_w, False), pump(up_r, writer, True))
        self.conns[i].discard(conn)
