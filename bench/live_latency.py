"""Live view benchmark: glass-to-glass latency in headless Chromium (median over 30 s), and the server's
CPU per live viewer.

Usage: python bench/live_latency.py [--seconds 30] [--viewers 4]
The sim burns its wall clock into each picture as a barcode; the page reads it from the <video> and
compares it with its own clock (same machine, same clock), so latency = capture → encode → RTSP →
Vigil → WebSocket → MSE → screen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.record import cpu_now, measure
from tests.e2e.conftest import CHROMIUM, READ_CODE_JS
from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--viewers", type=int, default=4)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sim = Sim(tmp, cameras=1, codecs="h264", size="1280x720", sub="none", live="all", fps=25).start()
        srv = Server(tmp, [{"id": "cam1", "url": sim.url(1)}]).start()
        try:
            wait_for(lambda: srv.get("/api/cameras")[0]["state"] == "online", 30, what="camera online")
            assert srv.proc is not None
            idle = measure([srv.proc.pid], 10) / 10
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                    "--autoplay-policy=no-user-gesture-required"])
                pages = []
                for _ in range(args.viewers):
                    pg = browser.new_page(viewport={"width": 1280, "height": 720}, bypass_csp=True)
                    pg.goto(srv.base + "/#/live")
                    pg.fill("input[name=username]", "admin")
                    pg.fill("input[name=password]", ADMIN_PASSWORD)
                    pg.click("button[type=submit]")
                    pg.click("[data-layout='1']")
                    pg.wait_for_selector(".tile[data-state=online]")
                    pages.append(pg)
                time.sleep(3)
                samples: list[float] = []
                t_end = time.monotonic() + args.seconds
                t0 = time.monotonic()
                cpu_start = cpu_now(srv.proc.pid)
                while time.monotonic() < t_end:
                    video = pages[0].query_selector(".tile video")
                    code = pages[0].evaluate(READ_CODE_JS, video)
                    if code:
                        samples.append(pages[0].evaluate("Date.now()") - code)
                    time.sleep(0.2)
                busy = (cpu_now(srv.proc.pid) - cpu_start) / (time.monotonic() - t0)
                browser.close()
            per_viewer = (busy - idle) / args.viewers
            print(f"live latency, 720p H.264 25 fps, headless Chromium: median {statistics.median(samples):.0f} ms, "
                  f"p90 {statistics.quantiles(samples, n=10)[-1]:.0f} ms over {len(samples)} samples "
                  f"({args.seconds:.0f} s)   (goal < 500 ms)")
            print(f"server CPU: {idle * 100:.1f} % of a core recording without viewers, "
                  f"{busy * 100:.1f} % with {args.viewers} viewers: {per_viewer * 100:.2f} % per viewer   (goal < 2 %)")
        finally:
            srv.stop()
            sim.stop()


if __name__ == "__main__":
    main()
