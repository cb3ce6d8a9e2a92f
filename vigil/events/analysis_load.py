"""Many cameras, one detector: turns taken fairly, and how well each camera's analysis keeps up (analysed
pictures per second and the share skipped), so an overloaded box degrades every camera alike and says so."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vigil.analytics.detector import Detection, Detector
from vigil.analytics.geometry import Box


class FairLock:
    """A lock (or, with `permits` > 1, a semaphore) handed over in the order it was asked for. A plain lock lets a
    thread that just released it take it again before the others wake; under load, cameras sharing the detector
    would then be analysed at unequal rates, some starved. First come, first served degrades every camera alike."""

    def __init__(self, permits: int = 1) -> None:
        self._guard = threading.Lock()
        self._free = permits
        self._queue: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._guard:
            if self._free > 0:
                self._free -= 1
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()  # the releasing thread hands its permit over: the count stays taken

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._queue:
                self._queue.popleft().set()
            else:
                self._free += 1


class LockedDetector:
    """One detector network shared by every camera, `parallel` pictures at a time (one copy of the weights: an
    ONNX Runtime session runs concurrent calls). Cameras take turns in the order they ask.

    On a small CPU, several single-threaded passes at once beat one pass spread over every core: a pass's
    threads wait for each other at every layer, and the cores idle while one camera's picture is scaled, its
    motion measured and its boxes decoded. Measured on 2 cores (NanoDet, real vtest.avi pictures): 70 pictures a
    second one at a time on two threads, 107 two at a time on one thread each."""

    def __init__(self, detector: Detector, observe: Callable[[float], None] | None = None, parallel: int = 1
                 ) -> None:
        self._detector = detector
        self._lock = FairLock(parallel)
        self._stats = threading.Lock()
        self._observe = observe  # each run's seconds (the metrics' histogram)
        self.busy_seconds = 0.0
        self.runs = 0

    def detect(self, frame: np.ndarray, region: Box | None = None) -> list[Detection]:
        with self._lock:
            t0 = time.perf_counter()
            out = self._detector.detect(frame, region)
            took = time.perf_counter() - t0
        with self._stats:
            self.busy_seconds += took
            self.runs += 1
        if self._observe is not None:
            self._observe(took)
        return out


@dataclass
class AnalysisStatus:
    frames: int = 0
    detections_run: int = 0
    events: int = 0
    dropped: int = 0
    last_frame_ms: int = 0
    tracks: int = 0
    analysed_fps: float = 0.0  # over the last 30 s (LoadMeter)
    dropped_percent: float = 0.0  # of the pictures due for analysis in that window, those skipped


class LoadMeter:
    """Analysed pictures per second and the share of due pictures skipped, over a sliding window (pure)."""

    def __init__(self, window_s: float = 30.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int, int]] = deque()  # (monotonic s, analysed, dropped) totals

    def add(self, now: float, analysed: int, dropped: int) -> tuple[float, float]:
        self._samples.append((now, analysed, dropped))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        t0, a0, d0 = self._samples[0]
        span, done, skipped = now - t0, analysed - a0, dropped - d0
        fps = done / span if span > 0 else 0.0
        due = done + skipped
        return round(fps, 2), round(100 * skipped / due, 1) if due else 0.0
