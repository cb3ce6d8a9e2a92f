"""Face tracks and their best shot: sightings of one face over consecutive analysed frames are one track
(ByteTrack on the face boxes, the same tracker as for bodies); each track keeps only its best sighting and is
decided once — recognised, or a stranger — when it has been followed long enough or leaves the picture.
One track, one decision: a face is not an event per frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vigil.analytics.detector import Detection
from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.quality import quality
from vigil.analytics.tracker import Tracker

CROP_MARGIN = 0.6  # the best shot keeps the face and this much of its size around it (for alignment, the snapshot)


@dataclass
class FaceSample:
    t_ms: int
    quality: float
    crop: np.ndarray  # BGR, the face with a margin
    face: FaceBox  # relative to the crop
    frame_box: tuple[float, float, float, float]  # normalised, in the analysed picture


@dataclass
class FaceTrack:
    id: int
    first_ms: int
    last_ms: int
    sightings: int = 0
    best: FaceSample | None = None
    decided: bool = False


@dataclass
class FaceTracks:
    decide_after_ms: int = 2500  # a face followed this long is recognised from its best shot so far
    lost_ms: int = 1500
    tracks: dict[int, FaceTrack] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tracker = Tracker(lost_seconds=self.lost_ms / 1000, keep_seconds=self.lost_ms / 1000, min_hits=1,
                                stitch_distance=0.05)

    def update(self, t_ms: int, image: np.ndarray, faces: list[FaceBox]) -> list[FaceTrack]:
        """Adds this frame's faces; returns the tracks to decide now (each exactly once)."""
        h, w = image.shape[:2]
        dets = [Detection("face", f.score, (f.box[0] / w, f.box[1] / h, f.box[2] / w, f.box[3] / h)) for f in faces]
        by_box = {d.box: f for d, f in zip(dets, faces, strict=True)}
        for target in self._tracker.update(t_ms, dets):
            face = by_box.get(target.box)
            if face is None:
                continue
            tr = self.tracks.get(target.track_id)
            if tr is None:
                tr = self.tracks[target.track_id] = FaceTrack(target.track_id, t_ms, t_ms)
            tr.last_ms = t_ms
            tr.sightings += 1
            if tr.decided:
                continue
            q = quality(image, face)
            if tr.best is None or q > tr.best.quality:
                tr.best = _sample(t_ms, q, image, face, target.box)
        due = []
        for gone in self._tracker.ended(t_ms):
            mine = self.tracks.pop(gone.id, None)
            if mine is not None and not mine.decided and mine.best is not None:
                mine.decided = True
                due.append(mine)
        for mine in self.tracks.values():
            if not mine.decided and mine.best is not None and t_ms - mine.first_ms >= self.decide_after_ms:
                mine.decided = True
                due.append(mine)
        return due

    def flush(self) -> list[FaceTrack]:
        """Every undecided track (the camera's analysis is stopping)."""
        due = [tr for tr in self.tracks.values() if not tr.decided and tr.best is not None]
        for tr in due:
            tr.decided = True
        self.tracks.clear()
        return due

    @property
    def active(self) -> bool:
        return bool(self.tracks)


def _sample(t_ms: int, q: float, image: np.ndarray, face: FaceBox, norm_box: tuple[float, float, float, float]
            ) -> FaceSample:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = face.box
    mx, my = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
    cx1, cy1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    cx2, cy2 = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
    crop = image[cy1:cy2, cx1:cx2].copy()
    moved = FaceBox((x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1), face.score,
                    tuple((px - cx1, py - cy1) for px, py in face.landmarks))
    return FaceSample(t_ms, q, crop, moved, norm_box)
