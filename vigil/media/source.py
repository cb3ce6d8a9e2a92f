"""Camera ingest: PyAV opens RTSP (TCP), HTTP-MJPEG or a file and reads packets without decoding.

`CameraSource.events()` never ends by itself: it reconnects forever with capped
exponential back-off and reports each connection and each loss, so the recorder
keeps one simple loop. Errors are turned into messages that say what to check.
"""

from __future__ import annotations

import contextlib
import errno
import re
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal
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


class UnusableStream(Exception):
    """The camera answered with a stream Vigil cannot record; the message says why and what to check."""


def describe_error(url: str, err: BaseException, timed_out: bool = False) -> str:
    """A message that tells a network fault from a refusal by the camera. `timed_out`: the attempt took the whole
    read timeout (FFmpeg reports a silent peer as invalid data)."""
    where = redact_url(url)
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port or (554 if parts.scheme.startswith('rtsp') else 80)}"
    name = type(err).__name__
    code = getattr(err, "errno", None)
    # The reason without the URL: a port such as :40463 must not read as a 404.
    text = (getattr(err, "strerror", None) or str(err)).replace(url, "").replace(where, "")
    if code == errno.ECONNREFUSED or "Connection refused" in text:
        return f"{where}: connection refused at {host} — the camera is off, or nothing listens on that port"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH) or "unreachable" in text.lower():
        return f"{where}: {host} is unreachable on the network — check cabling, IP address and routing"
    if re.search(r"\b401\b", text) or "Unauthorized" in text or name == "HTTPUnauthorizedError":
        return f"{where}: the camera refused the credentials (401) — check the user and password in the URL"
    if re.search(r"\b404\b", text) or "Not Found" in text or name == "HTTPNotFoundError":
        return f"{where}: the camera has no such stream (404) — check the path of the URL"
    if code == errno.ETIMEDOUT or "timed out" in text.lower() or isinstance(err, TimeoutError) or timed_out:
        return f"{where}: no answer from {host} in time — the camera is off or overloaded"
    if code == errno.ENOENT:
        return f"{where}: no such file"
    if status := re.search(r"Server returned (\S+[^:']*)", text):
        return (f"{where}: the camera answered with an error ({status.group(1).strip()}) — restart the camera or "
                "check its stream settings")
    if isinstance(err, av.error.InvalidDataError):
        return (f"{where}: what {host} sent is not a stream Vigil can read (invalid data) — check that the URL "
                "is the camera's RTSP/HTTP stream and its port, not a web page or another service")
    return f"{where}: {text.strip(' :') or name}"


class ReconnectingSource:
    """What every camera reader is given: the URL, the flag that stops it, its timeouts and the reconnect back-off
    (it reconnects forever until `stop` is set)."""

    def __init__(
        self,
        url: str,
        stop: threading.Event,
        open_timeout: float = 5.0,
        read_timeout: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 2.0,
        transport: Literal["tcp", "udp"] = "tcp",
    ) -> None:
        self.url = url
        self.stop = stop
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.transport = transport  # RTSP: RTP interleaved on the TCP connection, or over UDP
        # wall ms - pts ms by the camera's own clock (its RTCP sender reports), when the reader knows it
        self.sender_offset_ms: int | None = None

    def over(self) -> str:
        """What the camera's stream description adds about the transport: only the exception, UDP."""
        return " over UDP" if self.transport == "udp" and urlsplit(self.url).scheme.startswith("rtsp") else ""


class CameraSource(ReconnectingSource):
    """Reads one camera URL with FFmpeg (PyAV)."""

    @cached_property  # read per packet
    def is_file(self) -> bool:
        return self.url.startswith("/") or self.url.startswith("file:")

    def _open(self) -> Any:
        options: dict[str, str] = {}
        scheme = urlsplit(self.url).scheme
        if scheme in ("rtsp", "rtsps"):
            options = {"rtsp_transport": self.transport, "timeout": str(int(self.read_timeout * 1_000_000))}
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

    def events(self) -> Generator[SourceEvent, None, None]:
        backoff = self.backoff_initial
        while not self.stop.is_set():
            container = None
            began = time.monotonic()
            try:
                container = self._open()
                if not container.streams.video:
                    raise av.error.InvalidDataError(errno.EINVAL, "the stream has no video track")
                video = container.streams.video[0]
                if not (video.codec_context.width and video.codec_context.height):
                    raise UnusableStream(f"{redact_url(self.url)}: the camera's video has no picture size (its "
                                         "parameter sets are missing or broken) — check the camera's codec "
                                         "settings (H.264, H.265 or MJPEG)")
                audio = container.streams.audio[0] if container.streams.audio else None
                wallclock = container.format.name in WALLCLOCK_FORMATS
                yield Opened(video, audio, f"{video.codec_context.name} {video.codec_context.width}x"
                             f"{video.codec_context.height}{self.over()}")
                backoff = self.backoff_initial
                pictures = yield from self._read(container, video, audio, wallclock)
                if self.stop.is_set():
                    return
                yield Lost(f"{redact_url(self.url)}: the stream ended" if pictures else
                           f"{redact_url(self.url)}: the stream ended before a usable picture arrived — the camera "
                           "sends video Vigil cannot read; check its codec settings (H.264, H.265 or MJPEG)")
            except UnusableStream as err:
                yield Lost(str(err))
            except (av.FFmpegError, OSError) as err:
                if self.stop.is_set():
                    return
                silent = container is None and time.monotonic() - began >= self.read_timeout * 0.95
                yield Lost(describe_error(self.url, err, timed_out=silent))
            finally:
                if container is not None:
                    with contextlib.suppress(av.FFmpegError, OSError):
                        container.close()
            self.stop.wait(backoff)
            backoff = min(self.backoff_max, backoff * 2)

    def _read(self, container: Any, video: Any, audio: Any | None, wallclock: bool) -> Generator[Any, None, int]:
        """The packets as they come; returns how many were video."""
        streams = [video] + ([audio] if audio is not None else [])
        pictures = 0
        t0 = time.monotonic()
        pace_start: float | None = None
        for packet in container.demux(streams):
            if self.stop.is_set():
                return pictures
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
            pictures += packet.stream is video
            yield packet
        return pictures
