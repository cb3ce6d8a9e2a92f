"""Reliability (issue 10): kill -9 in a loop and camera flapping, short here; `make soak` runs the same routines
(tests/reliability.py) long: 20 crashes, 1,000 flaps over 8 cameras, and the 16-camera load."""

from __future__ import annotations

import os
from pathlib import Path

from tests.flap_proxy import FlapProxy
from tests.helpers import Server, Sim, running
from tests.reliability import crash_loop, flapping

GOP_MS = 2000  # the sim's


def test_kill9_loop_loses_at_most_a_gop_and_no_index_row(sim: Sim, tmp: Path) -> None:
    """Each camera read by FFmpeg and by Vigil's own RTSP client (ingest: native). kill -9 at random moments:
    after each start every file is indexed, every row has its file, every segment decodes, and each camera loses
    at most the GOP being written (plus the moment it takes to reach the disk)."""
    cams = [{"id": f"{codec}{suffix}", "url": sim.url(i), "ingest": ingest, "record": {"segment_seconds": 4}}
            for i, codec in ((1, "h264"), (2, "hevc")) for suffix, ingest in (("", "ffmpeg"), ("-native", "native"))]
    server = Server(tmp, cams)
    try:
        figures = crash_loop(server, [c["id"] for c in cams], int(os.environ.get("VIGIL_CRASH_CYCLES", "3")), GOP_MS,
                             seed=int.from_bytes(os.urandom(2), "big"))
    finally:
        server.stop()
    assert figures["lost_ms_max"] <= GOP_MS + 1500, figures
    assert figures["segments_checked"] >= 4, figures


def test_camera_flapping_leaks_nothing(sim: Sim, tmp: Path) -> None:
    """8 cameras (through a proxy that cuts their connections) flap many times: memory, open files, threads and
    event-loop tasks of `vigil serve` stay where they were after the warm-up."""
    proxy = FlapProxy(sim.rtsp_port, 8).start()
    try:
        # Half of them read by Vigil's own RTSP client (ingest: native), half by FFmpeg.
        cams = [{"id": f"c{i}", "url": proxy.url(i, f"cam{i % 2 + 1}/sub"), "record": {"segment_seconds": 10},
                 "ingest": "native" if i >= 4 else "ffmpeg"} for i in range(8)]
        with running(Server(tmp, cams, source={"backoff_initial_seconds": 0.2})) as server:
            figures = flapping(server, proxy, int(os.environ.get("VIGIL_FLAPS", "200")))
            assert server.proc is not None and server.proc.poll() is None
    finally:
        proxy.stop()
    start, end = figures["start"], figures["end"]
    assert end["open_fds"] <= start["open_fds"] + 4, figures
    assert end["threads"] <= start["threads"] + 4, figures
    assert end["tasks"] <= start["tasks"] + 4, figures
    assert end["rss_bytes"] <= start["rss_bytes"] + 48 * 2**20, figures
    assert min(proxy.cuts) >= 5, proxy.cuts  # every camera flapped, not one camera many times
