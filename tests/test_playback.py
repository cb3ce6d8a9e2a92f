"""Playback, snapshots, export, tags, timeline and bad input, against half a minute of real recordings of
three live-encoded sim cameras whose pictures carry their wall-clock time as a barcode."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest

from tests.helpers import Server, Sim, free_port, wait_for
from vigil.sim.barcode import read_code

FPS = 10
FRAME_MS = 1000 // FPS
GOP_MS = 2000
WINDOW_MS = 26_000  # more than two 10-s segments: it spans at least two boundaries


@dataclass
class Recorded:
    sim: Sim
    srv: Server
    start_ms: int  # a window of WINDOW_MS fully recorded on all three cameras
    tmp: Path

    @property
    def end_ms(self) -> int:
        return self.start_ms + WINDOW_MS


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    tmp = tmp_path_factory.mktemp("playback")
    sim = Sim(tmp, cameras=4, codecs="h264", size="640x360", sub="none", live="all", fps=FPS)
    sim.start()
    cams = [{"id": f"cam{i}", "url": sim.url(i), "record": {"segment_seconds": 10}} for i in (1, 2, 3)]
    srv = Server(tmp, cams)
    srv.start()
    try:
        wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 30, what="cameras online")

        def first_segments() -> list[Any] | None:
            segs = [srv.get(f"/api/cameras/cam{i}/recordings")["segments"] for i in (1, 2, 3)]
            return segs if all(segs) else None

        start = max(segs[0]["start_ms"] for segs in wait_for(first_segments, 20, what="first segments")) + 1000
        time.sleep(max(0.0, (start + WINDOW_MS + 3000) / 1000 - time.time()))
        yield Recorded(sim, srv, start, tmp)
    finally:
        srv.stop()
        sim.stop()


def frames_with_codes(container: Any) -> list[int]:
    return [read_code(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]


def check_continuous(codes: list[int], start_ms: int, end_ms: int) -> None:
    steps = np.diff(codes)
    assert (steps > 0).all(), "a frame repeats or goes back"
    assert steps.max() <= FRAME_MS * 1.6, f"a gap of {steps.max()} ms"
    assert start_ms - GOP_MS - FRAME_MS <= codes[0] <= start_ms + FRAME_MS, (codes[0], start_ms)
    assert end_ms - FRAME_MS * 2 <= codes[-1] <= end_ms + GOP_MS + FRAME_MS, (codes[-1], end_ms)


def test_hls_across_segments(rec: Recorded) -> None:
    srv = rec.srv
    segs = srv.get("/api/cameras/cam1/recordings", start=rec.start_ms, end=rec.end_ms)["segments"]
    assert len(segs) >= 3  # 10 s segments: the window spans at least two boundaries
    url = f"{srv.base}/api/cameras/cam1/playlist.m3u8?start={rec.start_ms}&end={rec.end_ms}"
    text = httpx.get(url, headers=srv.headers).text
    assert text.startswith("#EXTM3U") and "#EXT-X-MAP" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
    auth = "".join(f"{k}: {v}\r\n" for k, v in srv.headers.items())
    with av.open(url, options={"headers": auth}) as c:
        codes = frames_with_codes(c)
    # The barcode is the camera's capture time; recording time is arrival time, a few ms later.
    check_continuous(codes, rec.start_ms, rec.end_ms)
    assert abs(len(codes) - WINDOW_MS / FRAME_MS) <= 2 * GOP_MS / FRAME_MS + 2


def test_playback_mp4_full_and_range(rec: Recorded) -> None:
    srv = rec.srv
    params = {"start": rec.start_ms, "end": rec.start_ms + 24_000}
    with srv.client() as c:
        full = c.get("/api/cameras/cam2/playback.mp4", params=params)
        assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
        assert int(full.headers["content-length"]) == len(full.content)
        part = c.get("/api/cameras/cam2/playback.mp4", params=params, headers={"Range": "bytes=1000-4999"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000-4999/{len(full.content)}"
        assert part.content == full.content[1000:5000]
        tail = c.get("/api/cameras/cam2/playback.mp4", params=params, headers={"Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == full.content[-100:]
        bad = c.get("/api/cameras/cam2/playback.mp4", params=params, headers={"Range": f"bytes={10**12}-"})
        assert bad.status_code == 416
    with av.open(io.BytesIO(full.content)) as mp4:
        stream = mp4.streams.video[0]
        frames = list(mp4.decode(stream))
        duration_ms = float((frames[-1].pts - frames[0].pts) * stream.time_base) * 1000 + FRAME_MS
    assert abs(duration_ms - 24_000) <= GOP_MS + FRAME_MS
    codes = [read_code(f.to_ndarray(format="bgr24")) for f in frames]
    check_continuous(codes, rec.start_ms, rec.start_ms + 24_000)


def test_instant_playback_of_the_open_segment(rec: Recorded) -> None:
    srv = rec.srv
    url = f"{srv.base}/api/cameras/cam3/playlist.m3u8"
    auth = "".join(f"{k}: {v}\r\n" for k, v in srv.headers.items())
    now = time.time() * 1000
    with av.open(url, options={"headers": auth}) as c:
        codes = frames_with_codes(c)
    assert codes[-1] >= now - 4000  # the last whole GOP of the segment being written
    assert codes[0] <= now - 25_000


def test_snapshot_shows_the_instant(rec: Recorded) -> None:
    srv = rec.srv
    with srv.client() as c:
        for at in (rec.start_ms + 10_000, rec.start_ms + 18_456, rec.end_ms - 5_000):
            r = c.get("/api/cameras/cam1/snapshot.jpg", params={"at": at})
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
            assert abs(read_code(img) - at) <= FRAME_MS + 150, (read_code(img), at)
        small = c.get("/api/cameras/cam1/snapshot.jpg", params={"width": 320})
        img = cv2.imdecode(np.frombuffer(small.content, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[1] == 320
        assert read_code(img) >= time.time() * 1000 - 5000  # latest: from the open segment


def test_snapshot_just_after_a_recording_ended_is_its_last_picture(rec: Recorded) -> None:
    """A camera-offline event comes as the last picture arrives or a moment later: its thumbnail (a snapshot at
    the event's instant) is the last picture recorded, up to 5 s after it; later, nothing."""
    srv = rec.srv
    with srv.client() as c:
        cam = {"id": "brief", "url": rec.sim.url(4), "record": {"segment_seconds": 2}}
        assert c.post("/api/cameras", json=cam).status_code == 201
        wait_for(lambda: len(srv.get("/api/cameras/brief/recordings")["segments"]) >= 2, 30, what="segments")
        assert c.patch("/api/cameras/brief", json={"enabled": False}).status_code == 200
        wait_for(lambda: all(s["status"] == "closed" for s in srv.get("/api/cameras/brief/recordings")["segments"]),
                 15, what="the last segment closed")
        end = max(s["end_ms"] for s in srv.get("/api/cameras/brief/recordings")["segments"])
        r = c.get("/api/cameras/brief/snapshot.jpg", params={"at": end + 2000})
        assert r.status_code == 200, r.text
        shown = int(r.headers["X-Frame-Time-Ms"])
        assert end - 2 * FRAME_MS <= shown <= end, (shown, end)
        assert c.get("/api/cameras/brief/snapshot.jpg", params={"at": end + 8000}).status_code == 404


def test_export_three_cameras_to_folder_and_s3(rec: Recorded) -> None:
    from moto.server import ThreadedMotoServer

    srv = rec.srv
    window = {"start": str(rec.start_ms), "end": str(rec.end_ms)}
    out = rec.tmp / "usb"
    with srv.client() as c:
        r = c.post("/api/exports", json={"cameras": ["cam1", "cam2", "cam3"], **window,
                                         "target": {"type": "folder", "path": str(out)}})
        assert r.status_code == 202, r.text
        job = wait_for(lambda: (j := c.get(f"/api/exports/{r.json()['id']}").json())["status"] == "done" and j,
                       60, what="folder export")
    assert job["percent"] == 100 and job["bytes_done"] == job["bytes_total"] > 0
    files = sorted(out.glob("*.mp4"))
    assert [f.name.split("_")[0] for f in files] == ["cam1", "cam2", "cam3"]
    for f in files:
        with av.open(str(f)) as mp4:
            s = mp4.streams.video[0]
            pts = [fr.pts for fr in mp4.decode(s)]
            assert abs(float((pts[-1] - pts[0]) * s.time_base) * 1000 + FRAME_MS - WINDOW_MS) <= 2 * GOP_MS

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        import boto3

        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")
        s3.create_bucket(Bucket="nvr")
        target = {"type": "s3", "bucket": "nvr", "prefix": "exports", "endpoint_url": endpoint,
                  "access_key": "k", "secret_key": "s"}
        with srv.client() as c:
            r = c.post("/api/exports", json={"cameras": ["cam1", "cam2", "cam3"], **window, "target": target})
            assert r.status_code == 202, r.text
            job = wait_for(lambda: (j := c.get(f"/api/exports/{r.json()['id']}").json())["status"] != "running"
                           and j["status"] != "queued" and j, 60, what="S3 export")
        assert job["status"] == "done", job
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="nvr")["Contents"])
        assert len(keys) == 3 and all(k.startswith("exports/cam") for k in keys)
        body = s3.get_object(Bucket="nvr", Key=keys[0])["Body"].read()
        assert body == (out / Path(keys[0]).name).read_bytes()
    finally:
        moto.stop()


