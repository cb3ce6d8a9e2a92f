"""Wall time for all of Vigil, and the one parser of the times users write (API, RTSP `?start=`, CLI)."""

from __future__ import annotations

import datetime as dt
import time


def now_ms() -> int:
    """Now, in UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000


def parse_time(value: str, name: str = "time") -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC unless it says otherwise). ValueError says what to give."""
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad {name} {value!r}: give epoch milliseconds or ISO-8601, e.g. 2026-11-25T21:00:00Z") \
            from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)
