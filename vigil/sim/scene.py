"""Synthetic camera pictures: a clock, a frame counter and moving shapes."""

from __future__ import annotations

import math
import time

import cv2
import numpy as np

from vigil.sim.barcode import draw_code


class Scene:
    """Draws frames of one simulated camera. A fixed noise texture stands for a real scene's detail."""

    def __init__(self, width: int, height: int, label: str, seed: int = 1, noise: bool = True) -> None:
        self.width = width
        self.height = height
        self.label = label
        rng = np.random.default_rng(seed)
        base: np.ndarray = np.empty((height, width, 3), np.uint8)
        base[:] = (70, 90, 60)
        if noise:
            base = cv2.add(base, rng.integers(0, 40, (height, width, 3), dtype=np.uint8))
        self._base = base
        self._grain = rng.integers(0, 12, (4, height, width, 3), dtype=np.uint8) if noise else None
        self._scale = height / 1080

    def draw(self, index: int, fps: float, wall: float | None = None) -> np.ndarray:
        """BGR picture of frame `index`; `wall` (epoch seconds) is printed as the clock when given."""
        img = self._base.copy()
        if self._grain is not None:
            # A little sensor grain so the encoder spends bits as on a real camera.
            cv2.add(img, self._grain[index % 4], dst=img)
        s = self._scale
        t = index / fps
        w, h = self.width, self.height
        # A "person" walking across, and a "car" bouncing: motion the analytics can find.
        x = int((t * 0.12 % 1.0) * (w + 200)) - 100
        cv2.rectangle(img, (x, int(h * 0.45)), (x + int(90 * s), int(h * 0.45 + 260 * s)), (40, 40, 200), -1)
        cx = int(w / 2 + math.sin(t * 0.9) * w * 0.35)
        cy = int(h * 0.8)
        cv2.circle(img, (cx, cy), max(4, int(70 * s)), (220, 180, 30), -1)
        font = cv2.FONT_HERSHEY_SIMPLEX
        clock = ""
        if wall:
            clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall)) + f".{int(wall * 1000) % 1000:03d}"
        text = f"{self.label}  {clock}  #{index}"
        thick = max(1, int(4 * s))
        cv2.rectangle(img, (0, 0), (w, int(70 * s) + 10), (0, 0, 0), -1)
        cv2.putText(img, text, (int(20 * s) + 2, int(55 * s) + 2), font, 1.6 * s, (255, 255, 255), thick)
        # Machine-readable: the wall clock in ms for live pictures, else the frame index.
        draw_code(img, int(wall * 1000) if wall else index)
        return img


def to_i420(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420)
