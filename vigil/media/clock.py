"""Camera time to wall time, for one connection."""

from __future__ import annotations

from vigil.clock import now_ms

# Re-anchor the camera's clock to ours when they disagree by more than this (camera clock jumps).
MAX_CLOCK_SKEW_MS = 5000


class CameraClock:
    """Wall time = camera time + offset. A packet never arrives before it was captured, so the smallest
    (arrival - pts) seen is the best offset; a burst of buffered frames at connect does not skew it."""

    def __init__(self) -> None:
        self.offset: int | None = None

    def reset(self) -> None:
        self.offset = None

    def track(self, pts_ms: int, arrival_ms: int | None = None) -> int:
        """Feeds one packet's camera time; returns its wall time."""
        offset = (now_ms() if arrival_ms is None else arrival_ms) - pts_ms
        if self.offset is None or offset < self.offset or offset - self.offset > MAX_CLOCK_SKEW_MS:
            self.offset = offset
        return pts_ms + self.offset
