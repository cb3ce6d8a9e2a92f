"""A 48-bit barcode burned into simulated pictures, so tests can read a frame's time or index back
without OCR: one black or white cell per bit along the bottom of the picture."""

from __future__ import annotations

import cv2
import numpy as np

BITS = 48


def _cells(width: int, height: int) -> tuple[int, int, float]:
    y0 = int(height * 0.90)
    y1 = int(height * 0.97)
    return y0, y1, width * 0.96 / BITS


def draw_code(img: np.ndarray, value: int) -> None:
    h, w = img.shape[:2]
    y0, y1, cell = _cells(w, h)
    x0 = w * 0.02
    for bit in range(BITS):
        on = (value >> (BITS - 1 - bit)) & 1
        a, b = int(x0 + bit * cell), int(x0 + (bit + 1) * cell) - 1
        cv2.rectangle(img, (a, y0), (b, y1), (235, 235, 235) if on else (16, 16, 16), -1)


def read_code(img: np.ndarray) -> int:
    """The value drawn by `draw_code` into a (decoded, possibly scaled) BGR picture."""
    h, w = img.shape[:2]
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    y0, y1, cell = _cells(w, h)
    x0 = w * 0.02
    value = 0
    for bit in range(BITS):
        cx = int(x0 + (bit + 0.5) * cell)
        patch = gray[y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, max(0, cx - int(cell / 4)) : cx + int(cell / 4) + 1]
        value = (value << 1) | int(float(patch.mean()) > 128)
    return value
