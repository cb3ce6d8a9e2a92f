"""A JPEG of the frame nearest an instant, decoded from the one GOP that holds it."""

from __future__ import annotations

import io
from typing import Any

import av
import cv2
import numpy as np

from vigil.errors import NotFoundError
from vigil.media.playback import FragmentRef, fragment_bytes, fragments_of, read_init
from vigil.media.segment_files import SegmentFiles


def _gop_bytes(files: SegmentFiles, frag: FragmentRef) -> bytes:
    return read_init(files, frag.segment) + fragment_bytes(files, frag, frag.wall_ms, 1)


def nearest_frame(files: SegmentFiles, frag: FragmentRef, at_ms: int | None) -> tuple[np.ndarray, int]:
    """(BGR picture, its wall time) of the frame nearest `at_ms` in the fragment; the last one if None."""
    best: tuple[np.ndarray, int] | None = None
    c: Any = av.open(io.BytesIO(_gop_bytes(files, frag)), format="mp4")
    with c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            if frame.pts is None:
                continue
            wall = frag.wall_ms + round(float(frame.pts * stream.time_base) * 1000)
            if at_ms is None or best is None or abs(wall - at_ms) < abs(best[1] - at_ms):
                best = (frame.to_ndarray(format="bgr24"), wall)
            elif wall > at_ms:
                break
    if best is None:
        raise NotFoundError("the recording at that instant holds no decodable frame")
    return best


def to_jpeg(img: np.ndarray, width: int | None = None, quality: int = 85) -> bytes:
    if width and width < img.shape[1]:
        height = round(img.shape[0] * width / img.shape[1])
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(data.tobytes())


LAST_PICTURE_MS = 5000  # how long before an instant with no recording its last picture still answers for it


def picture_at(catalog: Any, files: SegmentFiles, camera_id: str, at_ms: int | None, now_ms: int
               ) -> tuple[np.ndarray, int] | None:
    """The recorded picture of a camera nearest an instant (the latest when at_ms is None, within the last hour),
    with its wall time; at an instant just after a recording ended (up to LAST_PICTURE_MS), its last picture;
    None when nothing was recorded then."""
    target = at_ms if at_ms is not None else now_ms
    segs = catalog.segments(camera_id, target - 3_600_000, target)
    frags = [f for s in segs if files.readable(s) for f in fragments_of(files, s)]
    if at_ms is not None:
        covering = [f for f in frags if f.wall_ms <= at_ms < f.wall_ms + max(f.duration_ms, 1)]
        # Nothing at that instant but a recording that ended just before it (an event of a camera going offline
        # comes as its last picture arrives or a moment later): that last picture.
        frags = covering or [f for f in frags if at_ms - LAST_PICTURE_MS <= f.wall_ms + f.duration_ms <= at_ms]
    if not frags:
        return None
    return nearest_frame(files, max(frags, key=lambda f: f.wall_ms), at_ms)
