"""People counting (pure): crossings of a counting line become in/out counts per 5-minute bucket, and an
occupancy (in − out) with an alarm when it exceeds the line's maximum.

Hours and days are sums of 5-minute buckets; days are local days (a shop's day), hours and buckets UTC-aligned
(which is the same as local for whole-hour time zones).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

BUCKET_MS = 300_000
STEPS = {"5m": BUCKET_MS, "1h": 3_600_000, "1d": 86_400_000}


def bucket_of(t_ms: int) -> int:
    return t_ms - t_ms % BUCKET_MS


def way(crossing: str, in_direction: str) -> str:
    """A crossing's direction (a_to_b / b_to_a) as "in" or "out" for a line whose in-direction is given."""
    return "in" if crossing == in_direction else "out"


def local_day_start(t_ms: int) -> int:
    lt = time.localtime(t_ms / 1000)
    return int(time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1)) * 1000)


@dataclass(frozen=True)
class CountRow:
    start_ms: int
    in_count: int
    out_count: int


def aggregate(buckets: Iterable[tuple[int, int, int]], step: str) -> list[CountRow]:
    """(bucket start, in, out) rows summed per 5 minutes, hour or local day, oldest first."""
    if step not in STEPS:
        raise ValueError(f"bucket {step!r}: use one of {', '.join(STEPS)}")
    sums: dict[int, list[int]] = {}
    for t, i, o in buckets:
        key = local_day_start(t) if step == "1d" else t - t % STEPS[step]
        acc = sums.setdefault(key, [0, 0])
        acc[0] += i
        acc[1] += o
    return [CountRow(k, v[0], v[1]) for k, v in sorted(sums.items())]


class Occupancy:
    """In − out since the start of the local day (never below 0: someone counted out who came in before the
    day began), with an alarm state: `update` returns "raise" when it first exceeds the maximum and "clear"
    when it is back at or below it."""

    def __init__(self, maximum: int, value: int = 0, day_start_ms: int = 0) -> None:
        self.maximum = maximum
        self.value = max(0, value)
        self.day_start_ms = day_start_ms
        self.alarm = False

    def update(self, t_ms: int, direction: str) -> str | None:
        day = local_day_start(t_ms)
        if day != self.day_start_ms:
            self.day_start_ms, self.value = day, 0
        self.value = self.value + 1 if direction == "in" else max(0, self.value - 1)
        if self.maximum <= 0:
            return None
        if not self.alarm and self.value > self.maximum:
            self.alarm = True
            return "raise"
        if self.alarm and self.value <= self.maximum:
            self.alarm = False
            return "clear"
        return None
