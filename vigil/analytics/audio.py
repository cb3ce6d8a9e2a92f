"""Audio alarms from a camera's sound (pure computation): the level, in dBFS per half-second window, crosses a
threshold (a shout, glass breaking, an alarm siren) or jumps far above the recent background (a bang in a quiet
room). The condition must last one window to start an alarm; the alarm ends after `clear_ms` of normal sound."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW_MS = 500
BACKGROUND_WINDOWS = 20  # 10 s of recent sound make the background level


@dataclass(frozen=True)
class AudioChange:
    what: str  # start | end
    reason: str  # loud | jump
    level_db: float  # at the start: the first loud window's level; at the end: the loudest window of the alarm
    t_ms: int
    since_ms: int


def dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * float(np.log10(max(rms, 1e-6)))


class AudioLevel:
    def __init__(self, threshold_db: float = -20.0, jump_db: float = 25.0, clear_ms: int = 2000) -> None:
        self.threshold_db, self.jump_db, self.clear_ms = threshold_db, jump_db, clear_ms
        self._buf: list[np.ndarray] = []
        self._buffered = 0
        self._background: deque[float] = deque(maxlen=BACKGROUND_WINDOWS)
        self._active: tuple[str, int] | None = None  # (reason, since)
        self._quiet_since: int | None = None
        self._peak = -120.0
        self.last_db = -120.0

    def update(self, t_ms: int, samples: np.ndarray, rate: int) -> list[AudioChange]:
        """Mono float samples (-1..1) ending at t_ms."""
        self._buf.append(np.asarray(samples, np.float32).reshape(-1))
        self._buffered += samples.size
        need = rate * WINDOW_MS // 1000
        out: list[AudioChange] = []
        while self._buffered >= need:
            allb = np.concatenate(self._buf)
            window, rest = allb[:need], allb[need:]
            self._buf, self._buffered = [rest], rest.size
            end_ms = t_ms - round(rest.size * 1000 / rate)
            out += self._window(end_ms, dbfs(window))
        return out

    def _window(self, t_ms: int, level: float) -> list[AudioChange]:
        self.last_db = level
        bg = float(np.median(self._background)) if len(self._background) >= 6 else None
        reason = ("loud" if level >= self.threshold_db
                  else "jump" if bg is not None and level - bg >= self.jump_db else None)
        out = []
        if reason is not None:
            self._quiet_since = None
            self._peak = max(self._peak, level) if self._active is not None else level
            if self._active is None:
                self._active = (reason, t_ms - WINDOW_MS)
                out.append(AudioChange("start", reason, round(level, 1), t_ms, t_ms - WINDOW_MS))
        else:
            self._background.append(level)  # only normal sound makes the background
            if self._active is not None:
                self._quiet_since = self._quiet_since or t_ms
                if t_ms - self._quiet_since >= self.clear_ms:
                    out.append(AudioChange("end", self._active[0], round(self._peak, 1), t_ms, self._active[1]))
                    self._active, self._quiet_since = None, None
        return out
