"""A stream's bit rate and frame rate over the last seconds, for the metrics (pure: the caller passes the time)."""

from __future__ import annotations

from collections import deque


class RateMeter:
    """Bytes and video frames per second over the last `window_s` whole seconds, in one-second buckets, so a
    packet costs one comparison and two additions."""

    def __init__(self, window_s: int = 10) -> None:
        self.window_s = window_s
        self._buckets: deque[list[int]] = deque()  # [second, bytes, frames]

    def add(self, now_s: float, nbytes: int, frames: int) -> None:
        second = int(now_s)
        if self._buckets and self._buckets[-1][0] == second:
            b = self._buckets[-1]
            b[1] += nbytes
            b[2] += frames
            return
        self._buckets.append([second, nbytes, frames])
        while self._buckets and self._buckets[0][0] <= second - self.window_s:
            self._buckets.popleft()

    def rates(self, now_s: float) -> tuple[float, float]:
        """(bits per second, frames per second) over the whole seconds before `now_s` (the current one is still
        filling), from the first second heard if that is within the window (a stream that just began); 0 when
        nothing arrived in the window."""
        second = int(now_s)
        done = [b for b in list(self._buckets) if second - self.window_s <= b[0] < second]
        if not done:
            return 0.0, 0.0
        span = second - done[0][0]
        return sum(b[1] for b in done) * 8 / span, sum(b[2] for b in done) / span
