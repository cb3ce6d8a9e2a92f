"""Accuracy against hand-annotated ground truth (pure logic, no I/O).

- Line crossings: each true crossing is matched to at most one found crossing of the same line and direction
  within a tolerance (1 s), by least total time difference. A truth row marked `ignore` (someone walking along
  the line, standing on it) absorbs any found crossing near it: neither a hit nor a false alarm.
- Detections: boxes matched one to one at IoU ≥ 0.5 per frame; true boxes smaller than the height of interest
  are "don't care" (a detection on them is neither right nor wrong), as are unmatched detections well below it.
- Tracks: MOTA, IDF1 and identity switches from motmetrics (py-motmetrics, the MOTChallenge reference), fed
  with IoU distances computed here (its own IoU helper does not run on NumPy 2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

PixelBox = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
IGNORE = "ignore"
_FAR = 1e12


@dataclass(frozen=True)
class Crossing:
    line: str
    t_ms: int
    direction: str  # a_to_b | b_to_a | ignore (truth only)


@dataclass
class Counts:
    truth: int = 0
    hits: int = 0
    false: int = 0

    @property
    def recall(self) -> float:
        return self.hits / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        return self.hits / (self.hits + self.false) if self.hits + self.false else 1.0


@dataclass
class CrossingScore(Counts):
    misses: list[Crossing] = field(default_factory=list)
    extras: list[Crossing] = field(default_factory=list)


def score_crossings(truth: Iterable[Crossing], found: Iterable[Crossing], tolerance_ms: int = 1000) -> CrossingScore:
    truth, found = list(truth), list(found)
    real = [c for c in truth if c.direction != IGNORE]
    ignored = [c for c in truth if c.direction == IGNORE]
    score = CrossingScore(truth=len(real))
    cost = np.full((len(real), len(found)), _FAR)
    for i, t in enumerate(real):
        for j, f in enumerate(found):
            dt = abs(t.t_ms - f.t_ms)
            if t.line == f.line and t.direction == f.direction and dt <= tolerance_ms:
                cost[i, j] = dt
    matched_truth: set[int] = set()
    matched_found: set[int] = set()
    if real and found:
        for i, j in zip(*linear_sum_assignment(cost), strict=True):
            if cost[i, j] < _FAR:
                matched_truth.add(int(i))
                matched_found.add(int(j))
    score.hits = len(matched_truth)
    score.misses = [t for i, t in enumerate(real) if i not in matched_truth]
    for j, f in enumerate(found):
        if j in matched_found:
            continue
        if any(g.line == f.line and abs(g.t_ms - f.t_ms) <= tolerance_ms for g in ignored):
            continue
        score.extras.append(f)
    score.false = len(score.extras)
    return score


def iou_matrix(a: Sequence[PixelBox], b: Sequence[PixelBox]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    A, B = np.asarray(a, float)[:, None, :], np.asarray(b, float)[None, :, :]
    iw = np.clip(np.minimum(A[..., 2], B[..., 2]) - np.maximum(A[..., 0], B[..., 0]), 0, None)
    ih = np.clip(np.minimum(A[..., 3], B[..., 3]) - np.maximum(A[..., 1], B[..., 1]), 0, None)
    inter = iw * ih
    area_a = (A[..., 2] - A[..., 0]) * (A[..., 3] - A[..., 1])
    area_b = (B[..., 2] - B[..., 0]) * (B[..., 3] - B[..., 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-9))


def _match(truth: Sequence[PixelBox], found: Sequence[PixelBox], min_iou: float) -> list[tuple[int, int]]:
    iou = iou_matrix(truth, found)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= min_iou]


@dataclass
class DetectionScore(Counts):
    pass


def _height(b: PixelBox) -> float:
    return b[3] - b[1]


def score_detections(truth: Mapping[int, Sequence[PixelBox]], found: Mapping[int, Sequence[PixelBox]],
                     min_height: float = 40.0, min_iou: float = 0.5,
                     ignore: Mapping[int, Sequence[PixelBox]] | None = None) -> DetectionScore:
    """Per annotated frame (frames not in `truth` are not scored). Heights in the truth's pixels. `ignore`:
    don't-care regions per frame (a crowd whose people cannot be told apart): an unmatched detection centred
    in one is neither right nor wrong."""
    score = DetectionScore()
    for frame, boxes in truth.items():
        dets = list(found.get(frame, ()))
        pairs = _match(boxes, dets, min_iou)
        matched_dets = {j for _, j in pairs}
        regions = (ignore or {}).get(frame, ())
        score.truth += sum(1 for b in boxes if _height(b) >= min_height)
        score.hits += sum(1 for i, _ in pairs if _height(boxes[i]) >= min_height)
        # Unmatched detections are false unless they are well below the height of interest (a smaller person
        # the truth may leave out as don't-care, or a box a little short of the threshold).
        score.false += sum(1 for j, d in enumerate(dets)
                           if j not in matched_dets and _height(d) >= 0.8 * min_height and not _inside(d, regions))
    return score


def _inside(box: PixelBox, regions: Sequence[PixelBox]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in regions)


@dataclass(frozen=True)
class TrackScore:
    mota: float
    idf1: float
    switches: int
    recall: float
    precision: float


def score_tracks(truth: Mapping[int, Sequence[tuple[int, PixelBox]]],
                 found: Mapping[int, Sequence[tuple[int, PixelBox]]], min_iou: float = 0.5) -> TrackScore:
    """CLEAR-MOT and identity scores over the frames of `truth` (each a list of (id, box))."""
    import motmetrics as mm  # only the harness needs it

    acc = mm.MOTAccumulator(auto_id=True)
    for frame in sorted(truth):
        t, f = truth[frame], list(found.get(frame, ()))
        dist = 1 - iou_matrix([b for _, b in t], [b for _, b in f])
        dist[dist > 1 - min_iou] = np.nan
        acc.update([i for i, _ in t], [i for i, _ in f], dist)
    m = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches", "recall", "precision"], name="x")
    row = m.loc["x"]
    return TrackScore(float(row["mota"]), float(row["idf1"]), int(row["num_switches"]), float(row["recall"]),
                      float(row["precision"]))


def read_mot(lines: Iterable[str], considered: bool = True) -> dict[int, list[tuple[int, PixelBox]]]:
    """MOTChallenge text (frame, id, left, top, width, height, consider, …; frames from 1) as {frame: [(id, box)]}:
    the targets, or with `considered=False` the don't-care regions (consider 0, MOTChallenge's own flag)."""
    out: dict[int, list[tuple[int, PixelBox]]] = defaultdict(list)
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = line.split(",")
        f, i, x, y, w, h = (float(v) for v in cols[:6])
        flag = float(cols[6]) != 0 if len(cols) > 6 else True
        if flag == considered:
            out[int(f)].append((int(i), (x, y, x + w, y + h)))
    return dict(out)


def read_crossings(lines: Iterable[str], fps: float) -> list[Crossing]:
    """`line,frame,direction` rows (frame: the clip's own frame number from 0) as crossings in clip time."""
    out = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("line,"):
            continue
        name, frame, direction = (v.strip() for v in line.split(",")[:3])
        if direction not in ("a_to_b", "b_to_a", IGNORE):
            raise ValueError(f"crossing direction must be a_to_b, b_to_a or ignore, not {direction!r}")
        out.append(Crossing(name, round(int(frame) * 1000 / fps), direction))
    return out
