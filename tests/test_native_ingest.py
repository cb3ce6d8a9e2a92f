"""Native ingest (issue 22): the recorder reading cameras with Vigil's own RTSP client (`ingest: native`) records
what the FFmpeg path records from the same camera — the same NAL units at the same times, sound included — and a
camera the native client cannot read (MJPEG over RTSP from Debian's GStreamer server) is read by FFmpeg, recorded
all the same, with the reason in the camera's state; HTTP-MJPEG is FFmpeg's to read."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from tests.helpers import Server, Sim, free_port, running, wait_for

SECONDS = 14


def recorded(srv: Server, cam: str, kind: str = "video") -> list[tuple[float | None, bytes]]:
    """(wall ms, payload) of every packet of one kind in the camera's closed segments, in order. The time of a
    segment's first sound frame is None: the mp4 muxer puts it at the segment's start (on either path)."""
    with sqlite3.connect(srv.db) as db:
        segs = db.execute("select start_ms, path from segments where camera_id=? and status='closed' "
                          "order by start_ms", (cam,)).fetchall()
    out: list[tuple[float | None, bytes]] = []
    for start_ms, path in segs:
        with av.open(str(srv.storage / path)) as c:
            streams = c.streams.video if kind == "video" else c.streams.audio
            if not streams:
                continue
            s = streams[0]
            first = kind == "audio"
            for p in c.demux(s):
                if p.pts is not None and p.size:
                    # The segment's timeline starts at its first picture, sound included.
                    out.append((None if first else start_ms + float(p.pts * s.time_base) * 1000, bytes(p)))
                    first = False
    return out


def aligned(native: list[tuple[float | None, bytes]], ffmpeg: list[tuple[float | None, bytes]],
            at_least: int) -> int:
    """Both recordings from the first payload they share (with a time on both sides): payload for payload alike
    and the same times from there (within 1 ms); how many were compared."""
    where = {data: i for i, (t, data) in reversed(list(enumerate(ffmpeg))) if t is not None}
    start = next((i for i, (t, data) in enumerate(native) if t is not None and data in where), None)
    assert start is not None, "the two recordings share no packet"
    j = where[native[start][1]]
    n = min(len(native) - start, len(ffmpeg) - j)
    assert n >= at_least, (n, len(native), len(ffmpeg))
    t0n, t0f = native[start][0], ffmpeg[j][0]
    assert t0n is not None and t0f is not None
    for k in range(n):
        (tn, a), (tf, b) = native[start + k], ffmpeg[j + k]
        assert a == b, f"packet {k} from the first shared one differs ({len(a)} against {len(b)} bytes)"
        if tn is not None and tf is not None:
            assert abs((tn - t0n) - (tf - t0f)) <= 1.0, (k, tn - t0n, tf - t0f)
    return n


def sound_to_each_cut(srv: Server, cam: str) -> None:
    """Each segment's sound goes on to its last picture: none is lost at a cut (the cut waits for late sound)."""
    with sqlite3.connect(srv.db) as db:
        paths = [r[0] for r in db.execute("select path from segments where camera_id=? and status='closed' "
                                          "order by start_ms", (cam,))]
    assert len(paths) >= 3, paths
    for path in paths[:-1]:  # the last one ends when the server stops
        ends: dict[str, float] = {}
        with av.open(str(srv.storage / path)) as c:
            for p in c.demux(c.streams.video[0], c.streams.audio[0]):
                if p.size and p.pts is not None:
                    kind = p.stream.type
                    ends[kind] = max(ends.get(kind, 0.0), float(p.pts * p.time_base))
        assert ends["audio"] >= ends["video"] - 0.1, (cam, path, ends)


def test_native_ingest_records_what_the_ffmpeg_path_records(tmp: Path) -> None:
    """H.264 with AAC and H.265, each camera recorded twice at once, natively and through FFmpeg."""
    sim = Sim(tmp, cameras=2, codecs="h264,hevc", size="640x360", scenes=("crossing",), audio=True).start()
    try:
        cams = []
        for i in (1, 2):
            for ingest in ("native", "ffmpeg"):
                cams.append({"id": f"cam{i}-{ingest}", "url": sim.url(i), "ingest": ingest,
                             "record": {"segment_seconds": 4}})
        srv = Server(tmp, cams)
        with running(srv):
            wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 30, what="cameras online")
            states = {c["id"]: c for c in srv.get("/api/cameras")}
            for i, codec in ((1, "h264"), (2, "hevc")):
                ffmpeg = states[f"cam{i}-ffmpeg"]["stream"]
                assert ffmpeg.startswith(codec + " ") and states[f"cam{i}-native"]["stream"] == ffmpeg
            time.sleep(SECONDS)
        for i in (1, 2):
            n = aligned(recorded(srv, f"cam{i}-native"), recorded(srv, f"cam{i}-ffmpeg"), at_least=100)
            print(f"\ncam{i}: {n} pictures alike, NAL for NAL, times within 1 ms")
        for cam in ("cam1-native", "cam1-ffmpeg"):
            sound_to_each_cut(srv, cam)
        sound_n, sound_f = recorded(srv, "cam1-native", "audio"), recorded(srv, "cam1-ffmpeg", "audio")
        assert sound_n, "native ingest recorded no sound"
        n = aligned(sound_n, sound_f, at_least=60)
        print(f"cam1 sound: {n} AAC frames alike")
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def gst_cameras() -> Iterator[int]:
    """Debian's GStreamer RTSP server (`make test` installs it) on a free port: an MJPEG camera (/jpeg) and a live
    H.264 one (/live264), both 10 fps."""
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/python3", str(Path(__file__).with_name("gst_rtsp_server.py")), str(port),
                             "jpeg=10", "live264=10"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "the GStreamer server did not start"
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def mjpeg_rtsp(gst_cameras: int) -> str:
    return f"rtsp://127.0.0.1:{gst_cameras}/jpeg"


