"""Transcoding benchmark: CPU per second of video for Vigil's H.265 → H.264 renditions — live (one transcoder per
camera, all its viewers) and playback (a recording, fragment by fragment) — beside `ffmpeg -c:v libx264` with the
same preset, tune and CRF on the same input, in the same run.

Usage: python bench/transcode.py [--seconds 10] [--size 1920x1080]
The input is an H.265 clip made by ffmpeg's own test source (libx265); both sides decode it and encode
per-frame fragmented MP4 as fast as they can, so CPU seconds per video second compare the work, not the pacing.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vigil.catalog.rows import SegmentRow
from vigil.media.playback import Plan, fragments_of
from vigil.media.playback_transcode import H264Playback
from vigil.media.segment_files import SegmentFiles
from vigil.media.transcode import X264_OPTIONS, TranscodedStream


class Viewer:
    """A viewer that takes every fragment and sends it nowhere."""

    started = False

    def put(self, data: bytes | None) -> None:
        pass


def make_clip(path: Path, size: str, seconds: int) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
                    "-t", str(seconds), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
                    "-g", "50", str(path)], check=True)


def vigil_cpu(clip: Path) -> tuple[float, int]:
    """CPU seconds the transcoder takes for the whole clip, and the pictures it encoded."""
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        t = TranscodedStream("bench", 2160)
        t.open(stream)
        t.subscribers.add(Viewer())  # type: ignore[arg-type]
        c0 = time.process_time()
        for packet in c.demux(stream):
            if packet.size:
                t.feed(packet)
        cpu = time.process_time() - c0
        t.close()
        return cpu, t.frames


def playback_cpu(clip: Path, storage: Path) -> tuple[float, int]:
    """CPU seconds Vigil takes to stream the clip, recorded as Vigil records (fMP4, one fragment per GOP), as an
    H.264 rendition with an empty cache, and the bytes it sent."""
    seg_path = storage / "bench" / "segment.mp4"
    seg_path.parent.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(clip), "-c", "copy", "-f", "mp4", "-movflags",
                    "empty_moov+default_base_moof+frag_keyframe", str(seg_path)], check=True)
    with av.open(str(clip)) as c:
        cc = c.streams.video[0].codec_context
        seg = SegmentRow(1, "bench", 0, 0, seg_path.stat().st_size, "bench/segment.mp4", cc.name, cc.width, cc.height)
    files = SegmentFiles(storage)
    frags = fragments_of(files, seg)
    plan = Plan("bench", frags, frags[0].wall_ms, frags[-1].wall_ms + frags[-1].duration_ms)
    player = H264Playback(files, 2160, 1, cache_bytes=0)
    c0 = time.process_time()
    _, body = player.open(plan)
    sent = sum(len(chunk) for chunk in body)
    return time.process_time() - c0, sent


def ffmpeg_cpu(clip: Path, movflags: str = "empty_moov+default_base_moof+frag_every_frame") -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(clip), "-c:v", "libx264",
                    "-preset", X264_OPTIONS["preset"], "-tune", X264_OPTIONS["tune"], "-crf", X264_OPTIONS["crf"],
                    "-f", "mp4", "-movflags", movflags, "/dev/null"],
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--size", default="1920x1080")
    a = ap.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("bench needs the ffmpeg command for its reference: apt-get install -y ffmpeg (make bench does it)")
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        make_clip(clip, a.size, a.seconds)
        ours, frames = vigil_cpu(clip)
        ref = ffmpeg_cpu(clip)
        storage = Path(tmp) / "rec"
        play, sent = playback_cpu(clip, storage)
        play_ref = ffmpeg_cpu(clip, "empty_moov+default_base_moof+frag_keyframe")
    print(f"H.265 {a.size} → H.264 live rendition, {a.seconds} s of 25 fps video ({frames} pictures encoded):")
    print(f"  Vigil    {ours / a.seconds:.3f} CPU-s per video second ({ours / a.seconds * 100:.0f} % of one core "
          "per transcoded camera, all its viewers together)")
    print(f"  ffmpeg   {ref / a.seconds:.3f} CPU-s per video second (-c:v libx264 -preset {X264_OPTIONS['preset']} "
          f"-tune {X264_OPTIONS['tune']} -crf {X264_OPTIONS['crf']})")
    print(f"  ratio    {ours / ref:.2f}× ffmpeg (goal ≤ 1.1×)")
    print(f"H.265 {a.size} recording → H.264 playback rendition, each GOP on its own, empty cache ({sent} bytes):")
    print(f"  Vigil    {play / a.seconds:.3f} CPU-s per video second ({a.seconds / play:.1f}× real time on one core)")
    print(f"  ffmpeg   {play_ref / a.seconds:.3f} CPU-s per video second (same options, one fragment per GOP)")
    print(f"  ratio    {play / play_ref:.2f}× ffmpeg (goal ≤ 1.1×)")


if __name__ == "__main__":
    main()
