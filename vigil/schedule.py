"""A weekly time window (days and a local time of day), as rules, record schedules and linkage write them.
Below both the config and the analytics, which each use it."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: list[int] = Field(default=[0, 1, 2, 3, 4, 5, 6], description="0 = Monday … 6 = Sunday")
    start: str = Field(default="00:00", description="HH:MM, local time")
    end: str = Field(default="24:00", description="HH:MM, local time; after start")

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if not v or any(not 0 <= d <= 6 for d in v):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        return v

    @field_validator("start", "end")
    @classmethod
    def _time(cls, v: str) -> str:
        if not HHMM.match(v) or (v.startswith("24") and v != "24:00"):
            raise ValueError(f"{v!r} is not a time of day: use HH:MM, e.g. 22:30")
        return v

    def minutes(self) -> tuple[int, int]:
        a, b = (int(x[:2]) * 60 + int(x[3:]) for x in (self.start, self.end))
        return a, b


def local_when(t_ms: int) -> tuple[int, int]:
    """(weekday 0 = Monday, minute of the day) of `t_ms` in this machine's local time."""
    lt = time.localtime(t_ms / 1000)
    return lt.tm_wday, lt.tm_hour * 60 + lt.tm_min


def in_windows(windows: Sequence[Window], when: tuple[int, int]) -> bool:
    """Whether (weekday, minute of day) lies in one of the windows (none: always). A window whose end is before
    its start runs over midnight: 22:00-06:00 on Monday covers Monday from 22:00 and Monday until 06:00."""
    if not windows:
        return True
    day, minute = when
    for w in windows:
        start, end = w.minutes()
        if day in w.days and (start <= minute < end if start <= end else minute >= start or minute < end):
            return True
    return False


def covers(windows: Sequence[Window], t_ms: int) -> bool:
    """`in_windows` at the local time of `t_ms`."""
    return in_windows(windows, local_when(t_ms))
