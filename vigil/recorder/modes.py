"""Event-driven recording (the "motion" and "intelligent" modes): what to keep before an event, and when to
record (pure logic; the recorder feeds it packets and the event bus feeds it events)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

TRIGGERS = {"motion": frozenset({"motion"}),
            "intelligent": frozenset({"smd", "tripwire", "intrusion", "face_match", "face_blocklist", "face_stranger"}),
            "alarm": frozenset({"external", "tamper", "scene_change", "audio"})}
HOLD_MAX_MS = 600_000  # an event that never closes (a crashed analysis) stops holding the recorder after this


@dataclass
class _Buffered:
    packet: Any
    video: bool
    key: bool
    pts_ms: int


class PreBuffer:
    """The last `pre_ms` of packets (video and audio, in arrival order), always starting at a video keyframe,
    so a segment opened for an event can begin before the event."""

    def __init__(self, pre_ms: int) -> None:
        self.pre_ms = pre_ms
        self._items: deque[_Buffered] = deque()
        self._keys: deque[int] = deque()  # pts_ms of the buffered keyframes

    def push(self, packet: Any, video: bool, key: bool, pts_ms: int) -> None:
        if not self._items and not (video and key):
            return  # the buffer starts at a keyframe: anything before it cannot be decoded
        self._items.append(_Buffered(packet, video, key, pts_ms))
        if video and key:
            self._keys.append(pts_ms)
        if video:
            # Drop whole GOPs from the front while the next keyframe alone still covers pre_ms.
            while len(self._keys) > 1 and pts_ms - self._keys[1] >= self.pre_ms:
                self._keys.popleft()
                self._items.popleft()
                while self._items and not (self._items[0].video and self._items[0].key):
                    self._items.popleft()

    @property
    def start_pts_ms(self) -> int | None:
        return self._keys[0] if self._keys else None

    def drain(self) -> list[Any]:
        out = [b.packet for b in self._items]
        self._items.clear()
        self._keys.clear()
        return out

    def __len__(self) -> int:
        return len(self._items)


class RecordGate:
    """Whether an event-driven recorder should be writing now: until the last event's end + post, or while an
    event that has not ended yet holds it."""

    def __init__(self, post_ms: int, now: Any = None) -> None:
        self.post_ms = post_ms
        self._until = 0
        self._holds: dict[int, int] = {}  # event id -> when the hold expires
        self._lock = threading.Lock()
        self._now = now or (lambda: int(time.time() * 1000))

    def event(self, event_id: int, start_ms: int, end_ms: int | None) -> None:
        with self._lock:
            if end_ms is None:
                self._holds[event_id] = self._now() + HOLD_MAX_MS
                self._until = max(self._until, start_ms + self.post_ms)
            else:
                self._holds.pop(event_id, None)
                self._until = max(self._until, end_ms + self.post_ms)

    def wanted(self, now_ms: int) -> bool:
        with self._lock:
            for k in [k for k, exp in self._holds.items() if exp < now_ms]:
                del self._holds[k]
            return bool(self._holds) or now_ms < self._until
