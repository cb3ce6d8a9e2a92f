"""Target colours for AI search: the dominant colour of a person's upper and lower body and of a vehicle's body,
as one of a few names people search by (pure logic on a BGR crop).

Each pixel is named by its hue, saturation and value (HSV), and the most common name wins. Only the middle of
the box is looked at (a box also holds background at its sides), and dim or washed-out pixels are named by
brightness alone (black, gray, white), as people name them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigil.analytics.geometry import Box
from vigil.analytics.rules import HUMAN, VEHICLE

COLORS = ("black", "gray", "white", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
# Hue bounds on OpenCV's 0-180 scale: (upper bound exclusive, name), checked in order.
_HUES = ((8, "red"), (20, "orange"), (33, "yellow"), (85, "green"), (130, "blue"), (150, "purple"),
         (170, "pink"), (181, "red"))
MIN_PIXELS = 24


@dataclass(frozen=True)
class Colors:
    upper: str | None = None
    lower: str | None = None
    body: str | None = None

    def as_attributes(self) -> dict[str, str]:
        return {k: v for k, v in (("upper_color", self.upper), ("lower_color", self.lower),
                                  ("body_color", self.body)) if v}


def pixel_names(hsv: np.ndarray) -> np.ndarray:
    """Index into COLORS for each HSV pixel (N×3, OpenCV scales: H 0-180, S and V 0-255)."""
    h = hsv[:, 0].astype(np.int16)
    s = hsv[:, 1].astype(np.int16)
    v = hsv[:, 2].astype(np.int16)
    out = np.full(len(hsv), COLORS.index("gray"), np.int8)
    chroma = (s >= 60) & (v >= 50)
    for bound, name in reversed(_HUES):
        out[chroma & (h < bound)] = COLORS.index(name)
    # Dark, weakly saturated orange/red reads as brown.
    brownish = chroma & (h < 20) & (v < 150) & (s < 200)
    out[brownish] = COLORS.index("brown")
    out[~chroma & (v < 60)] = COLORS.index("black")
    out[~chroma & (v >= 60) & (s < 40) & (v > 185)] = COLORS.index("white")
    return out


def dominant(crop: np.ndarray) -> str | None:
    """The most common colour name of a BGR crop; None when the crop is too small to tell."""
    if crop.size == 0 or crop.shape[0] * crop.shape[1] < MIN_PIXELS:
        return None
    hsv = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    counts = np.bincount(pixel_names(hsv), minlength=len(COLORS))
    return COLORS[int(counts.argmax())]


def _part(image: np.ndarray, box: Box, top: float, bottom: float, left: float, right: float) -> np.ndarray:
    """A sub-rectangle of a box given as fractions of the box (box in fractions of the picture)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    bw, bh = x2 - x1, y2 - y1
    xa, xb = int(max(0, x1 + bw * left)), int(min(w, x1 + bw * right))
    ya, yb = int(max(0, y1 + bh * top)), int(min(h, y1 + bh * bottom))
    return image[ya:yb, xa:xb]


def target_colors(image: np.ndarray, box: Box, label: str) -> Colors:
    """Upper/lower colours for a person (torso 20–45 % of the box height, legs 58–85 %), body colour for a vehicle
    (its middle band, above the wheels and below the windows)."""
    if label in HUMAN:
        return Colors(upper=dominant(_part(image, box, 0.2, 0.45, 0.3, 0.7)),
                      lower=dominant(_part(image, box, 0.58, 0.85, 0.33, 0.67)))
    if label in VEHICLE:
        return Colors(body=dominant(_part(image, box, 0.45, 0.75, 0.2, 0.8)))
    return Colors()
