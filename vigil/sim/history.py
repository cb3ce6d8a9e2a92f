"""Recorded history on demand: an hour (or a day) of a small sim camera written as real segment files and
indexed, in seconds instead of an hour, for playback tests and benchmarks.

Frames are encoded once (H.264, tiny, low frame rate, the wall clock burned in), demuxed, and cut into segments
by Vigil's own SegmentWriter, then indexed as `vigil catalog rebuild` would index them.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import cv2
import numpy as np

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.layout import segment_path
from vigil.media.segmenter import SegmentWriter
from vigil.recorder.recovery import index_file


def _encode(start_ms: int, seconds: int, fps: int, size: tuple[int, int]) -> bytes:
    w, h = size
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mpegts") as out:
        s = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "tune": "zerolatency"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = fps * 2
        base = np.full((h, w, 3), (70, 90, 60), np.uint8)
        for i in range(seconds * fps):
            img = base.copy()
            wall = start_ms / 1000 + i / fps
            x = int((i * 3) % w)
            cv2.rectangle(img, (x, h // 2), (x + 8, h // 2 + 16), (40, 40, 200), -1)
            cv2.putText(img, time.strftime("%H:%M:%S", time.gmtime(wall)), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 1)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return buf.getvalue()


def write_history(catalog: Catalog, storage: Path, camera: str, start_ms: int, seconds: int,
                  segment_seconds: int = 60, fps: int = 2, size: tuple[int, int] = (160, 90)) -> list[SegmentRow]:
    """Writes and indexes `seconds` of recording from `start_ms`; returns the segment rows."""
    data = _encode(start_ms, seconds, fps, size)
    rows: list[SegmentRow] = []
    paths: list[Path] = []
    with av.open(io.BytesIO(data), mode="r", format="mpegts") as src:
        video = src.streams.video[0]
        writer: SegmentWriter | None = None
        seg_start = 0.0
        for packet in src.demux(video):
            if packet.pts is None:
                continue
            t = float(packet.pts * packet.time_base)
            if writer is None or (packet.is_keyframe and t - seg_start >= segment_seconds):
                if writer is not None:
                    writer.close()
                t0 = t if writer is not None else 0.0
                seg_start = t0
                path = segment_path(storage, camera, start_ms + round(t0 * 1000))
                writer = SegmentWriter(path, video, None, fsync=False)
                paths.append(path)
            writer.write(packet)
        if writer is not None:
            writer.close()
    for path in paths:
        row = index_file(catalog, storage, path)
        if row is not None:
            rows.append(row)
    return rows