def test_cameras_recorded_over_udp(tmp: Path, gst_cameras: int) -> None:
    """`transport: udp`: a third-party camera (GStreamer) recorded with its RTP over UDP, natively and through
    FFmpeg; the camera's stream says so, and a whole segment's pictures decode. Native ingest reads the camera's
    RTCP sender reports (over UDP and over TCP): GStreamer's clock is this machine's, so the camera's clock is in
    step (within 0.1 s of the pictures' arrival, either way: GStreamer stamps the sending, not the capture)."""
    url = f"rtsp://127.0.0.1:{gst_cameras}/live264"
    cams = [{"id": f"udp-{way}", "url": url, "ingest": way, "transport": "udp", "record": {"segment_seconds": 2}}
            for way in ("native", "ffmpeg")]
    tcp = {"id": "tcp-native", "url": url, "ingest": "native", "record": {"segment_seconds": 2}}
    srv = Server(tmp, [*cams, tcp])
    with running(srv):
        def segments() -> bool:
            return all(len(srv.get(f"/api/cameras/{c['id']}/recordings")["segments"]) >= 3 for c in cams)

        wait_for(segments, 40, what="both cameras recorded over UDP")
        clocks = wait_for(lambda: all(c["camera_clock_ms"] is not None for c in srv.get("/api/cameras")
                                      if c["id"].endswith("native")) and srv.get("/api/cameras"),
                          20, what="native ingest's camera clocks from the sender reports")
        print("camera clocks (ms):", {c["id"]: c["camera_clock_ms"] for c in clocks})
        for c in clocks:
            if c["id"].endswith("native"):
                assert -1000 <= c["camera_clock_ms"] <= 500, c
            else:
                assert c["camera_clock_ms"] is None, c  # FFmpeg's demuxer does not tell
        states = {c["id"]: c for c in srv.get("/api/cameras")}
        for c in cams:
            st = states[c["id"]]
            assert st["state"] == "online" and st["stream"] == "h264 640x360 over UDP", st
            with sqlite3.connect(srv.db) as db:
                path = db.execute("select path from segments where camera_id=? and status='closed' order by start_ms "
                                  "limit 1 offset 1", (c["id"],)).fetchone()[0]
            with av.open(str(srv.storage / path)) as f:
                pictures = sum(1 for _ in f.decode(video=0))
            assert pictures >= 15, (c["id"], pictures)  # a whole segment: 2 s at 10 fps, a GOP either way
    assert "Traceback" not in srv.log_text()


def test_what_native_ingest_cannot_read_ffmpeg_records_and_the_state_says_why(tmp: Path, sim: Sim,
                                                                              mjpeg_rtsp: str) -> None:
    cams = [{"id": "jpeg", "url": mjpeg_rtsp, "ingest": "native", "record": {"segment_seconds": 2}},
            {"id": "http", "url": sim.mjpeg_url(1), "ingest": "native", "record": {"segment_seconds": 2}}]
    srv = Server(tmp, cams)
    with running(srv):
        def segments() -> bool:
            return all(len(srv.get(f"/api/cameras/{c}/recordings")["segments"]) >= 2 for c in ("jpeg", "http"))

        wait_for(segments, 40, what="both cameras recorded through FFmpeg")
        states = {c["id"]: c for c in srv.get("/api/cameras")}
        jpeg, http = states["jpeg"], states["http"]
        assert jpeg["state"] == "online" and jpeg["stream"].startswith("mjpeg 320x240"), jpeg
        assert "FFmpeg reads this camera" in jpeg["stream"] and "sends JPEG video" in jpeg["stream"], jpeg
        # HTTP is simply FFmpeg's to read: nothing to explain.
        assert http["state"] == "online" and http["stream"].startswith("mjpeg ") and "(" not in http["stream"], http
    assert "Traceback" not in srv.log_text()
