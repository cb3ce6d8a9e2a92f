"""Plane geometry on normalised picture coordinates (0..1, origin top-left)."""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2


def anchor(box: Box) -> Point:
    """Where a target stands: the bottom centre of its box (its feet, or a vehicle's wheels)."""
    return ((box[0] + box[2]) / 2, box[3])


def side(a: Point, b: Point, p: Point) -> float:
    """> 0 when p is left of the line a→b (in picture coordinates, y down), < 0 right, 0 on it."""
    return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])


def segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Whether segment p1-p2 properly crosses segment q1-q2."""
    d1, d2 = side(q1, q2, p1), side(q1, q2, p2)
    d3, d4 = side(p1, p2, q1), side(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def inside(polygon: Sequence[Point], p: Point) -> bool:
    """Point in polygon (even-odd rule)."""
    x, y = p
    hit = False
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit
