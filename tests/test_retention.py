"""Retention: pure planning, then the real thing with a quota smaller than the data written."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from tests.helpers import Server, Sim, running, wait_for
from vigil.catalog.rows import SegmentRow
from vigil.recorder.retention import DAY_MS, Policy, Quota, plan_deletions


def seg(i: int, cam: str = "a", size: int = 100, start: int | None = None, status: str = "closed") -> SegmentRow:
    s = start if start is not None else i * 1000
    return SegmentRow(i, cam, s, s + 1000, size, f"{cam}/{i}.mp4", status=status)


def test_age_limit_removes_only_old_segments() -> None:
    now = 10 * DAY_MS
    segs = [seg(1, start=now - 3 * DAY_MS), seg(2, start=now - DAY_MS // 2)]
    plan = plan_deletions(segs, Policy({"a": Quota(max_days=1)}), now, free_bytes=10**12)
    assert [(d.segment.id, d.reason) for d in plan] == [(1, "age")]


def test_quota_removes_oldest_first_per_camera() -> None:
    segs = [seg(i, "a") for i in range(1, 6)] + [seg(10 + i, "b") for i in range(1, 6)]
    plan = plan_deletions(segs, Policy({"a": Quota(max_bytes=250)}), 10**9, free_bytes=10**12)
    assert [d.segment.id for d in plan] == [1, 2, 3]
    assert {d.reason for d in plan} == {"quota"}


def test_disk_floor_overwrites_oldest_across_cameras_never_open() -> None:
    segs = [seg(1, "a", start=0, status="open"), seg(2, "b", start=1), seg(3, "a", start=2), seg(4, "b", start=3)]
    plan = plan_deletions(segs, Policy(min_free_bytes=1000), 10**9, free_bytes=850)
    assert [d.segment.id for d in plan] == [2, 3]
    assert all(d.reason == "disk" for d in plan)


def test_nothing_to_do() -> None:
    segs = [seg(i) for i in range(3)]
    assert plan_deletions(segs, Policy({"a": Quota(max_bytes=10**6, max_days=30)}), 10**6, 10**12) == []


def test_quota_on_a_recording_camera(sim: Sim, tmp: Path) -> None:
    # The sub-stream at 600 kb/s in 2 s segments is ~150 kB a segment; 0.0006 GB keeps about four.
    cams = [{"id": "cam", "url": sim.url(1, sub=True), "record": {"segment_seconds": 2, "max_gb": 0.0006}}]
    srv = Server(tmp, cams)
    with running(srv):
        wait_for(lambda: srv.get("/api/cameras")[0]["state"] == "online", 30, what="camera online")
        first = wait_for(lambda: srv.get("/api/cameras/cam/recordings")["segments"], 15, what="a first segment")[0]
        # About five 2-s segments fill the quota; the oldest must then go.
        wait_for(lambda: first["id"] not in {s["id"] for s in srv.get("/api/cameras/cam/recordings")["segments"]},
                 30, what="the oldest segment to be overwritten")
        time.sleep(2)  # a retention pass (every 1 s) after the newest segment closed
        segs = srv.get("/api/cameras/cam/recordings")["segments"]
        closed = [s for s in segs if s["status"] == "closed"]
        assert sum(s["bytes"] for s in closed) <= 600_000 + max(s["bytes"] for s in closed)
        newest = max(s["start_ms"] for s in segs)
        time.sleep(4)
        assert max(s["start_ms"] for s in srv.get("/api/cameras/cam/recordings")["segments"]) > newest
    with sqlite3.connect(srv.db) as db:
        indexed = {r[0] for r in db.execute("select path from segments")}
    on_disk = {str(p.relative_to(srv.storage)) for p in srv.storage.rglob("*.mp4")}
    assert indexed == on_disk
    assert not (srv.storage / first["url"]).exists()
    # The quota biting is said once, as a warning on the camera.
    with sqlite3.connect(srv.db) as db:
        quota = db.execute("select camera_id, severity, message from events where type = 'disk_quota'").fetchall()
    assert len(quota) == 1 and quota[0][:2] == ("cam", "warning") and "overwritten" in quota[0][2]


def test_storage_gone_raises_disk_alarm(sim: Sim, tmp: Path) -> None:
    cams = [{"id": "cam", "url": sim.url(1, sub=True), "record": {"segment_seconds": 2}}]
    srv = Server(tmp, cams)
    with running(srv):
        wait_for(lambda: srv.get("/api/cameras/cam/recordings")["segments"], 20, what="a first segment")
        # The disk goes away: its mount point is replaced by something that is not a folder.
        shutil.rmtree(srv.storage)
        srv.storage.write_text("not a folder")
        events = wait_for(lambda: srv.get("/api/events", type="disk_missing"), 20, what="a disk_missing event")
        assert str(srv.storage) in events[0]["message"] and events[0]["severity"] == "critical"
        time.sleep(2)
        assert len(srv.get("/api/events", type="disk_missing")) == 1  # raised once, not at every retention pass
        # The camera is still read; recording resumes when the disk returns.
        assert srv.get("/api/cameras")[0]["state"] == "online"
        srv.storage.unlink()
        srv.storage.mkdir()
        wait_for(lambda: list(srv.storage.rglob("*.mp4")), 20, what="recording to resume on the returned disk")
        wait_for(lambda: srv.get("/api/events", type="disk_missing")[0]["end_ms"], 10, what="the alarm to clear")


def test_event_snapshots_go_with_the_recordings() -> None:
    from vigil.recorder.retention import stale_snapshot_days

    day = 86_400_000
    now = 20 * day + 5000  # 1970-01-21
    days = {"a": ["1970-01-18", "1970-01-19", "1970-01-20"], "b": ["1970-01-10", "1970-01-20"], "c": ["1970-01-01"]}
    oldest = {"a": 18 * day + 3_600_000}  # camera a's oldest video is on the 19th
    out = stale_snapshot_days(days, oldest, {"a": None, "b": 5, "c": None}, now)
    # a: before its oldest recording; b: nothing recorded, older than max_days; c: no rule says it may go.
    assert sorted(out) == [("a", "1970-01-18"), ("b", "1970-01-10")]


def test_small_disk_filled_by_recording_then_by_another_program(sim: Sim, tmp: Path) -> None:
    """A small filesystem (tmpfs with a size, mounted by the test: the suite runs as root) holds the video and the
    catalog. Recording alone fills it: Vigil overwrites its oldest video, warns once (disk_full) and keeps recording
    both cameras. Then another program takes the space: Vigil deletes what it can, raises disk_low once when
    nothing is left to delete, keeps recording, and clears the alarm when space returns. Afterwards the catalog
    passes SQLite's integrity check and matches the files one to one, every segment decoding."""
    import os
    import subprocess

    from tests.reliability import check_storage

    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]  # as the Makefile installs packages
    mnt = tmp / "small-disk"
    mnt.mkdir()
    subprocess.run([*sudo, "mount", "-t", "tmpfs", "-o", f"size=28m,uid={os.getuid()},gid={os.getgid()}", "tmpfs",
                    str(mnt)], check=True)
    try:
        cams = [{"id": f"cam{i}", "url": sim.url(i), "record": {"segment_seconds": 2}} for i in (1, 2)]
        srv = Server(tmp, cams, storage={"path": str(mnt / "rec"), "min_free_gb": 0.01},  # floor: ~10 MB free
                     catalog={"url": f"sqlite:///{mnt / 'vigil.db'}"})
        srv.storage, srv.db = mnt / "rec", mnt / "vigil.db"
        with running(srv):
            full = wait_for(lambda: srv.get("/api/events", type="disk_full"), 120, what="the disk to fill")
            assert full[0]["severity"] == "warning" and "overwrites the oldest" in full[0]["message"], full
            first = {c: srv.get(f"/api/cameras/{c}/recordings")["segments"][0]["id"] for c in ("cam1", "cam2")}
            t = time.time() * 1000

            def overwritten_and_recording() -> bool:
                for cam, oldest in first.items():
                    segs = srv.get(f"/api/cameras/{cam}/recordings")["segments"]
                    if segs[0]["id"] == oldest or not [s for s in segs if s["start_ms"] > t + 4000]:
                        return False
                return True

            wait_for(overwritten_and_recording, 60, what="the oldest overwritten and recording going on")
            assert len(srv.get("/api/events", type="disk_full")) == 1  # once, not at every deletion
            assert not srv.get("/api/events", type="disk_low")  # overwriting is not running out

            filler = mnt / "someone-elses-file.bin"

            def hog() -> list[dict[str, object]]:
                """Another program takes whatever Vigil frees, leaving ~4 MB: under the floor, until Vigil has
                nothing old left to delete."""
                with filler.open("ab") as f:
                    f.write(b"\0" * max(0, shutil.disk_usage(mnt).free - 4 * 1024 * 1024))
                return list(srv.get("/api/events", type="disk_low"))

            low = wait_for(hog, 40, interval=0.5, what="a disk_low alarm")
            assert len(low) == 1 and low[0]["severity"] == "critical" and "GB free" in low[0]["message"]
            time.sleep(3)
            assert len(srv.get("/api/events", type="disk_low")) == 1  # once, not at every pass
            assert [c["state"] for c in srv.get("/api/cameras")] == ["online", "online"]  # recording goes on
            filler.unlink()
            wait_for(lambda: srv.get(f"/api/events/{low[0]['id']}")["end_ms"], 20, what="the alarm to clear")
            t = time.time() * 1000
            wait_for(lambda: [s for s in srv.get("/api/cameras/cam1/recordings")["segments"]
                              if s["start_ms"] > t and s["status"] == "closed"], 20, what="recording after the fill")
            assert not srv.get("/api/events", type="disk_error"), srv.get("/api/events", type="disk_error")
        with sqlite3.connect(srv.db) as c:
            assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
        figures = check_storage(srv, set())
        assert figures["segments"] >= 4 and figures["decoded_frames"] > 0, figures
    finally:
        subprocess.run([*sudo, "umount", "-l", str(mnt)], check=False)


