"""Multi-object tracking: ByteTrack (the `trackers` package, on `supervision` detections) plus what an NVR
needs on top of it: a stable class per track (majority vote), the path, speed and dwell time of each target,
and a report of the tracks that ended, so their events can be closed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker
from trackers.utils.iou import BaseIoU

from vigil.analytics.detector import Detection, group
from vigil.analytics.geometry import Box, Point, anchor
from vigil.analytics.rules import Target

MAX_PATH = 200  # points kept per track: enough to draw it, bounded for a target that never leaves
SCORE_WINDOW = 5  # detection scores a track's steady score is the median of
STITCH_HORIZON_MS = 2000


@dataclass
class Track:
    id: int
    first_ms: int
    last_ms: int
    box: Box
    score: float
    votes: Counter[str] = field(default_factory=Counter)
    path: list[tuple[int, float, float]] = field(default_factory=list)  # t_ms, anchor x, y
    best_score: float = 0.0
    recent: list[float] = field(default_factory=list)  # the last SCORE_WINDOW detection scores

    @property
    def label(self) -> str:
        return self.votes.most_common(1)[0][0] if self.votes else "unknown"

    @property
    def dwell_ms(self) -> int:
        return self.last_ms - self.first_ms

    @property
    def speed(self) -> float:
        """Picture fractions per second over the last second of the path."""
        return float(np.hypot(*_velocity(self)))

    def target(self) -> Target:
        # The best confidence so far: one weak frame mid-crossing must not drop a target a rule has accepted.
        return Target(self.id, self.label, self.box, self.best_score)


class ScaledProximity(BaseIoU):
    """Association score for ByteTrack: how near two boxes' centres are, in units of the targets' own height,
    times how alike their heights are (1 for the same place and size, 0 at `reach` heights apart).

    Overlap (IoU) fails for people at a few frames a second: a walker's box is narrow, and between two analysed
    frames it moves half its width or more, so the IoU with its own last box is small while a neighbour's may be
    larger. Buffered IoU grows boxes by a fraction of their width across and of their height up and down, which
    favours the person in front or behind on a path over the same person one step on. Measured on real
    footage (bench/accuracy.py), this score keeps far more people from one side of a line to the other."""

    def __init__(self, reach: float = 0.7) -> None:
        self.reach = reach

    def _compute(self, boxes_1: np.ndarray, boxes_2: np.ndarray) -> np.ndarray:
        c1 = (boxes_1[:, :2] + boxes_1[:, 2:]) / 2
        c2 = (boxes_2[:, :2] + boxes_2[:, 2:]) / 2
        h1 = np.maximum(boxes_1[:, 3] - boxes_1[:, 1], 1e-9)[:, None]
        h2 = np.maximum(boxes_2[:, 3] - boxes_2[:, 1], 1e-9)[None, :]
        dist = np.linalg.norm(c1[:, None, :] - c2[None, :, :], axis=2)
        near = np.clip(1 - dist / (self.reach * (h1 + h2) / 2), 0, 1)
        return np.asarray(near * np.minimum(h1, h2) / np.maximum(h1, h2))


class Tracker:
    """Feeds detections (normalised boxes) to ByteTrack with their timestamps, so frames skipped by the motion
    gate do not age tracks, and keeps per-track history."""

    def __init__(self, lost_seconds: float = 3.0, activation: float = 0.3, high: float = 0.4,
                 min_hits: int = 1, keep_seconds: float = 8.0, stitch_distance: float = 0.12,
                 reach: float = 0.7) -> None:
        # A track starts from any detection the detector would report (activation = its floor): a far person
        # scores 0.3-0.5 at this model's input size, and a track that never starts can never cross a line.
        # Whether a target is sure enough to report is the rules' decision (sensitivity), not the tracker's.
        self._bt = ByteTrackTracker(
            lost_track_buffer=max(1, round(lost_seconds * 30)), frame_rate=30.0,
            track_activation_threshold=activation, high_conf_det_threshold=high,
            minimum_consecutive_frames=min_hits, minimum_iou_threshold=0.1,
            iou=ScaledProximity(reach),
        )
        # A track ByteTrack lost (a missed detection under a headlight flash, an occlusion) is kept a while
        # longer here; a new ByteTrack id appearing where it was heading continues it, so a rule does not
        # fire twice for one passage and a loiterer's dwell time does not restart.
        self.keep_ms = int(max(keep_seconds, lost_seconds) * 1000)
        self.lost_ms = int(lost_seconds * 1000)
        self.stitch_distance = stitch_distance
        self.tracks: dict[int, Track] = {}
        self._alias: dict[int, int] = {}
        self._last_ms = -(2**62)

    def _stitch(self, t_ms: int, d: Detection, taken: set[int]) -> Track | None:
        """The lost track a new ByteTrack id continues: the nearest one of the same kind whose way — from where it
        was last seen, heading on at its speed for up to STITCH_HORIZON_MS — passes close to the new target.
        (A walker who stops dead is where he was last seen; one who walked on is ahead of it.)"""
        p = np.array(anchor(d.box))
        best, best_dist = None, self.stitch_distance
        for tr in self.tracks.values():
            if tr.id in taken or tr.last_ms >= t_ms or group(tr.label) != group(d.label):
                continue
            dt = min(t_ms - tr.last_ms, STITCH_HORIZON_MS) / 1000
            last = np.array(tr.path[-1][1:])
            ahead = last + np.array(_velocity(tr)) * dt
            dist = _point_segment_distance(p, last, ahead)
            if dist < best_dist:
                best, best_dist = tr, dist
        return best

    def update(self, t_ms: int, detections: Sequence[Detection]) -> list[Target]:
        """The confirmed targets seen in this frame."""
        # ByteTrack drops updates that go back in time; a camera clock re-anchored after a reconnect can.
        t_ms = self._last_ms = max(t_ms, self._last_ms + 1)
        if detections:
            det = sv.Detections(
                xyxy=np.array([d.box for d in detections], np.float32) * 1000,  # IoU is scale-free; avoid tiny floats
                confidence=np.array([d.score for d in detections], np.float32),
                class_id=np.arange(len(detections)),
            )
        else:
            det = sv.Detections.empty()
        out = self._bt.update(det, timestamp=t_ms / 1000)
        seen: list[Target] = []
        ids = out.tracker_id if out.tracker_id is not None else np.array([], int)
        class_ids = out.class_id if out.class_id is not None else np.array([], int)
        taken = {self._alias.get(int(t), int(t)) for t in ids if t >= 0}
        claimed: set[int] = set()
        # ByteTrack's own ids first: a lost ByteTrack track it finds again keeps its target, and a newer id that
        # had been stitched onto it meanwhile becomes a target of its own (two people, not one in two places).
        pairs = sorted(((int(t), int(i)) for t, i in zip(ids, class_ids, strict=False) if t >= 0),
                       key=lambda ti: ti[0] in self._alias)
        for tid, idx in pairs:
            d = detections[idx]
            own = self._alias.get(tid, tid)
            if own in claimed:
                self._alias.pop(tid, None)
                own = tid
            tr = self.tracks.get(own)
            if tr is None:
                tr = self._stitch(t_ms, d, taken | claimed)
                if tr is not None:
                    self._alias[tid] = tr.id
                    taken.add(tr.id)
                else:
                    tr = self.tracks[own] = Track(own, t_ms, t_ms, d.box, d.score)
            claimed.add(tr.id)
            tr.last_ms, tr.box, tr.score = t_ms, d.box, d.score
            tr.recent = [*tr.recent[1 - SCORE_WINDOW :], d.score]
            tr.best_score = max(tr.best_score, steady_score(tr.recent))
            tr.votes[d.label] += 1
            x, y = anchor(d.box)
            tr.path.append((t_ms, round(x, 4), round(y, 4)))
            del tr.path[:-MAX_PATH]
            seen.append(tr.target())
        return seen

    def ended(self, t_ms: int) -> list[Track]:
        """Tracks not seen for longer than the lost window; they are forgotten."""
        gone = [tr for tr in self.tracks.values() if t_ms - tr.last_ms > self.keep_ms]
        for tr in gone:
            del self.tracks[tr.id]
        ids = {tr.id for tr in gone}
        self._alias = {k: v for k, v in self._alias.items() if v not in ids}
        return gone

    @property
    def active(self) -> bool:
        return bool(self.tracks)

    def followed(self, t_ms: int) -> list[Track]:
        """The targets seen recently enough for ByteTrack to still follow them (tracks kept longer only for
        stitching are not: motion wakes the detector when they move again)."""
        return [tr for tr in self.tracks.values() if t_ms - tr.last_ms <= self.lost_ms]

    def following(self, t_ms: int) -> bool:
        """Whether any target is followed (the detector's heartbeat runs while one is)."""
        return bool(self.followed(t_ms))


def steady_score(recent: Sequence[float]) -> float:
    """How sure the detector is of a target: the median of its last scores, counted as zero until it has three.
    One lucky frame is not enough: a dog or a rain streak that scores as a person once in a while stays below a
    person scored as one on two of three pictures (Frigate's median of the score history works the same way)."""
    padded = [*recent, *[0.0] * (3 - len(recent))]
    return float(np.median(padded))


def _velocity(tr: Track) -> tuple[float, float]:
    """Anchor velocity in picture fractions per second, over the last second of the path."""
    if len(tr.path) < 2:
        return 0.0, 0.0
    t1, x1, y1 = tr.path[-1]
    i = len(tr.path) - 2
    while i > 0 and t1 - tr.path[i - 1][0] <= 1000:
        i -= 1
    t0, x0, y0 = tr.path[i]
    dt = max(1, t1 - t0) / 1000
    return (x1 - x0) / dt, (y1 - y0) / dt


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    ab = b - a
    k = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + k * ab)))


def path_points(track: Track) -> list[Point]:
    return [(x, y) for _, x, y in track.path]
