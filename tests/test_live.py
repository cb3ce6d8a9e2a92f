"""Live view over WebSocket: per-frame fMP4 that decodes, with glass-to-glass latency well under a second."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import av
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.helpers import Server, Sim, running, wait_for
from vigil.sim.barcode import read_code


def receive(url: str, seconds: float) -> tuple[str, bytes, list[tuple[float, bytes]]]:
    mime, init, frags = "", b"", []
    with connect(url, open_timeout=10) as ws:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            msg = ws.recv(timeout=10)
            if isinstance(msg, str):
                info = json.loads(msg)
                if info["type"] == "init":
                    mime = info["mime"]
                    init = ws.recv(timeout=10)  # type: ignore[assignment]
                continue
            frags.append((time.time() * 1000, msg))
    return mime, init, frags


def test_live_fragments_decode_with_low_latency(tmp: Path) -> None:
    sim = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="320x180", live="all", fps=25)
    with running(sim):
        cams = [{"id": "cam", "url": sim.url(1), "sub_url": sim.url(1, sub=True)}]
        srv = Server(tmp, cams)
        with running(srv):
            wait_for(lambda: srv.get("/api/cameras")[0]["state"] == "online", 30, what="camera online")
            token = srv.headers["Authorization"].split()[1]
            base = srv.base.replace("http", "ws")
            for stream, width in (("sub", 320), ("main", 640)):
                mime, init, frags = receive(f"{base}/api/cameras/cam/live?stream={stream}&token={token}", 4)
                assert mime.startswith('video/mp4; codecs="avc1.')
                assert init[4:8] == b"ftyp" and len(frags) >= 25
                # ~25 fragments a second, one per frame, counted from the first: a new viewer of the sub-stream
                # first waits for its session to open and for a keyframe (a GOP of up to 2 s at 25 fps).
                rate = (len(frags) - 1) / ((frags[-1][0] - frags[0][0]) / 1000)
                assert rate >= 15, (stream, len(frags), rate)
                data = init + b"".join(f for _, f in frags)
                latencies = []
                with av.open(io.BytesIO(data)) as c:
                    for frame, (arrived, _) in zip(c.decode(video=0), frags, strict=False):
                        assert frame.width == width
                        latencies.append(arrived - read_code(frame.to_ndarray(format="bgr24")))
                latencies.sort()
                median = latencies[len(latencies) // 2]
                print(f"live {stream}: median capture-to-arrival latency {median:.0f} ms over {len(latencies)} frames")
                assert median < 1000
            # Without a login the socket is refused.
            with pytest.raises(ConnectionClosed) as err, connect(f"{base}/api/cameras/cam/live") as ws:
                ws.recv(timeout=5)
            assert err.value.rcvd is not None and err.value.rcvd.code == 4401
