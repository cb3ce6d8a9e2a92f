"""ONVIF benchmark: how long a camera's own event takes to become a Vigil event, and what Vigil adds to a PTZ
command, beside the same SOAP call made directly to the camera in the same run.

Usage: python bench/interop.py [--samples 20]

The sim's PTZ camera answers ONVIF over loopback; `vigil serve` has it added by address and login.
- camera event → Vigil event: the sim is told to raise a line crossing (its control port); the time until the
  event is in Vigil's live event WebSocket.
- PTZ: `POST /api/cameras/{id}/ptz/move` (HTTP + Vigil + SOAP to the camera), beside a ContinuousMove sent with
  onvif-zeep-async straight to the camera.
- discovery: a WS-Discovery probe answered by the sim's cameras (`POST /api/onvif/discover`, 1 s wait).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers import Server, Sim, free_port, wait_for


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def event_latency(server: Server, sim: Sim, samples: int) -> list[float]:
    import websockets

    out: list[float] = []

    async def run() -> None:
        token = server.headers["Authorization"].split()[1]
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/api/events/live?token={token}") as ws:
            for _ in range(samples):
                t0 = time.perf_counter()
                await asyncio.to_thread(sim.control, 2, event="line")
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    e = msg.get("event") or {}
                    if msg.get("kind") == "new" and e.get("type") == "tripwire" and e.get("source") == "camera":
                        out.append((time.perf_counter() - t0) * 1000)
                        break
                await asyncio.sleep(0.2)

    t = threading.Thread(target=asyncio.run, args=(run(),))
    t.start()
    t.join()
    return out


async def direct_moves(port: int, samples: int) -> list[float]:
    from onvif import ONVIFCamera

    cam = ONVIFCamera("127.0.0.1", port, "admin", "sim-pass")
    await cam.update_xaddrs()
    ptz = await cam.create_ptz_service()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await ptz.ContinuousMove({"ProfileToken": "main", "Velocity": {"PanTilt": {"x": 0.1, "y": 0}, "Zoom": {"x": 0}},
                                  "Timeout": dt.timedelta(seconds=0.2)})
        out.append((time.perf_counter() - t0) * 1000)
    await cam.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-onvif-"))
    disc = free_port()
    sim = Sim(tmp, cameras=2, codecs="h264", size="640x360", sub="320x180", live="sub", fps=10, onvif=True, ptz=1,
              discovery_port=disc).start()
    server = Server(tmp, []).start()
    try:
        with server.client() as c:
            r = c.post("/api/onvif/cameras", json={"id": "ptz", "host": "127.0.0.1", "port": sim.onvif_port + 1,
                                                   "username": "admin", "password": "sim-pass"})
            r.raise_for_status()
            wait_for(lambda: "onvif_events_subscribed" in server.log_text(), 20, what="the event subscription")
            lat = event_latency(server, sim, args.samples)
            api = []
            for _ in range(args.samples):
                t0 = time.perf_counter()
                c.post("/api/cameras/ptz/ptz/move", json={"pan": 0.1, "seconds": 0.2}).raise_for_status()
                api.append((time.perf_counter() - t0) * 1000)
            direct = asyncio.run(direct_moves(sim.onvif_port + 1, args.samples))
            d0 = time.perf_counter()
            found = c.post("/api/onvif/discover", json={"interfaces": ["127.0.0.1"], "port": disc,
                                                        "timeout_seconds": 1}).json()
            disc_ms = (time.perf_counter() - d0) * 1000
        print(f"ONVIF on loopback (this machine), {args.samples} samples each:")
        print(f"  camera line crossing → Vigil event on the WebSocket: median {statistics.median(lat):.0f} ms, "
              f"p95 {pct(lat, 0.95):.0f} ms (goal < 2000 ms)")
        print(f"  PTZ move through Vigil's API: median {statistics.median(api):.1f} ms, p95 {pct(api, 0.95):.1f} ms")
        print(f"  reference, same run: ContinuousMove straight to the camera (onvif-zeep-async): median "
              f"{statistics.median(direct):.1f} ms, p95 {pct(direct, 0.95):.1f} ms")
        print(f"  discovery: {len(found)} cameras in {disc_ms:.0f} ms (1 s of listening, then a login check each)")
    finally:
        server.stop()
        sim.stop()


if __name__ == "__main__":
    main()
