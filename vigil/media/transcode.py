"""An H.264 rendition of a live camera stream, for browsers that cannot decode what the camera sends (most
desktop Chromium and Firefox builds have no H.265 decoder).

A `TranscodedStream` is a `LiveStream` whose packets are decoded and encoded again with libx264 (PyAV's
wheels carry it) before the same per-frame fMP4 muxing; it is fed the camera's packets by the original live
stream (`LiveStream.taps`) only while somebody watches it, so one transcoder per camera and stream serves all its
viewers and none runs without a viewer. Recording is untouched: the recorder writes what the camera sent.
"""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction
from typing import Any

import av

from vigil.log import get_logger
from vigil.media.live import LiveStream, Subscriber

log = get_logger(__name__)

TIME_BASE = Fraction(1, 90_000)
# libx264 "ultrafast" + "zerolatency": no B-frames, no look-ahead, one frame in, one frame out — the only way a
# viewer gets the picture within a frame's time; CRF 26 keeps a 1080p scene near the camera's own bitrate.
X264_OPTIONS = {"preset": "ultrafast", "tune": "zerolatency", "crf": "26"}
KEYFRAME_SECONDS = 2.0  # and at once whenever a new viewer arrives


def scaled(width: int, height: int, max_height: int) -> tuple[int, int]:
    """The rendition's size: the camera's, or scaled down to `max_height` (even sides, as 4:2:0 needs)."""
    if height <= max_height:
        return width - width % 2, height - height % 2
    w = round(width * max_height / height)
    return w - w % 2, max_height - max_height % 2


class TranscodedStream(LiveStream):
    def __init__(self, name: str, max_height: int) -> None:
        super().__init__(name)
        self.max_height = max_height
        self._decoder: Any = None
        self._encoder: Any = None
        self._force_key = False
        self._synced = False  # has had a keyframe since (re)opening
        self._last_key_pts: int | None = None
        self.frames = 0
        self._codec_lock = threading.RLock()  # fed by the recorder's thread, reset from the viewers' loop

    def open(self, template: Any) -> None:
        """Ready to decode the camera's stream; the encoder and muxer start with the first decoded picture (its
        size is known then)."""
        with self._codec_lock:
            self._open(template)

    def _open(self, template: Any) -> None:
        self.close()
        self._source = template
        self._decoder = av.CodecContext.create(template.codec_context.name, "r")
        if template.codec_context.extradata:
            self._decoder.extradata = template.codec_context.extradata
        self._decoder.thread_type = "SLICE"  # frame threads would hold pictures back: latency
        self._encoder = None
        self._synced = False
        self.online = True

    def _start_encoder(self, frame: Any) -> None:
        width, height = scaled(frame.width, frame.height, self.max_height)
        self._out = self.muxer()
        stream = self._out.add_stream("libx264", options=X264_OPTIONS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        self._stream = self._template = stream
        self._init_parts = []
        self._out.start_encoding()  # opens the encoder (avcC known) and writes ftyp+moov
        self._encoder = stream
        self._last_key_pts = None
        log.info("live_transcode_start", stream=self.name, size=f"{width}x{height}")

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Subscriber:
        sub = super().subscribe(loop)
        self._force_key = True  # the next picture is a keyframe: the new viewer's player starts at once
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        super().unsubscribe(sub)
        if not self.subscribers and self._source is not None:
            # Not fed while nobody watches: the next viewer's decoding must start again at a keyframe.
            self.open(self._source)

    def feed(self, packet: Any) -> None:
        with self._codec_lock:
            self._feed(packet)

    def _feed(self, packet: Any) -> None:
        if self._decoder is None or packet.pts is None:
            return
        if not self._synced:
            if not packet.is_keyframe:
                return  # decoding starts at a keyframe
            self._synced = True
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as err:
            log.warning("live_transcode_decode_failed", stream=self.name, error=err)
            return
        for frame in frames:
            self._encode(frame, packet.time_base)

    def _encode(self, frame: Any, time_base: Fraction) -> None:
        if self._encoder is None:
            self._start_encoder(frame)
        assert self._encoder is not None and self._out is not None
        if frame.pts is None:
            return
        pts = int(frame.pts * time_base / TIME_BASE)
        key = self._force_key or self._last_key_pts is None or \
            (pts - self._last_key_pts) * TIME_BASE >= KEYFRAME_SECONDS
        if (frame.width, frame.height) != (self._encoder.width, self._encoder.height):
            frame = frame.reformat(width=self._encoder.width, height=self._encoder.height, format="yuv420p")
        frame.pts, frame.time_base = pts, TIME_BASE
        frame.pict_type = av.video.frame.PictureType.I if key else av.video.frame.PictureType.NONE
        if key:
            self._force_key, self._last_key_pts = False, pts
        try:
            for out in self._encoder.encode(frame):
                self._out.mux_one(out)
            self.frames += 1
        except (av.FFmpegError, ValueError) as err:
            log.warning("live_transcode_encode_failed", stream=self.name, error=err)

    def close(self) -> None:
        super().close()
        self._decoder = None
        self._encoder = None
