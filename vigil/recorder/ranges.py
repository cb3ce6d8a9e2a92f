"""Merging segments into continuous recorded ranges (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.catalog.store import SegmentRow


def merge_ranges(segments: Iterable[SegmentRow], tolerance_ms: int = 1000) -> list[tuple[int, int]]:
    """Continuous (start, end) ranges; segments closer than `tolerance_ms` join."""
    out: list[list[int]] = []
    for seg in sorted(segments, key=lambda s: s.start_ms):
        if out and seg.start_ms <= out[-1][1] + tolerance_ms:
            out[-1][1] = max(out[-1][1], seg.end_ms)
        else:
            out.append([seg.start_ms, seg.end_ms])
    return [(a, b) for a, b in out]
