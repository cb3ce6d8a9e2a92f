"""Camera time to wall time, for one connection."""

from __future__ import annotations

from vigil.clock import now_ms

# Re-anchor the camera's clock to ours when they disagree by more than this (camera clock jumps).
MAX_CLOCK_SKEW_MS = 5000
# A picture's capture by the camera's own clock (RTCP sender reports), against its arrival by ours: when both keep
# time (NTP), it is captured before it arrives, by the encoder's and the network's delay. Not every sender stamps
# the capture: GStreamer's server stamps the sending, mapped through its pipeline's latency, which put pictures
# up to 0.11 s after their arrival on one machine with one clock (tests/test_native_ingest.py). Within these
# bounds the camera's clock dates the picture; outside them it is wrong, and the arrival dates it.
SENDER_AHEAD_MS = 500
SENDER_BEHIND_MS = 1000


def ms_of(ticks: int, numerator: int, denominator: int) -> int:
    """Milliseconds of `ticks` of a time base numerator/denominator, truncated toward zero, in integers (Fraction
    arithmetic for each picture was a tenth of a native camera's recording CPU)."""
    t = ticks * numerator * 1000
    return t // denominator if t >= 0 else -(-t // denominator)


class CameraClock:
    """Wall time = camera time + offset. A packet never arrives before it was captured, so the smallest
    (arrival - pts) seen is the best offset from arrival; a burst of buffered frames at connect does not skew it.
    The camera's own clock, when it sends it and keeps time, is better still: the capture instant, not the
    arrival."""

    def __init__(self) -> None:
        self.offset: int | None = None  # the one in use
        self.arrival: int | None = None
        self.skew_ms: int | None = None  # capture by the camera's clock - arrival by ours (None: not sent)

    def reset(self) -> None:
        self.offset = self.arrival = self.skew_ms = None

    def track(self, pts_ms: int, arrival_ms: int | None = None, sender_offset: int | None = None) -> int:
        """Feeds one packet's camera time (and the camera's own offset, from its sender reports, if known);
        returns its wall time."""
        offset = (now_ms() if arrival_ms is None else arrival_ms) - pts_ms
        if self.arrival is None or offset < self.arrival or offset - self.arrival > MAX_CLOCK_SKEW_MS:
            self.arrival = offset
        self.offset = self.arrival
        if sender_offset is None:
            self.skew_ms = None
        else:
            self.skew_ms = sender_offset - self.arrival
            if -SENDER_BEHIND_MS <= self.skew_ms <= SENDER_AHEAD_MS:
                self.offset = sender_offset
        return pts_ms + self.offset