def test_a_pass_reads_only_candidates_and_deletes_what_a_plan_over_every_row_would(tmp_path: Path) -> None:
    """A month of rows is too many to read every pass: `Retention` reads the oldest of each camera past its age or
    over its quota. On a real catalog and real files it deletes exactly what the plan over every row deletes."""
    import types

    from vigil.catalog.store import Catalog
    from vigil.recorder.retention import CANDIDATES, Retention

    catalog = Catalog(f"sqlite:///{tmp_path / 'v.db'}")
    catalog.migrate()
    storage = tmp_path / "rec"
    now = int(time.time() * 1000)
    rows = []
    for cam in ("a", "b", "c"):  # a: kept 2 days; b: 300 kB; c: no limit
        for i in range(400):
            start = now - (400 - i) * 600_000 + 300_000  # 10-minute segments over ~2.8 days, none ending at 2 days
            path = f"{cam}/{i}.mp4"
            (storage / cam).mkdir(parents=True, exist_ok=True)
            (storage / path).write_bytes(b"x")
            rows.append(SegmentRow(0, cam, start, start + 600_000, 1000, path))
    for r in rows:
        catalog.add_segment(r, [(0, 0)])
    every = catalog.segments()
    quotas = {"a": Quota(max_days=2), "b": Quota(max_bytes=300_000), "c": Quota()}
    expected = {d.segment.path for d in plan_deletions(every, Policy(quotas), now, free_bytes=10**15)}
    assert 0 < len(expected) < CANDIDATES

    def cam(i: str, days: float | None, gb: float | None) -> object:
        return types.SimpleNamespace(id=i, record=types.SimpleNamespace(max_days=days, max_gb=gb))

    r = Retention(catalog, storage, lambda: [cam("a", 2, None), cam("b", None, 300_000 / 1e9), cam("c", None, None)],
                  0, 0)
    deleted = {d.segment.path for d in r.run_once()}
    assert deleted == expected
    left = {s.path for s in catalog.segments()}
    assert left == {s.path for s in every} - expected
    assert {str(p.relative_to(storage)) for p in storage.rglob("*.mp4")} == left
    assert r.run_once() == []  # nothing more to do
