"""Licence plates: find and read plates on vehicle crops (PP-OCRv6 on ONNX Runtime, from `rapidocr`), and
vote across a vehicle track's reads so each vehicle gets one plate.

No neural plate detector ships in a registry package, so the plate is located by the OCR's own text detector
inside the vehicle's box: of the text lines it finds, the one that reads like a plate (4-10 letters and digits,
both kinds present) with the best recognition score wins. A track is read a few times while it is large enough
and whole in the picture; the text read most often (score-weighted) is the vehicle's plate.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vigil.analytics.geometry import Box
from vigil.analytics.rules import Target

PLATED = frozenset({"car", "truck", "bus", "motorcycle"})
PLATE_TEXT = re.compile(r"^(?=.*[A-Z])(?=.*\d)[A-Z0-9]{4,10}$")
# Letters OCR confuses with digits are not "corrected": plate formats differ by country, and a wrong
# correction would hide a plate from an exact search; wildcard search covers the doubt.


def normalise(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def plate_like(text: str) -> bool:
    return bool(PLATE_TEXT.match(text))


class PlateReader:
    """Finds and reads plate-like text in a BGR crop. One OCR engine, shared by cameras behind a lock
    (ONNX Runtime already uses all cores for one image)."""

    def __init__(self, max_side: int = 480, threads: int = 0) -> None:
        self.max_side = max_side
        self.threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            from rapidocr import RapidOCR

            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            self._engine = RapidOCR(params={
                "Global.log_level": "warning", "Global.use_cls": False,
                # "max": the crop is scaled down to max_side at most, never up (the default scales the short
                # side up to 736 px, which costs 6× the time on a vehicle crop and reads no better).
                "Det.limit_type": "max", "Det.limit_side_len": self.max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.threads or -1,
            })
        return self._engine

    def read(self, crop: np.ndarray, cut_left: bool = False, cut_right: bool = False) -> list[tuple[str, float]]:
        """Plate-like texts found in the crop with their scores, best first. `cut_left`/`cut_right`: that side of
        the crop is the picture's edge, so a text touching it may be a plate cut short ("KX19AB" of "KX19ABC"):
        such a text is not a read."""
        if crop.size == 0 or min(crop.shape[:2]) < 16:
            return []
        with self._lock:
            out = self._load()(np.ascontiguousarray(crop), use_cls=False)
        texts = out.txts or ()
        scores = out.scores or ()
        boxes = list(out.boxes) if getattr(out, "boxes", None) is not None else [None] * len(texts)
        width = crop.shape[1]
        found = []
        for t, sc, b in zip(texts, scores, boxes, strict=False):
            if b is not None:
                xs = np.asarray(b, np.float32)[:, 0]
                if (cut_left and xs.min() <= EDGE_PX) or (cut_right and xs.max() >= width - 1 - EDGE_PX):
                    continue
            found.append((normalise(t), float(sc)))
        return sorted(((t, s) for t, s in found if plate_like(t)), key=lambda x: -x[1])


def _crop_span(image: np.ndarray, box: Box, margin: float) -> tuple[int, int, int, int]:
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x1, x2 = int(max(0, (box[0] - bw * margin)) * w), int(min(1, (box[2] + bw * margin)) * w)
    y1, y2 = int(max(0, (box[1] - bh * margin)) * h), int(min(1, (box[3] + bh * margin)) * h)
    return x1, y1, x2, y2


EDGE_PX = 3  # a text box this close to a cut side of the crop may be cut itself


def vehicle_crop(image: np.ndarray, box: Box, margin: float = 0.04) -> np.ndarray:
    x1, y1, x2, y2 = _crop_span(image, box, margin)
    return image[y1:y2, x1:x2]


def cut_sides(image: np.ndarray, box: Box, margin: float = 0.04) -> tuple[bool, bool]:
    """Whether the vehicle's crop reaches the picture's left and right edge (the detector's box of a half-seen
    vehicle often stops short of the edge while the vehicle, and its plate, are cut by it)."""
    x1, _, x2, _ = _crop_span(image, box, margin)
    return x1 <= 0, x2 >= image.shape[1]


@dataclass
class PlateTrack:
    reads: int = 0
    last_ms: int = -1_000_000
    votes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    decided: str | None = None
    label: str = ""
    box: Box = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PlateDecision:
    track_id: int
    plate: str
    confidence: float  # mean OCR score of the winning reads
    reads: int  # how many reads agreed
    of: int  # reads in all
    label: str
    box: Box


class PlateTracks:
    """Which vehicle to read now, and each track's plate by vote (pure bookkeeping, no OCR)."""

    def __init__(self, max_reads: int = 6, min_interval_ms: int = 300, min_height: float = 0.15,
                 agree: int = 3) -> None:
        self.max_reads, self.min_interval_ms = max_reads, min_interval_ms
        self.min_height, self.agree = min_height, agree
        self.tracks: dict[int, PlateTrack] = {}

    def wants(self, t_ms: int, t: Target) -> bool:
        """A vehicle that may carry a plate, big enough, whole in the picture, not read too often."""
        if t.label not in PLATED or (t.box[3] - t.box[1]) < self.min_height:
            return False
        if t.box[0] <= 0.005 or t.box[2] >= 0.995:  # cut by the picture's edge: its plate may be too
            return False
        pt = self.tracks.get(t.track_id)
        return pt is None or (pt.decided is None and pt.reads < self.max_reads
                              and t_ms - pt.last_ms >= self.min_interval_ms)

    def add(self, t_ms: int, t: Target, reads: list[tuple[str, float]]) -> PlateDecision | None:
        """Records one read of a track (its best plate-like text, if any); returns the decision once `agree`
        reads say the same."""
        pt = self.tracks.setdefault(t.track_id, PlateTrack())
        pt.reads += 1
        pt.last_ms = t_ms
        pt.label, pt.box = t.label, t.box
        if reads:
            text, score = reads[0]
            pt.votes[text] += score
            pt.counts[text] += 1
            if pt.counts[text] >= self.agree and pt.decided is None:
                return self._decide(t.track_id, pt)
        return None

    def end(self, track_id: int) -> tuple[PlateDecision | None, str | None]:
        """The track is gone: (a decision not yet made, from whatever was read; the plate decided, if any)."""
        pt = self.tracks.pop(track_id, None)
        if pt is None:
            return None, None
        if pt.decided is not None:
            return None, pt.decided
        d = self._decide(track_id, pt) if pt.votes else None
        return d, (d.plate if d else None)

    @staticmethod
    def _decide(track_id: int, pt: PlateTrack) -> PlateDecision:
        plate = max(pt.votes, key=lambda k: (pt.votes[k], pt.counts[k]))
        pt.decided = plate
        n = pt.counts[plate]
        return PlateDecision(track_id, plate, round(pt.votes[plate] / n, 3), n, pt.reads, pt.label, pt.box)
