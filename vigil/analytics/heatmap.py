"""Heat maps (pure): where humans were, as seconds of presence per grid cell, and its rendering as a colour
overlay on a picture of the scene.

Each analysed frame adds, for every tracked human, the time since that target was last seen (capped, so a
dropped stretch of frames does not count as standing still) to the cell under its feet. Grids are kept per
camera-hour so any time range is a sum of whole hours.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vigil.analytics.geometry import anchor
from vigil.analytics.rules import HUMAN, Target

ROWS, COLS = 18, 32
HOUR_MS = 3_600_000
MAX_STEP_MS = 2_000


class HeatAccumulator:
    def __init__(self, rows: int = ROWS, cols: int = COLS) -> None:
        self.rows, self.cols = rows, cols
        self.grids: dict[int, np.ndarray] = {}  # hour start → seconds per cell
        self._last: dict[int, int] = {}  # track → last t_ms seen

    def add(self, t_ms: int, targets: Iterable[Target]) -> None:
        seen: dict[int, int] = {}
        for t in targets:
            if t.label not in HUMAN:
                continue
            seen[t.track_id] = t_ms
            last = self._last.get(t.track_id)
            if last is None:
                continue
            dt = min(MAX_STEP_MS, t_ms - last)
            if dt <= 0:
                continue
            x, y = anchor(t.box)
            r = min(self.rows - 1, max(0, int(y * self.rows)))
            c = min(self.cols - 1, max(0, int(x * self.cols)))
            hour = t_ms - t_ms % HOUR_MS
            grid = self.grids.get(hour)
            if grid is None:
                grid = self.grids[hour] = np.zeros((self.rows, self.cols), np.float32)
            grid[r, c] += dt / 1000
        self._last = seen

    def take(self) -> dict[int, np.ndarray]:
        """The grids gathered since the last call (to be added to the catalog's)."""
        out, self.grids = self.grids, {}
        return out


def hottest(grid: np.ndarray) -> tuple[int, int]:
    """(row, column) of the cell with the most presence."""
    r, c = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return int(r), int(c)


def render(grid: np.ndarray, background: np.ndarray | None, width: int = 640, height: int = 360) -> np.ndarray:
    """A BGRA picture: the heat in colours (blue → red) over the background (or transparent where cold when
    there is none). Heat is smoothed across cells and scaled to the hottest cell."""
    if background is not None:
        height, width = background.shape[:2]
    heat = cv2.resize(grid.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    heat = cv2.GaussianBlur(heat, (0, 0), sigmaX=max(1.0, width / grid.shape[1] / 2))
    peak = float(heat.max())
    norm = heat / peak if peak > 0 else heat
    colours = cv2.applyColorMap((norm * 255).astype(np.uint8), cv2.COLORMAP_JET)
    alpha = np.clip(norm * 1.5, 0, 1)[..., None] * 0.75
    if background is None:
        out = np.dstack([colours, (alpha[..., 0] / 0.75 * 255).astype(np.uint8)])
        return out
    blended = (background.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).astype(np.uint8)
    return np.dstack([blended, np.full((height, width), 255, np.uint8)])
