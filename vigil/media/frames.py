"""Decoded pictures for the analytics: the sub-stream (or the main stream, scaled down, when there is none),
at a few frames per second, stamped on the recording clock.

It has its own connection and decoder, so nothing it does can slow the recorder's packet path. The reader
thread always keeps up with the camera and leaves only the newest picture in a one-slot mailbox: when the
analysis is slower than the camera it skips pictures instead of falling behind real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from vigil.log import get_logger
from vigil.media.clock import CameraClock
from vigil.media.source import CameraSource, Lost, Opened

log = get_logger(__name__)


@dataclass(frozen=True)
class Frame:
    t_ms: int  # wall clock, as the recorder stamps the same instant
    image: np.ndarray  # BGR


def scaled_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    if width <= max_width:
        return width, height
    return max_width, max(2, round(height * max_width / width / 2) * 2)


class Pacer:
    """Which decoded pictures to analyse for a steady `fps`: the first, then one each 1/fps on the picture clock;
    after a gap longer than that (a stall, a reconnect) the beat starts again from the next picture."""

    def __init__(self, fps: float) -> None:
        self.interval = 1000 / fps
        self.next_due: float | None = None

    def due(self, t_ms: float) -> bool:
        if self.next_due is not None and t_ms < self.next_due:
            return False
        if self.next_due is None or t_ms - self.next_due > self.interval:
            self.next_due = t_ms + self.interval
        else:
            self.next_due += self.interval
        return True


def to_bgr(picture: av.VideoFrame, max_width: int) -> np.ndarray:
    """A decoded picture as BGR, scaled down to `max_width` (FFmpeg's scaler: the analysis and the accuracy
    harness see the same pixels)."""
    w, h = scaled_size(picture.width, picture.height, max_width)
    return picture.to_ndarray(format="bgr24", width=w, height=h)


class FrameReader:
    def __init__(self, url: str, fps: float = 5.0, max_width: int = 640, open_timeout: float = 5.0,
                 read_timeout: float = 3.0, on_state: Callable[[str, str | None], None] | None = None,
                 name: str = "") -> None:
        self.fps = fps
        self.max_width = max_width
        self._stop = threading.Event()
        self._source = CameraSource(url, self._stop, open_timeout, read_timeout)
        self._clock = CameraClock()
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._on_state = on_state
        self.decoded = 0
        self.delivered = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"frames-{name}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def next(self, timeout: float = 1.0) -> Frame | None:
        """The newest picture not yet taken, waiting up to `timeout`; None if there is none (or stopped)."""
        with self._cond:
            if self._latest is None and not self._stop.is_set():
                self._cond.wait(timeout)
            frame, self._latest = self._latest, None
            return frame

    def _run(self) -> None:
        video: Any = None
        pacer = Pacer(self.fps)
        for item in self._source.events():
            if isinstance(item, Opened):
                video, pacer = item.video, Pacer(self.fps)
                video.codec_context.thread_count = 2 if video.codec_context.width > 1280 else 1
                self._clock.reset()
                if self._on_state:
                    self._on_state("online", None)
                continue
            if isinstance(item, Lost):
                log.info("frames_lost", error=item.error)
                if self._on_state:
                    self._on_state("offline", item.error)
                continue
            if item.stream is not video:
                continue
            # Every packet is decoded (P-frames need their references) but only pictures that are due are
            # converted to BGR, which is the expensive part at 5 of 25 fps.
            self._clock.track(int(item.pts * item.time_base * 1000))
            try:
                pictures = item.decode()
            except av.FFmpegError as err:
                log.debug("frames_decode_error", error=err)
                continue
            for pic in pictures:
                self.decoded += 1
                pts = pic.pts if pic.pts is not None else item.pts
                t_ms = int(pts * item.time_base * 1000) + (self._clock.offset or 0)
                if pacer.due(t_ms):
                    self._deliver(Frame(t_ms, to_bgr(pic, self.max_width)))

    def _deliver(self, frame: Frame) -> None:
        with self._cond:
            if self._latest is not None:
                self.dropped += 1
            self._latest = frame
            self.delivered += 1
            self._cond.notify()
