"""A camera that goes away for 10 s: offline within 5 s, back within 5 s, recording in a new segment."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers import Server, Sim, running, wait_for


def test_camera_outage_and_return(tmp: Path) -> None:
    cam = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="none")
    cam.start()
    srv = Server(tmp, [{"id": "cam", "url": cam.url(1), "record": {"segment_seconds": 60}}])
    try:
        with running(srv):
            state = lambda: srv.get("/api/cameras")[0]  # noqa: E731
            wait_for(lambda: state()["state"] == "online", 30, what="camera online")
            time.sleep(3)
            cam.stop()
            t_gone = time.monotonic()
            wall_gone = time.time() * 1000
            wait_for(lambda: state()["state"] == "offline", 10, what="camera offline")
            assert time.monotonic() - t_gone <= 5.0
            # The first loss says the stream ended; the retries then say why it cannot come back.
            wait_for(lambda: "connection refused" in (state()["last_error"] or ""), 5, what="the refusal reason")
            time.sleep(max(0.0, 10 - (time.monotonic() - t_gone)))
            cam.start()
            t_back = time.monotonic()
            wait_for(lambda: state()["state"] == "online", 10, what="camera back online")
            assert time.monotonic() - t_back <= 5.0
            segs = wait_for(
                lambda: [s for s in srv.get("/api/cameras/cam/recordings")["segments"] if s["start_ms"] > wall_gone],
                10, what="a new segment",
            )
            assert segs
            before = [s for s in srv.get("/api/cameras/cam/recordings")["segments"] if s["start_ms"] < wall_gone]
            assert before and before[0]["status"] == "closed"
            assert before[0]["end_ms"] <= wall_gone + 500
            # Video loss is one alarm, raised when the camera went and closed when it came back.
            lost = srv.get("/api/events", type="camera_offline", camera="cam")
            assert len(lost) == 1 and lost[0]["severity"] == "alarm", lost
            assert wall_gone - 500 <= lost[0]["start_ms"] <= wall_gone + 5000
            wait_for(lambda: srv.get(f"/api/events/{lost[0]['id']}")["end_ms"], 5, what="the alarm to close")
    finally:
        cam.stop()
