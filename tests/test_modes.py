"""Event-driven recording logic: the pre-event buffer and the gate (no camera needed)."""

from __future__ import annotations

import pytest

from vigil.config import parse_config
from vigil.errors import ConfigError
from vigil.recorder.modes import HOLD_MAX_MS, PreBuffer, RecordGate


def feed(buf: PreBuffer, seconds: float, fps: int = 10, gop: int = 20, audio: bool = True) -> None:
    for i in range(int(seconds * fps)):
        t = i * 1000 // fps
        buf.push(("v", t), True, i % gop == 0, t)
        if audio:
            buf.push(("a", t), False, False, t)


def test_prebuffer_keeps_at_least_pre_seconds_from_a_keyframe() -> None:
    buf = PreBuffer(5000)
    feed(buf, 21)  # keyframes every 2 s; the newest packet is at 20.9 s
    start = buf.start_pts_ms
    assert start is not None and start % 2000 == 0
    assert 20_900 - start >= 5000 and 20_900 - start < 7000  # covers 5 s, with less than a GOP more
    items = buf.drain()
    assert items[0] == ("v", start) and len(buf) == 0 and buf.start_pts_ms is None
    assert [p for p in items if p[0] == "v"] == [("v", t) for t in range(start, 21_000, 100)]


def test_prebuffer_starts_at_a_keyframe_and_drops_leading_audio() -> None:
    buf = PreBuffer(1000)
    buf.push(("a", 0), False, False, 0)
    buf.push(("v", 0), True, False, 0)
    assert len(buf) == 0
    buf.push(("v", 100), True, True, 100)
    buf.push(("a", 100), False, False, 100)
    assert buf.drain() == [("v", 100), ("a", 100)]


def test_gate_opens_for_post_seconds_and_holds_open_events() -> None:
    now = [0]
    gate = RecordGate(10_000, now=lambda: now[0])
    assert not gate.wanted(0)
    gate.event(1, 1000, 1000)  # an instant event: record until 10 s after it
    assert gate.wanted(10_999) and not gate.wanted(11_000)
    gate.event(2, 20_000, None)  # an event still going on holds the gate
    assert gate.wanted(100_000)
    gate.event(2, 20_000, 105_000)  # …until it ends, plus post
    assert gate.wanted(114_999) and not gate.wanted(115_000)
    now[0] = 200_000
    gate.event(3, 200_000, None)  # never closed: the hold expires
    assert gate.wanted(200_000 + HOLD_MAX_MS - 1) and not gate.wanted(200_000 + HOLD_MAX_MS + 1)


def test_event_modes_need_analytics() -> None:
    cam = {"id": "c", "url": "rtsp://h/s", "record": {"mode": "intelligent"}}
    with pytest.raises(ConfigError, match=r"analytics\.enabled: true"):
        parse_config({"cameras": [cam]}, environ={})
    cfg = parse_config({"cameras": [{**cam, "analytics": {"enabled": True}}]}, environ={})
    assert cfg.cameras[0].record.mode == "intelligent" and cfg.cameras[0].record.pre_seconds == 5


def test_schedule_windows_cover_local_times_and_nights() -> None:
    import time as _time

    from vigil.schedule import Window, covers, in_windows

    office = [Window(days=[0, 1, 2, 3, 4], start="08:00", end="18:00")]
    assert in_windows(office, (0, 8 * 60)) and in_windows(office, (4, 18 * 60 - 1))
    assert not in_windows(office, (0, 18 * 60)) and not in_windows(office, (5, 12 * 60))
    night = [Window(days=[5], start="22:00", end="06:00")]
    assert in_windows(night, (5, 23 * 60)) and in_windows(night, (5, 5 * 60)) and not in_windows(night, (5, 12 * 60))
    assert in_windows([], (3, 0))  # no schedule: always
    lt = _time.localtime()
    now = int(_time.time() * 1000)
    assert covers([Window(days=[lt.tm_wday])], now) and not covers([Window(days=[(lt.tm_wday + 1) % 7])], now)
