"""Recording 1080p H.264, H.265 and HTTP-MJPEG from the real sim over loopback."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import av
import httpx

from tests.helpers import Server, Sim, running, wait_for

GOP_MS = 2000


def decode_all(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_records_h264_h265_and_mjpeg(sim: Sim, tmp: Path) -> None:
    cams = [
        {"id": "h264", "url": sim.url(1), "record": {"segment_seconds": 4}},
        {"id": "h265", "url": sim.url(2), "record": {"segment_seconds": 4}},
        {"id": "mjpeg", "url": sim.mjpeg_url(1), "record": {"segment_seconds": 4}},
    ]
    srv = Server(tmp, cams)
    with running(srv):
        wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 30, what="cameras online")
        time.sleep(14)
        cameras = {c["id"]: c for c in srv.get("/api/cameras")}
        assert cameras["h264"]["stream"] == "h264 1920x1080"
        assert cameras["h265"]["stream"] == "hevc 1920x1080"
        assert cameras["mjpeg"]["stream"].startswith("mjpeg")
        # The API answers errors a user can act on.
        r = httpx.get(srv.base + "/api/cameras/nope/recordings", headers=srv.headers)
        assert r.status_code == 404 and "GET /api/cameras" in r.json()["detail"]
        r = httpx.get(srv.base + "/api/cameras/h264/recordings", params={"start": "yesterday"}, headers=srv.headers)
        assert r.status_code == 422 and "ISO-8601" in r.json()["detail"]
        live = {cam: srv.get(f"/api/cameras/{cam}/recordings") for cam in ("h264", "h265", "mjpeg")}
        for rec in live.values():
            assert len(rec["ranges"]) == 1, rec["ranges"]
            # A closed segment is served as a playable MP4.
            r = httpx.get(srv.base + rec["segments"][0]["url"], headers=srv.headers)
            assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
            assert r.content[4:8] == b"ftyp"
        stop_ms = time.time() * 1000  # recording ends when the context stops the server, just after this
    # Stopped cleanly: every segment is closed and indexed; check them all.
    with sqlite3.connect(srv.db) as db:
        for cam in ("h264", "h265", "mjpeg"):
            segs = db.execute(
                "select start_ms, end_ms, status, path from segments where camera_id=? order by start_ms", (cam,)
            ).fetchall()
            assert len(segs) >= 3, segs
            assert {s[2] for s in segs} == {"closed"}
            total = sum(e - s for s, e, _, _ in segs)
            span = stop_ms - segs[0][0]
            assert total >= 12_000
            assert abs(total - span) <= GOP_MS + 1000, (total, span)
            for a, b in itertools.pairwise(segs):
                assert b[0] - a[1] <= GOP_MS, (a, b)
            fps = 10 if cam == "mjpeg" else 25
            for start, end, _, path in segs:
                frames = decode_all(srv.storage / path)
                expected = (end - start) / 1000 * fps
                assert abs(frames - expected) <= fps * 2 + 1, (cam, frames, expected)


def test_weekly_record_schedule_set_over_the_api(sim: Sim, tmp: Path) -> None:
    """A camera records only inside its schedule's windows, and stays online (live, analysis) outside them; a
    schedule changed over the API (as the Cameras page does) applies without a restart."""
    from vigil.schedule import local_when

    day, minute = local_when(int(time.time() * 1000))
    if minute >= 24 * 60 - 2:  # the test must not straddle midnight
        time.sleep((24 * 60 - minute) * 60 + 5)
        day, _ = local_when(int(time.time() * 1000))
    other_days = [d for d in range(7) if d != day]
    srv = Server(tmp, [])
    with running(srv), srv.client() as c:
        cam = {"id": "yard", "url": sim.url(1), "record": {"segment_seconds": 2, "schedule": [{"days": other_days}]}}
        assert c.post("/api/cameras", json=cam).status_code == 201
        wait_for(lambda: srv.get("/api/cameras/yard")["state"] == "online", 30, what="camera online")
        time.sleep(6)
        assert srv.get("/api/cameras/yard/recordings")["segments"] == []  # not today
        assert srv.get("/api/cameras/yard")["state"] == "online"
        bad = c.put("/api/cameras/yard", json={**cam, "record": {"schedule": [{"days": [7]}]}})
        assert bad.status_code == 422 and "0 (Monday) to 6 (Sunday)" in bad.json()["detail"]
        today = {**cam, "record": {"segment_seconds": 2, "schedule": [{"days": [day], "start": "00:00",
                                                                         "end": "24:00"}]}}
        assert c.put("/api/cameras/yard", json=today).status_code == 200
        wait_for(lambda: len(srv.get("/api/cameras/yard/recordings")["segments"]) >= 2, 30,
                 what="recording once the schedule covers today")
