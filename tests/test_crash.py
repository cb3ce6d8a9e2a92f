"""kill -9 during recording loses at most the GOP being written; the next start repairs and indexes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import av

from tests.helpers import Server, Sim, wait_for
from vigil.media.fmp4 import scan_segment


def rows(db: Path) -> list[tuple[int, str, str, int, int]]:
    with sqlite3.connect(db) as c:
        return c.execute("select id, path, status, start_ms, end_ms from segments order by start_ms").fetchall()


def test_kill9_then_restart(sim: Sim, tmp: Path) -> None:
    srv = Server(tmp, [{"id": "cam", "url": sim.url(1), "record": {"segment_seconds": 60}}])
    srv.start()
    try:
        wait_for(lambda: srv.get("/api/cameras")[0]["state"] == "online", 30, what="camera online")
        t_online = time.time()
        time.sleep(8)
        srv.kill9()
        t_kill = time.time()
    finally:
        srv.stop()
    before = rows(srv.db)
    assert [r[2] for r in before] == ["open"]
    path = srv.storage / before[0][1]
    assert path.exists() and path.stat().st_size > 0
    srv.start()  # recovery runs before the API answers
    try:
        after = srv.get("/api/cameras/cam/recordings")["segments"]
        repaired = [s for s in after if s["start_ms"] == before[0][3]]
        assert len(repaired) == 1 and repaired[0]["status"] == "closed"
        duration = repaired[0]["end_ms"] - repaired[0]["start_ms"]
        # All whole fragments survive: at most the GOP being written (2 s) is lost.
        assert duration >= (t_kill - t_online) * 1000 - 2000 - 1500, duration
        scan = scan_segment(path)
        assert not scan.truncated and scan.fragments
        with av.open(str(path)) as c:
            frames = sum(1 for _ in c.decode(video=0))
        assert abs(frames - duration / 40) <= 2
        # Recording resumed in a new segment.
        wait_for(lambda: len(rows(srv.db)) >= 2, 20, what="a new segment after restart")
    finally:
        srv.stop()
    # No file without a row, no row without a file.
    on_disk = {str(p.relative_to(srv.storage)) for p in srv.storage.rglob("*.mp4")}
    indexed = {r[1] for r in rows(srv.db)}
    assert on_disk == indexed
