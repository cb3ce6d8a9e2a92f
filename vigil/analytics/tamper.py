"""Video tampering and scene change, from the analysed pictures (pure computation, ~0.3 ms a frame).

- **Covered / blank**: the picture (outside the masks, e.g. the OSD clock) has almost no contrast: a hand,
  a cloth or paint over the lens (dark) or a blank video signal (any brightness).
- **Defocused**: edge energy falls below a fraction of what this camera normally shows (learned while the
  picture is normal), while the picture still has contrast.
- **Scene change**: the camera was turned: most of the picture's cells differ from the learned scene, and keep
  differing, after normalising brightness (so light and headlights do not count) — persistence is what tells
  it from someone walking past. The new view then becomes the reference.

Each condition must hold for `hold_ms` before it is reported, and tampering ends after `clear_ms` without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Polygon = Sequence[tuple[float, float]]
THUMB = (160, 90)
# Edge energy is measured at twice the thumbnail's size: at 160x90 a defocus of a few pixels is averaged away
# together with the detail it removed (a blurred street kept 0.23 of its edges there, 0.09 at 320x180), and the
# encoder's block noise on a blurred picture then sat close to the threshold.
EDGE_SIZE = (320, 180)
CELLS = (16, 9)


@dataclass(frozen=True)
class TamperSettings:
    hold_ms: int = 3000
    clear_ms: int = 1500
    flat_std: float = 7.0  # grey-level standard deviation below which a picture is "flat"
    dark_mean: float = 45.0  # a flat picture darker than this is "covered", else "blank"
    defocus_ratio: float = 0.3  # edge energy below this fraction of the learned normal is "defocused"
    scene_cells: float = 0.55  # fraction of cells that must differ from the reference
    cell_diff: float = 0.6  # difference of a cell in normalised units (standard deviations)
    learn_alpha: float = 0.02  # how fast the normal edge energy and the reference follow slow changes


@dataclass(frozen=True)
class Change:
    kind: str  # tamper | scene_change
    what: str  # start | end (tamper), fired (scene_change)
    reason: str = ""  # covered | blank | defocused
    t_ms: int = 0
    since_ms: int = 0  # when the condition began (the event's start)


def _mask(shape: tuple[int, int], polygons: Sequence[Polygon]) -> np.ndarray:
    keep = np.ones(shape, bool)
    h, w = shape
    for poly in polygons:
        pts = np.array([[round(x * w), round(y * h)] for x, y in poly], np.int32)
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [pts], 1)
        keep &= m == 0
    return keep


class TamperDetector:
    def __init__(self, masks: Sequence[Polygon] = (), settings: TamperSettings | None = None) -> None:
        self.s = settings or TamperSettings()
        self._keep = _mask((THUMB[1], THUMB[0]), masks)
        self._keep_edges = _mask((EDGE_SIZE[1], EDGE_SIZE[0]), masks)
        self._edges: float | None = None  # learned normal edge energy
        self._ref: np.ndarray | None = None  # learned scene, normalised cells
        self._cond: str | None = None  # current tamper condition being timed
        self._cond_since = 0
        self._active: str | None = None  # reported tamper reason
        self._active_since = 0
        self._clear_since: int | None = None
        self._scene_since: int | None = None

    def features(self, frame: np.ndarray) -> tuple[float, float, float, np.ndarray]:
        big = cv2.cvtColor(cv2.resize(frame, EDGE_SIZE, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        grey = cv2.resize(big, THUMB, interpolation=cv2.INTER_AREA)
        vals = grey[self._keep].astype(np.float32)
        mean, std = float(vals.mean()), float(vals.std())
        median = int(np.median(vals))
        big[~self._keep_edges] = median  # masked areas (the OSD clock) add no edges, no difference
        edges = float(np.abs(cv2.Laplacian(big, cv2.CV_32F))[self._keep_edges].mean())
        filled = grey.copy()
        filled[~self._keep] = median
        cells = cv2.resize(filled, CELLS, interpolation=cv2.INTER_AREA).astype(np.float32)
        cells = (cells - cells.mean()) / max(float(cells.std()), 1.0)
        return mean, std, edges, cells

    def update(self, t_ms: int, frame: np.ndarray) -> list[Change]:
        s = self.s
        mean, std, edges, cells = self.features(frame)
        out: list[Change] = []
        cond = None
        if std < s.flat_std:
            cond = "covered" if mean < s.dark_mean else "blank"
        elif self._edges is not None and edges < s.defocus_ratio * self._edges:
            cond = "defocused"
        # Tamper timing: a condition held for hold_ms starts an alarm; clear_ms without any ends it.
        if cond != self._cond:
            self._cond, self._cond_since = cond, t_ms
        if cond is not None:
            self._clear_since = None
            if self._active is None and t_ms - self._cond_since >= s.hold_ms:
                self._active, self._active_since = cond, self._cond_since
                out.append(Change("tamper", "start", cond, t_ms, self._cond_since))
        elif self._active is not None:
            if self._clear_since is None:
                self._clear_since = t_ms
            if t_ms - self._clear_since >= s.clear_ms:
                out.append(Change("tamper", "end", self._active, t_ms, self._active_since))
                self._active, self._clear_since = None, None
        if cond is None and self._active is None:
            self._learn(edges, cells, t_ms, out)
        else:
            self._scene_since = None
        return out

    def _learn(self, edges: float, cells: np.ndarray, t_ms: int, out: list[Change]) -> None:
        s = self.s
        a = s.learn_alpha
        self._edges = edges if self._edges is None else (1 - a) * self._edges + a * edges
        if self._ref is None:
            self._ref = cells
            return
        differ = float(np.mean(np.abs(cells - self._ref) > s.cell_diff))
        if differ >= s.scene_cells:
            if self._scene_since is None:
                self._scene_since = t_ms
            elif t_ms - self._scene_since >= s.hold_ms:
                out.append(Change("scene_change", "fired", "", t_ms, self._scene_since))
                self._ref, self._scene_since = cells, None  # the new view is the scene from now on
                self._edges = edges
            return
        self._scene_since = None
        self._ref = (1 - a) * self._ref + a * cells
