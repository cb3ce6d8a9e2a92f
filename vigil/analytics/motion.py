"""Pixel motion: background subtraction on a small grey picture (OpenCV MOG2).

The cheap gate in front of the detector: it says whether something moved, where (boxes) and how much
(score: the changed fraction of the unmasked picture). Mask regions (normalised polygons) are ignored,
and a sudden global change (headlights, a cloud, the camera's day/night switch) is reported as such
rather than as motion everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vigil.analytics.geometry import Box, Point

WORK_WIDTH = 320
GLOBAL_CHANGE = 0.6  # above this changed fraction the whole scene changed: not motion


@dataclass(frozen=True)
class MotionResult:
    score: float  # changed fraction of the unmasked picture, 0..1
    boxes: list[Box]  # normalised
    global_change: bool = False

    @property
    def moving(self) -> bool:
        return bool(self.boxes) and not self.global_change


class MotionDetector:
    def __init__(self, sensitivity: float = 0.5, masks: Sequence[Sequence[Point]] = (),
                 min_area: float = 0.0005) -> None:
        """`sensitivity` 0..1 (higher finds fainter motion); `min_area` is the smallest box, as a fraction."""
        if not 0 <= sensitivity <= 1:
            raise ValueError("motion sensitivity must be between 0 and 1")
        threshold = 8 + (1 - sensitivity) * 56
        self._sub = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=threshold, detectShadows=False)
        self._masks = [list(m) for m in masks]
        self._mask: np.ndarray | None = None
        self._min_area = min_area
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def masks(self) -> list[list[Point]]:
        return [list(m) for m in self._masks]

    def set_masks(self, masks: Sequence[Sequence[Point]]) -> None:
        """Replaces the masks from the next frame on (masks drawn in the UI); the learnt background stays."""
        self._masks = [list(m) for m in masks]
        self._mask = None

    def _small(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        size = (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w)))
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        return cv2.GaussianBlur(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), (5, 5), 0)

    def _mask_for(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._mask is None or self._mask.shape != shape[:2]:
            mask = np.full(shape[:2], 255, np.uint8)
            h, w = shape[:2]
            for poly in self._masks:
                pts = np.array([[round(x * w), round(y * h)] for x, y in poly], np.int32)
                cv2.fillPoly(mask, [pts], 0)
            self._mask = mask
        return self._mask

    def update(self, frame: np.ndarray) -> MotionResult:
        small = self._small(frame)
        fg = self._sub.apply(small)
        mask = self._mask_for(small.shape)
        fg = cv2.bitwise_and(fg, mask)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self._kernel)
        area = max(1, int(np.count_nonzero(mask)))
        score = float(np.count_nonzero(fg)) / area
        if score > GLOBAL_CHANGE:
            return MotionResult(score, [], global_change=True)
        fg = cv2.dilate(fg, self._kernel, iterations=2)
        h, w = small.shape[:2]
        boxes: list[Box] = []
        for c in cv2.findContours(fg, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
            x, y, bw, bh = cv2.boundingRect(c)
            if bw * bh >= self._min_area * w * h:
                boxes.append((x / w, y / h, (x + bw) / w, (y + bh) / h))
        return MotionResult(score, boxes)
