"""Long reliability soaks (`make soak`): the routines of tests/reliability.py run at full length.

Usage: python bench/soak.py [crash|flap|load|all] [--crashes 20] [--flaps 1000] [--load-seconds 600]
  crash: kill -9 at random moments while 2 cameras record (H.264 + H.265 1080p); storage checked after each start
  flap:  1,000 disconnect/reconnect cycles over 8 cameras; memory, open files, threads, tasks at start and end
  load:  16 cameras recording (720p25) + 8 live viewers + playback/search/events requests for 10 minutes
Reference in the same run (load): the API's p95 with the cameras recording and nobody else asking.
Prints each figure and, at the end, the rows of the README's reliability table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.flap_proxy import FlapProxy
from tests.helpers import Server, Sim, running
from tests.reliability import api_p95, crash_loop, flapping, load

MB = 2**20


def soak_crash(tmp: Path, cycles: int) -> str:
    with running(Sim(tmp, cameras=2)) as sim:
        cams = [{"id": "h264", "url": sim.url(1), "record": {"segment_seconds": 10}},
                {"id": "hevc", "url": sim.url(2), "record": {"segment_seconds": 10}}]
        server = Server(tmp, cams)
        try:
            f = crash_loop(server, ["h264", "hevc"], cycles, 2000, seed=int(time.time()))
        finally:
            server.stop()
    return (f"| kill -9 during recording | {f['cycles']} crashes, 2 cameras | every file indexed, every row has its "
            f"file, all {f['segments_checked']} segments decode; video lost per crash: median "
            f"{f['lost_ms_median']} ms, max {f['lost_ms_max']} ms (GOP 2000 ms) |")


def soak_flap(tmp: Path, flaps: int) -> str:
    with running(Sim(tmp, cameras=2)) as sim:
        proxy = FlapProxy(sim.rtsp_port, 8).start()
        try:
            cams = [{"id": f"c{i}", "url": proxy.url(i, f"cam{i % 2 + 1}/sub"), "record": {"segment_seconds": 10}}
                    for i in range(8)]
            with running(Server(tmp, cams, source={"backoff_initial_seconds": 0.2})) as server:
                f = flapping(server, proxy, flaps)
        finally:
            proxy.stop()
    s, e = f["start"], f["end"]
    return (f"| camera flapping | {f['flaps']} disconnects over 8 cameras ({f['warm_up']} to warm up, then "
            f"{f['flaps'] - f['warm_up']} in {f['seconds']} s) | from after the warm-up to the end: RSS "
            f"{s['rss_bytes'] / MB:.0f} → {e['rss_bytes'] / MB:.0f} MB, open files {s['open_fds']} → "
            f"{e['open_fds']}, threads {s['threads']} → {e['threads']}, tasks {s['tasks']} → {e['tasks']} |")


def soak_load(tmp: Path, seconds: float) -> str:
    fps = 25
    with running(Sim(tmp, cameras=16, size="1280x720", sub="640x360", fps=fps)) as sim:
        cams = [{"id": f"cam{i}", "url": sim.url(i), "sub_url": sim.url(i, sub=True),
                 "record": {"segment_seconds": 60}} for i in range(1, 17)]
        with running(Server(tmp, cams)) as server:
            base = api_p95(server.base, server.headers, ["/api/cameras", "/api/events?limit=50"], 20)
            print("reference, the API alone:", base)
            f = load(server, [c["id"] for c in cams], fps, 8, seconds)
    return (f"| load | 16 cameras 720p25 + 8 live viewers + playback/search for {seconds / 60:.0f} min | API p95 "
            f"{f['api_p95_ms']} ms ({sum(a['requests'] for a in f['api'])} requests, "
            f"{sum(a['errors'] for a in f['api'])} errors; alone: {base['p95_ms']} ms); pictures recorded "
            f"≥ {f['recorded_share_min'] * 100:.1f} % of the cameras' frame rate; viewer reconnects "
            f"{f['viewer_reconnects']} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", default="all", choices=["crash", "flap", "load", "all"])
    ap.add_argument("--crashes", type=int, default=20)
    ap.add_argument("--flaps", type=int, default=1000)
    ap.add_argument("--load-seconds", type=float, default=600)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for what, fn, arg in (("crash", soak_crash, args.crashes), ("flap", soak_flap, args.flaps),
                              ("load", soak_load, args.load_seconds)):
            if args.what in (what, "all"):
                tmp = Path(d) / what
                tmp.mkdir()
                rows.append(fn(tmp, arg))
                print(rows[-1], flush=True)
    print("\n| soak | size | result |\n|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
