"""AAC audio is recorded with the video; `vigil catalog rebuild` recreates the index from the disk alone."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.helpers import Server, running, wait_for


def make_av_file(path: Path, seconds: int = 6) -> None:
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 320, 240, "yuv420p"
        v.codec_context.options = {"x264-params": "keyint=25:min-keyint=25:scenecut=0"}
        a = out.add_stream("aac", rate=16000)
        a.codec_context.layout = "mono"
        for i in range(seconds * 25):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), i % 255, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        samples = np.sin(np.arange(seconds * 16000) * 2 * np.pi * 440 / 16000).astype(np.float32)
        for i in range(0, len(samples), 1024):
            af = av.AudioFrame.from_ndarray(samples[None, i : i + 1024], format="fltp", layout="mono")
            af.sample_rate = 16000
            af.pts = i
            af.time_base = Fraction(1, 16000)
            out.mux(a.encode(af))
        out.mux(v.encode(None))
        out.mux(a.encode(None))


def test_aac_audio_recorded_and_rebuild(tmp: Path) -> None:
    src = tmp / "camera.mp4"
    make_av_file(src)
    srv = Server(tmp, [{"id": "cam", "url": f"file://{src}", "record": {"segment_seconds": 2}}])
    with running(srv):
        wait_for(lambda: len([s for s in srv.get("/api/cameras/cam/recordings")["segments"]
                              if s["status"] == "closed"]) >= 2, 30, what="two closed segments")
    with sqlite3.connect(srv.db) as db:
        before = sorted(db.execute("select path, start_ms, end_ms, codec from segments").fetchall())
    assert before
    with av.open(str(srv.storage / before[0][0])) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in c.decode(audio=0)) > 0
    # Lose the index entirely; rebuild it from the files.
    with sqlite3.connect(srv.db) as db:
        db.execute("delete from segments")
    r = subprocess.run([sys.executable, "-m", "vigil.cli", "catalog", "rebuild", "--config", str(srv.config)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"indexed {len(before)} segment(s)" in r.stdout
    with sqlite3.connect(srv.db) as db:
        after = sorted(db.execute("select path, start_ms, end_ms, codec from segments").fetchall())
    assert [a[0] for a in after] == [b[0] for b in before]
    assert all(a[3] == "h264" for a in after)
    # Durations come from the fragments; start from the name (the row's refined start may differ by < 1 GOP).
    for a, b in zip(after, before, strict=True):
        assert abs((a[2] - a[1]) - (b[2] - b[1])) <= 50