def test_export_progress_goes_from_0_to_100(rec: Recorded) -> None:
    from vigil.catalog.store import Catalog
    from vigil.media.export import Exporter, ExportJob, FolderTarget, SegmentHolds
    from vigil.media.segment_files import SegmentFiles

    cat = Catalog(f"sqlite:///{rec.srv.db}")
    holds = SegmentHolds()
    seen: list[float] = []
    held_during: list[set[int]] = []

    def progress(job: ExportJob) -> None:
        seen.append(job.percent)
        if len(held_during) < 1:
            held_during.append(holds.ids())

    job = Exporter(cat, SegmentFiles(rec.srv.storage, cat), holds).run(
        ["cam1"], rec.start_ms, rec.end_ms, FolderTarget(rec.tmp / "cli-export"), progress)
    assert job.status == "done"
    assert seen[0] < 10 and seen[-1] == 100 and seen == sorted(seen)
    assert held_during[0], "segments are held from retention while they are exported"
    assert not holds.ids(), "and released after"
    cat.close()


def test_tags_and_tag_playback(rec: Recorded) -> None:
    with rec.srv.client() as c:
        at = rec.start_ms + 20_000
        r = c.post("/api/tags", json={"camera": "cam2", "at": str(at), "text": "Delivery van at the gate"})
        assert r.status_code == 201
        tag = r.json()
        assert [t["id"] for t in c.get("/api/tags", params={"q": "van"}).json()] == [tag["id"]]
        assert c.get("/api/tags", params={"q": "bicycle"}).json() == []
        play = c.get(tag["playlist"], follow_redirects=True)
        assert play.status_code == 200 and "#EXTINF" in play.text
        assert c.delete(f"/api/tags/{tag['id']}").status_code == 204
        assert c.delete(f"/api/tags/{tag['id']}").status_code == 404
        assert c.post("/api/tags", json={"camera": "nope", "at": str(at), "text": "x"}).status_code == 404


