"""One RTSP session per camera stream (issue 19): the camera sees one connection to its main stream and one to
its sub-stream while Vigil records it, analyses it, shows it live and re-serves it over RTSP, all at once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import av
import httpx
import websockets

from tests.helpers import ADMIN_PASSWORD, Server, Sim, running, wait_for


def sessions(sim: Sim) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"http://127.0.0.1:{sim.http_port}/sessions", timeout=5).json()
    return counts


def test_each_camera_stream_is_one_session_however_many_users(tmp_path: Path) -> None:
    sim = Sim(tmp_path, cameras=2, codecs="h264", size="640x360", sub="320x180", fps=10)
    with running(sim):
        analysed = {"enabled": True, "fps": 2}
        cams = [{"id": "cam1", "url": sim.url(1), "sub_url": sim.url(1, sub=True), "analytics": analysed},
                {"id": "cam2", "url": sim.url(2), "analytics": analysed}]  # no sub-stream: analysed from main
        with running(Server(tmp_path, cams)) as srv:
            wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 60, what="online")
            wait_for(lambda: all(srv.get(f"/api/cameras/{c}/analytics")["analysed_fps"] > 0 for c in ("cam1", "cam2")),
                     60, what="both cameras analysed")
            token = srv.headers["Authorization"].split()[1]
            stop = threading.Event()
            got: dict[str, int] = {}

            def rtsp_client(path: str) -> None:
                c = av.open(f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{srv.rtsp_port}/{path}",
                            options={"rtsp_transport": "tcp"}, timeout=10)
                try:
                    for _ in c.demux(c.streams.video[0]):
                        got[path] = got.get(path, 0) + 1
                        if stop.is_set():
                            break
                finally:
                    c.close()

            async def watch_live(seen: dict[str, int]) -> None:
                base = f"ws://127.0.0.1:{srv.port}/api/cameras"
                async with websockets.connect(f"{base}/cam1/live?stream=sub&token={token}") as sub, \
                        websockets.connect(f"{base}/cam1/live?stream=main&token={token}") as main, \
                        websockets.connect(f"{base}/cam2/live?stream=sub&token={token}") as other:
                    end = time.monotonic() + 8
                    while time.monotonic() < end:
                        for name, ws in (("cam1/sub", sub), ("cam1", main), ("cam2", other)):
                            try:
                                if isinstance(await asyncio.wait_for(ws.recv(), 0.5), bytes):
                                    seen[name] = seen.get(name, 0) + 1
                            except TimeoutError:
                                pass
                    seen.update({f"sessions:{k}": v for k, v in sessions(sim).items()})

            readers = [threading.Thread(target=rtsp_client, args=(p,), daemon=True)
                       for p in ("cam1", "cam1/sub", "cam2", "cam2/sub")]
            for r in readers:
                r.start()
            wait_for(lambda: len(got) == 4, 30, what="the four RTSP-out clients to play")
            seen: dict[str, int] = {}
            asyncio.run(watch_live(seen))
            stop.set()
            for r in readers:
                r.join(10)
            assert all(seen.get(k, 0) > 0 for k in ("cam1/sub", "cam1", "cam2")), seen
            counted = {k.removeprefix("sessions:"): v for k, v in seen.items() if k.startswith("sessions:")}
            assert counted == {"cam1": 1, "cam1/sub": 1, "cam2": 1, "cam2/sub": 0}, counted
            # The analysis went on through it all, from those same sessions.
            for cam in ("cam1", "cam2"):
                assert srv.get(f"/api/cameras/{cam}/analytics")["analysed_fps"] > 0
