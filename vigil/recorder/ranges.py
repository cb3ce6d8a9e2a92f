"""Merging segments into continuous recorded ranges (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from vigil.catalog.rows import SegmentRow


def merge_ranges(segments: Iterable[SegmentRow], tolerance_ms: int = 1000) -> list[tuple[int, int]]:
    """Continuous (start, end) ranges; segments closer than `tolerance_ms` join."""
    out: list[list[int]] = []
    for seg in sorted(segments, key=lambda s: s.start_ms):
        if out and seg.start_ms <= out[-1][1] + tolerance_ms:
            out[-1][1] = max(out[-1][1], seg.end_ms)
        else:
            out.append([seg.start_ms, seg.end_ms])
    return [(a, b) for a, b in out]


# Events that say something about the camera or the disk, not about what happened in the picture.
NOT_INTERESTING = frozenset({"camera_offline", "disk_missing", "disk_low", "disk_error", "disk_quota", "disk_full"})


def interest_ranges(spans: Iterable[tuple[int, int | None]], start_ms: int, end_ms: int, padding_ms: int,
                    recorded: Iterable[tuple[int, int]] | None = None, join_ms: int = 0) -> list[tuple[int, int]]:
    """Smart playback: the parts of [start, end) worth watching. Each (event start, end) span is widened by
    `padding_ms` on both sides (an open event lasts to the window's end), clipped to the window, merged with
    any span that overlaps or is closer than `join_ms`, and kept only where something was recorded."""
    padded = sorted((max(start_ms, a - padding_ms), min(end_ms, (end_ms if b is None else b) + padding_ms))
                    for a, b in spans)
    merged: list[list[int]] = []
    for a, b in padded:
        if b <= a:
            continue
        if merged and a <= merged[-1][1] + join_ms:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if recorded is None:
        return [(a, b) for a, b in merged]
    rec = sorted(recorded)
    out: list[tuple[int, int]] = []
    for a, b in merged:
        for ra, rb in rec:
            lo, hi = max(a, ra), min(b, rb)
            if lo < hi:
                out.append((lo, hi))
    return out