def test_timeline_ranges_and_gaps(rec: Recorded) -> None:
    t = rec.srv.get("/api/cameras/cam1/timeline", start=rec.start_ms - 600_000, end=rec.end_ms)
    assert t["ranges"] and t["gaps"]
    assert t["gaps"][0]["start_ms"] == rec.start_ms - 600_000  # nothing was recorded ten minutes before
    r0 = t["ranges"][0]
    assert r0["start_ms"] <= rec.start_ms and r0["end_ms"] >= rec.end_ms


def test_bad_input_gets_4xx_with_a_message(rec: Recorded) -> None:
    s, e = rec.start_ms, rec.end_ms
    cases = [
        ("GET", "/api/cameras/cam1/playback.mp4", {"start": e, "end": s}, 422, "before"),
        ("GET", "/api/cameras/cam1/playlist.m3u8", {"start": "noon-ish", "end": e}, 422, "ISO-8601"),
        ("GET", "/api/cameras/ghost/playlist.m3u8", {"start": s, "end": e}, 404, "GET /api/cameras"),
        ("GET", "/api/cameras/cam1/playback.mp4", {"start": s - 10**9, "end": s - 10**9 + 60_000}, 404,
         "no recording"),
        ("GET", "/api/cameras/cam1/snapshot.jpg", {"at": s - 10**9}, 404, "no recording"),
        ("GET", "/api/cameras/cam1/timeline", {"start": "2026-13-45"}, 422, "ISO-8601"),
        ("GET", "/api/segments/999999/init.mp4", {}, 404, "no segment"),
        ("GET", "/api/segments/1/fragments/9999.m4s", {}, 404, "fragment"),
        ("GET", "/api/exports/nope", {}, 404, "no export"),
    ]
    with rec.srv.client() as c:
        for method, path, params, status, words in cases:
            r = c.request(method, path, params=params)
            assert r.status_code == status, (path, params, r.status_code, r.text)
            assert words in r.json()["detail"], (path, r.json())
        r = c.post("/api/exports", json={"cameras": ["cam1"], "start": str(s), "end": str(e),
                                         "target": {"type": "folder", "path": "relative/dir"}})
        assert r.status_code == 422 and "absolute" in r.json()["detail"]
        r = c.post("/api/exports", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422


def test_cameras_at_run_time(rec: Recorded) -> None:
    with rec.srv.client() as c:
        body = {"id": "door", "name": "Door", "url": rec.sim.url(4), "record": {"segment_seconds": 4}}
        r = c.post("/api/cameras", json=body)
        assert r.status_code == 201 and r.json()["source"] == "api"
        assert c.post("/api/cameras", json=body).status_code == 409
        wait_for(lambda: c.get("/api/cameras/door").json()["state"] == "online", 20, what="new camera online")
        wait_for(lambda: c.get("/api/cameras/door/recordings").json()["segments"], 20, what="it records")
        r = c.put("/api/cameras/door", json={**body, "enabled": False})
        assert r.status_code == 200 and r.json()["state"] == "disabled"
        assert c.put("/api/cameras/cam1", json={"url": "rtsp://x/y"}).status_code == 409  # defined in vigil.yml
        r = c.post("/api/cameras", json={"id": "Bad Id", "url": "ftp://x"})
        assert r.status_code == 422 and "camera id" in r.json()["detail"]
        assert c.delete("/api/cameras/door").status_code == 204
        assert c.get("/api/cameras/door").status_code == 404
        assert c.delete("/api/cameras/door").status_code == 404



def test_cli_export_with_progress(rec: Recorded) -> None:
    import subprocess
    import sys

    out = rec.tmp / "cli-usb"
    r = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "export", "--config", str(rec.srv.config), "--camera", "cam3",
         "--start", str(rec.start_ms), "--end", str(rec.start_ms + 20_000), "--to", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    files = list(out.glob("cam3_*.mp4"))
    assert len(files) == 1 and str(files[0]) in r.stdout
    with av.open(str(files[0])) as mp4:
        assert sum(1 for _ in mp4.decode(video=0)) >= 20_000 / FRAME_MS - 1
    r = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "export", "--config", str(rec.srv.config), "--camera", "cam3",
         "--start", "2001-01-01T00:00:00Z", "--end", "2001-01-01T00:01:00Z", "--to", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode != 0 and "no recording" in r.stderr


def test_transcoded_fragment_cache_keeps_the_newest_within_its_budget() -> None:
    from vigil.media.playback_transcode import FragmentCache, H264Fragment, codecs_of

    cache = FragmentCache(max_bytes=250)
    made = [H264Fragment(b"", bytes(100), 90_000, 50) for _ in range(4)]
    cache.put((1, 0, 100, 720), made[0])
    cache.put((1, 100, 100, 720), made[1])
    assert cache.get((1, 0, 100, 720)) is made[0]  # now the most recently used
    cache.put((1, 200, 100, 720), made[2])  # over budget: the least recently used goes
    assert cache.get((1, 100, 100, 720)) is None and cache.get((1, 0, 100, 720)) is made[0]
    cache.put((2, 0, 1000, 720), H264Fragment(b"", bytes(1000), 90_000, 50))  # larger than the budget: not kept
    assert cache.get((2, 0, 1000, 720)) is None and cache.get((1, 200, 100, 720)) is made[2]
    assert codecs_of(b"\0\0\0\x10avcC\x01\x64\x00\x1f\xff") == "avc1.64001f"
