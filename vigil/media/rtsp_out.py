"""RTSP out: each camera's live main and sub stream re-served at rtsp://HOST:PORT/<camera>[/sub].

A `StreamRelay` takes the packets Vigil already reads from the camera (the recorder's for the main stream, an
on-demand reader's for the sub-stream), splits them into NAL units exactly as received and hands them to an
RTP `Broadcaster`: one packetisation, every client gets the same bytes, nothing is decoded or re-encoded.
While nobody watches, a relay does nothing but check a flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from vigil.log import get_logger
from vigil.media.rtp import parameter_sets, split_access_unit, stream_format
from vigil.media.rtsp_broadcast import AccessUnit, AudioTrack, Broadcaster

log = get_logger(__name__)
WARM_SECONDS = 15.0  # after a DESCRIBE, keep the GOP cache filled this long for the client's PLAY
IDLE_STOP_SECONDS = 10.0
CODECS = {"h264": "h264", "hevc": "hevc"}


class StreamRelay:
    """One camera stream for RTSP clients. `open`/`feed`/`close` run in the reading thread; the broadcaster
    lives in the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.broadcaster: Broadcaster | None = None
        self.error: str | None = None
        self.last_wanted = 0.0
        self._codec = ""
        self._length_size = 0
        self._params: dict[str, bytes] = {}
        self._video: Any = None
        self._audio: Any = None
        self._audio_rate = 0
        self._pending_audio: AudioTrack | None = None
        self._announced = False  # the reading thread's view: a broadcaster is on its way to the loop

    @property
    def active(self) -> bool:
        """Somebody watches, or asked a moment ago: only then are packets relayed."""
        b = self.broadcaster
        return self.loop is not None and (bool(b and b.clients) or time.monotonic() - self.last_wanted < WARM_SECONDS)

    def want(self) -> None:
        self.last_wanted = time.monotonic()

    def idle(self) -> bool:
        return not self.active and time.monotonic() - self.last_wanted > IDLE_STOP_SECONDS

    # the reading thread
    def open(self, video: Any, audio: Any | None = None) -> None:
        self.close()
        codec = CODECS.get(video.codec_context.name)
        if codec is None:
            self.error = f"{video.codec_context.name} cannot be re-streamed over RTSP here (H.264 and H.265 can)"
            return
        self.error = None
        self._codec = codec
        self._params, self._length_size = stream_format(codec, video.codec_context.extradata)
        self._video = video
        self._audio = None
        self._pending_audio = None
        if audio is not None and audio.codec_context.name == "aac" and audio.codec_context.extradata:
            cc = audio.codec_context
            self._audio, self._audio_rate = audio, int(cc.sample_rate)
            self._pending_audio = AudioTrack(self._audio_rate, len(cc.layout.channels) or 1, bytes(cc.extradata))
        if self._params:
            self._publish_broadcaster()

    def _publish_broadcaster(self) -> None:
        self._announced = True
        b = Broadcaster(self._codec, dict(self._params), audio=self._pending_audio)
        self._call(self._set_broadcaster, b)

    def feed(self, packet: Any) -> None:
        if not self.active:
            return
        if packet.stream is self._audio:
            b = self.broadcaster
            if b is not None and packet.pts is not None:
                ts = int(packet.pts * packet.time_base * self._audio_rate) & 0xFFFFFFFF
                self._call(b.publish_audio, bytes(packet), ts)
            return
        if packet.stream is not self._video or packet.pts is None or not self._codec:
            return
        data = bytes(packet)
        nals = split_access_unit(data, self._length_size)
        if not self._announced:
            if not (packet.is_keyframe and (params := parameter_sets(self._codec, nals))):
                return
            self._params = params  # parameter sets only in-band: take them from the first keyframe
            self._publish_broadcaster()
        ts = int(packet.pts * packet.time_base * 90_000) & 0xFFFFFFFF
        self._call(self._publish, AccessUnit(nals, bool(packet.is_keyframe), ts))

    def close(self) -> None:
        if self._announced or self._video is not None:
            self._call(self._set_broadcaster, None)
        self._announced = False
        self._video = self._audio = None
        self._codec = ""

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed (shutting down)
                loop.call_soon_threadsafe(fn, *args)

    # the event loop
    def _set_broadcaster(self, b: Broadcaster | None) -> None:
        old, self.broadcaster = self.broadcaster, b
        if old is not None:  # a new connection may have new parameter sets: clients start again
            old.drop_clients(abort=True)

    def _publish(self, au: AccessUnit) -> None:
        b = self.broadcaster
        if b is not None:
            b.publish(au)

    async def ready(self, timeout: float) -> Broadcaster | None:
        """The broadcaster, waiting up to `timeout` for the camera's stream to be open."""
        self.want()
        deadline = time.monotonic() + timeout
        while self.broadcaster is None and self.error is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.broadcaster
