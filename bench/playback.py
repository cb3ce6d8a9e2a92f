"""Playback benchmark: time to first byte and to first decoded frame at random instants of a day of
recordings, timeline query time, and export speed beside `cp` of the same bytes (the floor).

Usage: python bench/playback.py [--samples 50]
A day of 60 s 1080p H.264 segments is made from one real segment (hard links), indexed in a real
catalog, and served by a real `vigil serve`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers import Server
from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.layout import segment_path
from vigil.media.fmp4 import scan_segment
from vigil.sim.encode import StreamSpec, loop_clip

DAY_MS = 86_400_000
SEG_MS = 60_000


def make_segment(path: Path, seconds: int = 60) -> None:
    """A 60 s fMP4 segment, as the recorder writes it, from the sim's pre-encoded 1080p clip."""
    clip = loop_clip(StreamSpec(1920, 1080, 25, 2.0, "h264", 4_000_000), 10.0, "SIM H264")
    params = clip.params
    with av.open(str(path), "w", format="mp4",
                 options={"movflags": "empty_moov+default_base_moof+frag_keyframe"}) as out:
        st = out.add_stream("h264", rate=25)
        st.width, st.height = 1920, 1080
        st.codec_context.extradata = b"".join(b"\x00\x00\x00\x01" + params[k] for k in ("sps", "pps"))
        st.time_base = Fraction(1, 90000)
        for i in range(seconds * 25):
            f = clip.frames[i % len(clip.frames)]
            pkt = av.Packet(b"".join(b"\x00\x00\x00\x01" + n for n in f.nals))
            pkt.stream, pkt.time_base = st, Fraction(1, 90000)
            pkt.pts = pkt.dts = i * 3600
            pkt.duration = 3600
            pkt.is_keyframe = f.keyframe
            out.mux(pkt)


def build_day(tmp: Path, day_start: int) -> Path:
    storage = tmp / "rec"
    seed = tmp / "seed.mp4"
    make_segment(seed)
    scan = scan_segment(seed)
    cat = Catalog(f"sqlite:///{tmp / 'vigil.db'}")
    cat.migrate()
    for i in range(DAY_MS // SEG_MS):
        start = day_start + i * SEG_MS
        path = segment_path(storage, "bench", start)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.hardlink_to(seed)
        cat.add_segment(SegmentRow(0, "bench", start, start + scan.duration_ms, scan.file_size,
                                   str(path.relative_to(storage)), "h264", 1920, 1080), scan.keyframes_ms())
    cat.close()
    return storage


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=50)
    args = ap.parse_args()
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        day_start = (int(time.time() * 1000) // DAY_MS - 2) * DAY_MS
        t = time.monotonic()
        storage = build_day(tmp, day_start)
        print(f"built a day of 1440 x 60 s 1080p segments in {time.monotonic() - t:.1f} s")
        srv = Server(tmp, [{"id": "bench", "url": "rtsp://127.0.0.1:9/none", "enabled": False}])
        srv.start()
        try:
            c = httpx.Client(base_url=srv.base, headers=srv.headers, timeout=60)
            auth = "".join(f"{k}: {v}\r\n" for k, v in srv.headers.items())
            ttfb, first_frame, timeline = [], [], []
            for _ in range(args.samples):
                at = day_start + rnd.randrange(DAY_MS - SEG_MS)
                t0 = time.perf_counter()
                with c.stream("GET", "/api/cameras/bench/playback.mp4", params={"start": at, "end": at + SEG_MS}) as r:
                    next(r.iter_bytes())
                    ttfb.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                with av.open(f"{srv.base}/api/cameras/bench/playlist.m3u8?start={at}&end={at + SEG_MS}",
                             options={"headers": auth}) as hls:
                    next(hls.decode(video=0))
                first_frame.append((time.perf_counter() - t0) * 1000)
            for _ in range(20):
                t0 = time.perf_counter()
                c.get("/api/cameras/bench/timeline", params={"start": day_start, "end": day_start + DAY_MS})
                timeline.append((time.perf_counter() - t0) * 1000)
            print(f"playback.mp4 time to first byte, median of {args.samples}: {statistics.median(ttfb):.1f} ms")
            print(f"HLS time to first decoded 1080p frame, median of {args.samples}: "
                  f"{statistics.median(first_frame):.1f} ms   (goal < 300 ms)")
            print(f"timeline of a day (1440 segments), median of 20: {statistics.median(timeline):.1f} ms"
                  "   (goal < 50 ms)")

            # Export 1 h beside cp of the same 60 files.
            hour = day_start + 6 * 3_600_000
            out = tmp / "export"
            t0 = time.perf_counter()
            job = c.post("/api/exports", json={"cameras": ["bench"], "start": str(hour), "end": str(hour + 3_600_000),
                                               "target": {"type": "folder", "path": str(out)}}).json()
            while (job := c.get(f"/api/exports/{job['id']}").json())["status"] in ("queued", "running"):
                time.sleep(0.05)
            export_s = time.perf_counter() - t0
            files = sorted(p for p in storage.rglob("*.mp4")
                           if hour <= int(p.stem) < hour + 3_600_000)
            dest = tmp / "cp"
            dest.mkdir()
            t0 = time.perf_counter()
            subprocess.run(["cp", *map(str, files), str(dest)], check=True)
            subprocess.run(["sync"], check=True)
            cp_s = time.perf_counter() - t0
            rec_s = len(files) * SEG_MS / 1000
            print(f"export of 1 h ({job['bytes_done'] / 1e6:.0f} MB, fsynced): {rec_s / export_s:.0f} recorded-s/s; "
                  f"cp + sync of the same {len(files)} files: {rec_s / cp_s:.0f} recorded-s/s; "
                  f"ratio {cp_s / export_s:.2f}   (goal >= 0.5)")
        finally:
            srv.stop()
            shutil.rmtree(tmp / "rec", ignore_errors=True)


if __name__ == "__main__":
    main()
