"""Where to look: the part of the picture the detector needs to see when only part of it moves.

Frigate's idea (detect in regions around motion, not on the whole picture), reduced to one region: the union of
the motion boxes and of the targets being followed, each grown by half its larger side so a person whose legs
alone moved is still seen whole. When that region would be more than half the picture, the whole picture is as
cheap and misses nothing at the region's edges, so the answer is None (a full pass). Pure computation.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.analytics.geometry import Box

GROW = 0.5  # each box grows by this much of its larger side on every side
MIN_SIDE = 0.3  # the region is at least this fraction of the picture's width on both sides (context for the model)
MAX_AREA = 0.5  # a larger region gives way to a full pass


def detection_region(boxes: Sequence[Box], aspect: float, grow: float = GROW, min_side: float = MIN_SIDE,
                     max_area: float = MAX_AREA) -> Box | None:
    """The region to detect in (normalised x0, y0, x1, y1), or None for the whole picture. `aspect` is the
    picture's width over its height (a minimum side in pixels is a different fraction across and down)."""
    if not boxes:
        return None
    grown = []
    for x0, y0, x1, y1 in boxes:
        # Grown in pixels alike across and down: the larger side in picture-width units.
        side = max(x1 - x0, (y1 - y0) / aspect)
        dx, dy = grow * side, grow * side * aspect
        grown.append((x0 - dx, y0 - dy, x1 + dx, y1 + dy))
    x0, y0 = min(b[0] for b in grown), min(b[1] for b in grown)
    x1, y1 = max(b[2] for b in grown), max(b[3] for b in grown)
    x0, x1 = _at_least(x0, x1, min_side)
    y0, y1 = _at_least(y0, y1, min(1.0, min_side * aspect))
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1)
    if (x1 - x0) * (y1 - y0) > max_area:
        return None
    return x0, y0, x1, y1


def _at_least(lo: float, hi: float, side: float) -> tuple[float, float]:
    """Widen [lo, hi] about its centre to `side`, shifted back inside [0, 1] where it would leave the picture."""
    if hi - lo >= side:
        return lo, hi
    mid = (lo + hi) / 2
    lo, hi = mid - side / 2, mid + side / 2
    if lo < 0:
        lo, hi = 0.0, side
    elif hi > 1:
        lo, hi = 1 - side, 1.0
    return lo, hi
