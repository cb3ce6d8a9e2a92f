"""Camera ingest: PyAV opens RTSP (TCP), HTTP-MJPEG or a file and reads packets without decoding.

`CameraSource.events()` never ends by itself: it reconnects forever with capped
exponential back-off and reports each connection and each loss, so the recorder
keeps one simple loop. Errors are turned into messages that say what to check.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

import av

from vigil.config import redact_url
from vigil.log import get_logger

log = get_logger(__name__)

# Demuxers whose timestamps are a frame counter, not capture time: Vigil stamps their packets on arrival.
WALLCLOCK_FORMATS = {"mpjpeg", "mjpeg", "jpeg_pipe", "mjpeg_2000"}
WALLCLOCK_TB = Fraction(1, 1000)


@dataclass
class Opened:
    video: Any
    audio: Any | None
    description: str


@dataclass
class Lost:
    error: str


SourceEvent = Opened | Lost | Any  # Any: an av.Packet


def describe_error(url: str, err: BaseException) -> str:
    """A message that tells a network fault from a refusal by the camera."""
    where = redact_url(url)
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port or (554 if parts.scheme.startswith('rtsp') else 80)}"
    name = type(err).__name__
    code = getattr(err, "errno", None)
    text = str(err)
    if code == errno.ECONNREFUSED or "Connection refused" in text:
        return f"{where}: connection refused at {host} — the camera is off, or nothing listens on that port"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH) or "unreachable" in text.lower():
        return f"{where}: {host} is unreachable on the network — check cabling, IP address and routing"
    if "401" in text or "Unauthorized" in text or name == "HTTPUnauthorizedError":
        return f"{where}: the camera refused the credentials (401) — check the user and password in the URL"
    if "404" in text or "Not Found" in text or name == "HTTPNotFoundError":
        return f"{where}: the camera has no such stream (404) — check the path of the URL"
    if code == errno.ETIMEDOUT or "timed out" in text.lower() or isinstance(err, TimeoutError):
        return f"{where}: no answer from {host} in time — the camera is off or overloaded"
    if code == errno.ENOENT:
        return f"{where}: no such file"
    return f"{where}: {text or name}"


class CameraSource:
    """Reads one camera URL; reconnects forever until `stop` is set."""

    def __init__(
        self,
        url: str,
        stop: threading.Event,
        open_timeout: float = 5.0,
        read_timeout: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 2.0,
    ) -> None:
        self.url = url
        self.stop = stop
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.is_file = url.startswith("/") or url.startswith("file:")

    def _open(self) -> Any:
        options: dict[str, str] = {}
        scheme = urlsplit(self.url).scheme
        if scheme in ("rtsp", "rtsps"):
            options = {"rtsp_transport": "tcp", "timeout": str(int(self.read_timeout * 1_000_000))}
        elif scheme in ("http", "https"):
            options = {"reconnect": "0", "rw_timeout": str(int(self.read_timeout * 1_000_000))}
        path = self.url.removeprefix("file://") if scheme == "file" else self.url
        if scheme in ("rtsp", "rtsps", "http", "https"):
            # The protocol's own socket timeouts bound connect and read. PyAV's timeout would add an
            # interrupt callback that takes the GIL on every I/O poll of every camera: measurable at 16+ streams.
            options["timeout"] = str(int(self.open_timeout * 1_000_000)) if scheme.startswith("http") else options[
                "timeout"]
            return av.open(path, options=options)
        return av.open(path, options=options, timeout=(self.open_timeout, self.read_timeout))

    def events(self) -> Iterator[SourceEvent]:
        backoff = self.backoff_initial
        while not self.stop.is_set():
            container = None
            try:
                container = self._open()
                if not container.streams.video:
                    raise av.error.InvalidDataError(errno.EINVAL, "the stream has no video track")
                video = container.streams.video[0]
                audio = container.streams.audio[0] if container.streams.audio else None
                wallclock = container.format.name in WALLCLOCK_FORMATS
                yield Opened(video, audio, f"{video.codec_context.name} {video.codec_context.width}x"
                             f"{video.codec_context.height}")
                backoff = self.backoff_initial
                yield from self._read(container, video, audio, wallclock)
                if self.stop.is_set():
                    return
                yield Lost(f"{redact_url(self.url)}: the stream ended")
            except (av.FFmpegError, OSError) as err:
                if self.stop.is_set():
                    return
                yield Lost(describe_error(self.url, err))
            finally:
                if container is not None:
                    with contextlib.suppress(av.FFmpegError, OSError):
                        container.close()
            self.stop.wait(backoff)
            backoff = min(self.backoff_max, backoff * 2)

    def _read(self, container: Any, video: Any, audio: Any | None, wallclock: bool) -> Iterator[Any]:
        streams = [video] + ([audio] if audio is not None else [])
        t0 = time.monotonic()
        pace_start: float | None = None
        for packet in container.demux(streams):
            if self.stop.is_set():
                return
            if packet.size == 0:
                continue  # flush packet at end of stream
            if wallclock:
                now_ms = round((time.monotonic() - t0) * 1000)
                packet.time_base = WALLCLOCK_TB
                packet.pts = packet.dts = now_ms
            elif packet.pts is None:
                continue  # no timestamp: cannot be placed on the timeline
            if self.is_file and packet.stream is video:
                # Files play in real time, as a camera would deliver them.
                ts = float(packet.pts * packet.time_base)
                if pace_start is None:
                    pace_start = time.monotonic() - ts
                delay = pace_start + ts - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield packet
