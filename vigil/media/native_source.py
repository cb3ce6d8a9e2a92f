"""Native ingest (`ingest: native`): a camera's RTSP stream read by Vigil's own client and depacketizers
(media/rtsp_client.py, media/depacketize.py) instead of FFmpeg's RTSP demuxer.

`NativeSource.events()` yields what `CameraSource.events()` yields — `Opened`, packets, `Lost` — so the recorder,
live view, RTSP out and analysis take the same packets from either path: the camera's NAL units in Annex B with
four-byte start codes (as FFmpeg's RTP demuxer writes them), RTP timestamps from the first picture in 1/90000 s,
AAC frames raw with the SDP's AudioSpecificConfig. Codec parameters travel on template streams of an mp4 muxer
that is never written (what `add_stream_from_template` and the decoders downstream read).

What the native client cannot read — a codec other than H.264/H.265, an answer or session description it does
not understand — raises `NativeUnsupported`: the recorder then reads that camera through FFmpeg and says why.
A network fault, a refusal (401, 404) or a silent camera is a `Lost`, as on the FFmpeg path.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import itertools
import operator
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from fractions import Fraction
from typing import Any

import av
import numpy as np

from vigil.config import redact_url
from vigil.media.clock import ms_of
from vigil.media.depacketize import (
    AacDepacketizer,
    AccessUnit,
    Buffer,
    RtpClock,
    RtpError,
    VideoDepacketizer,
    parse_rtp,
)
from vigil.media.rtcp import SenderReport
from vigil.media.rtp import is_parameter_set
from vigil.media.rtsp_client import Batch, BlockingReader, RtspClient, RtspError, RtspProtocolError, Track
from vigil.media.sdp import SdpError, parameter_nals
from vigil.media.source import Lost, Opened, ReconnectingSource, SourceEvent

START = b"\x00\x00\x00\x01"
VIDEO_TB = Fraction(1, 90000)
POLL_S = 0.5  # how often a reader waiting for the camera looks at its stop flag
NO_PICTURE_S = 10.0  # streaming this long without a usable keyframe: what the camera sends is not readable here


class NativeUnsupported(Exception):
    """The native client cannot read this camera (the message says what it sends); FFmpeg may."""


def annexb(nals: list[bytes]) -> bytes:
    """NAL units each after a four-byte start code (`fmp4_writer.sample` reads them back by their sizes)."""
    return b"".join(START + n for n in nals)


class Templates:
    """Streams that carry a session's codec parameters to the muxers and decoders downstream, which copy them from
    a stream (`add_stream_from_template`). Video: the parameter sets and first keyframe probed by FFmpeg's raw
    H.264/H.265 demuxer from memory (its size read the way the FFmpeg path reads it). Audio: a stream of a
    header-only mp4 muxer, its parameters set to the SDP's (PyAV copies parameters into a stream only when its
    muxer starts)."""

    def __init__(self) -> None:
        self._open: list[Any] = []

    def video(self, codec: str, extradata: bytes, keyframe: bytes) -> Any:
        try:
            c = av.open(io.BytesIO(extradata + keyframe), format="h264" if codec == "h264" else "hevc")
        except av.FFmpegError:
            return None
        self._open.append(c)
        if not c.streams.video:
            return None
        s = c.streams.video[0]
        s.time_base = VIDEO_TB  # the packets' (the raw demuxer's own is 1/1200000); sinks read it from here
        return s

    def audio(self, sample_rate: int, channels: int, config: bytes) -> Any:
        out = av.open(io.BytesIO(), "w", format="mp4")
        self._open.append(out)
        s = out.add_stream_from_template(_aac_stream())
        cc = s.codec_context
        cc.extradata, cc.sample_rate = config, sample_rate
        cc.layout = "stereo" if channels == 2 else "mono"
        s.time_base = Fraction(1, sample_rate)
        out.start_encoding()
        return s

    def close(self) -> None:
        for c in self._open:
            with contextlib.suppress(av.FFmpegError, OSError):
                c.close()
        self._open = []


@functools.cache
def _aac_stream() -> Any:
    """Any AAC input stream, to make audio templates from (a few silent frames, encoded once)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="adts") as out:
        st = out.add_stream("aac", rate=16000)
        st.layout = "mono"
        for i in range(3):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for p in st.encode(frame):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    buf.seek(0)
    return av.open(buf, format="aac").streams.audio[0]


class NativeSource(ReconnectingSource):
    """Reads one RTSP camera with Vigil's own client (the same events as `CameraSource`)."""

    def __init__(self, *args: Any, urgent: Callable[[], bool] = lambda: True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urgent = urgent  # whether someone takes the pictures as they come (BlockingReader's wake-ups)
        self.lost_packets = 0
        self.dropped_units = 0

    def events(self) -> Generator[SourceEvent, None, None]:
        loop = asyncio.new_event_loop()
        backoff = self.backoff_initial
        try:
            while not self.stop.is_set():
                client = RtspClient(self.url, self.open_timeout, transport=self.transport,
                                    idle=max(self.read_timeout, 1.0))
                templates = Templates()
                pictures = 0
                try:
                    for item in self._session(loop, client, templates):
                        if isinstance(item, Opened):
                            backoff = self.backoff_initial
                        else:
                            pictures += 1
                        yield item
                    if self.stop.is_set():
                        return
                except RtspProtocolError as err:
                    raise NativeUnsupported(self._say(str(err))) from None
                except RtspError as err:
                    if self.stop.is_set():
                        return
                    yield Lost(self._say(str(err)))
                finally:
                    with contextlib.suppress(RtspError, OSError, RuntimeError):
                        loop.run_until_complete(asyncio.wait_for(client.close(), 3.0))
                    templates.close()
                self.stop.wait(backoff)
                backoff = min(self.backoff_max, backoff * 2)
        finally:
            with contextlib.suppress(RuntimeError):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _say(self, message: str) -> str:
        """The client's message with the camera's address as the FFmpeg path writes it (no password)."""
        where = redact_url(self.url)
        return message.replace(self.url, where)

    def _session(self, loop: asyncio.AbstractEventLoop, client: RtspClient,
                 templates: Templates) -> Iterator[SourceEvent]:
        try:
            tracks = loop.run_until_complete(client.open())
        except SdpError as err:
            raise RtspProtocolError(f"{self.url}: its session description: {err}") from None
        video = next(t for t in tracks if t.media.kind == "video")
        codec = video.media.codec
        if codec not in ("h264", "hevc"):
            raise NativeUnsupported(self._say(
                f"{self.url}: the camera sends {video.media.encoding or 'unknown'} video; Vigil's own client reads "
                "H.264 and H.265, so FFmpeg reads this camera"))
        audio = next((t for t in tracks if t.media.kind == "audio" and t.media.codec == "aac"), None)
        vdep = VideoDepacketizer(codec)
        adep = AacDepacketizer(audio.media.fmtp) if audio is not None else None
        params = parameter_nals(video.media)
        vclock, aclock = RtpClock(), RtpClock()
        vt: Any = None
        at: Any = None
        v0 = 0  # the first picture's RTP time: the session's zero
        self.sender_offset_ms = None  # a new session: a new zero
        report = None
        began = time.monotonic()
        got = False  # media arrived
        try:
            for batch in self._batches(loop, client):
                got = True
                if vt is None and time.monotonic() - began > NO_PICTURE_S:
                    raise RtspProtocolError(f"{self.url}: no usable picture in {NO_PICTURE_S:g} s of streaming")
                # A run of one track's packets at a time, in the order they came: the video depacketizer takes a
                # run in one call.
                for track, run in itertools.groupby(batch, key=operator.itemgetter(0)):
                    if track is video:
                        units = vdep.push_many(data for _, data in run)  # what is not RTP is skipped
                    elif track is audio and vt is not None and adep is not None:
                        for _, data in run:
                            yield from self._audio(adep, aclock, at, data)
                        continue
                    else:
                        continue
                    for au in units:
                        if vt is None:
                            if not au.keyframe:
                                continue  # until a keyframe (or NO_PICTURE_S)
                            vt, at = self._open(templates, codec, params, au, audio)
                            v0 = vclock.since_first(au.timestamp)
                            size = f"{vt.codec_context.width}x{vt.codec_context.height}"
                            yield Opened(vt, at, f"{codec} {size}{self.over()}")
                        pts = vclock.since_first(au.timestamp) - v0
                        if video.sender_report is not report:
                            report = video.sender_report
                            self.sender_offset_ms = sender_offset_ms(report, au.timestamp, pts)
                        yield self._packet(vt, au, pts)
        except RtspError as err:
            if vt is None and got and not isinstance(err, RtspProtocolError):
                # It streamed, but nothing Vigil's client could use before the end: unreadable, not offline.
                raise RtspProtocolError(f"{self.url}: the stream ended before a usable picture ({err})") from None
            raise
        finally:
            self.lost_packets += vdep.lost_packets
            self.dropped_units += vdep.dropped_units

    def _open(self, templates: Templates, codec: str, params: list[bytes], au: AccessUnit,
              audio: Track | None) -> tuple[Any, Any]:
        inband = [n for n in au.nals if is_parameter_set(codec, n)]
        vt = templates.video(codec, annexb(params or inband), annexb(au.nals))
        if vt is None or not (vt.codec_context.width and vt.codec_context.height):
            raise RtspProtocolError(
                f"{self.url}: the camera's video has no picture size (its parameter sets are missing or broken) — "
                "check the camera's codec settings (H.264, H.265 or MJPEG)")
        at = None
        if audio is not None:
            try:
                config = bytes.fromhex(audio.media.fmtp.get("config", ""))
            except ValueError:
                config = b""
            if config:
                at = templates.audio(audio.media.clock_rate, audio.media.channels, config)
        return vt, at

    @staticmethod
    def _packet(stream: Any, au: AccessUnit, pts: int) -> Any:
        pkt = av.Packet(annexb(au.nals))
        # For Vigil's fMP4 writer: the NAL units' sizes, so that it need not search the bytes for them again. Sizes,
        # not the units: a pre-event buffer would hold every picture twice.
        pkt.opaque = tuple(len(n) for n in au.nals)
        pkt.stream = stream
        pkt.time_base = VIDEO_TB
        pkt.pts = pkt.dts = pts
        pkt.is_keyframe = au.keyframe
        return pkt

    @staticmethod
    def _audio(adep: AacDepacketizer, clock: RtpClock, stream: Any, data: Buffer) -> Iterator[Any]:
        if stream is None:
            return
        try:
            frames = adep.push(parse_rtp(data))
        except RtpError:
            return
        for ts, frame in frames:
            pkt = av.Packet(frame)
            pkt.stream = stream
            pkt.time_base = stream.time_base
            pkt.pts = pkt.dts = clock.since_first(ts)
            yield pkt

    def _batches(self, loop: asyncio.AbstractEventLoop, client: RtspClient) -> Iterator[Batch]:
        """The client's batches of RTP packets. Over TCP, this thread reads the connection itself (no event loop
        between the socket and the depacketizer); over UDP, through the client's loop, in short steps so that a
        stop is seen within POLL_S."""
        if client.transport == "tcp":
            reader = BlockingReader(client, urgent=self.urgent)
            try:
                while not self.stop.is_set():
                    yield reader.batch()
            finally:
                reader.close()
            return
        frames: AsyncIterator[Batch] = client.frames()
        task: asyncio.Task[Batch] | None = None
        try:
            while not self.stop.is_set():
                if task is None:
                    task = loop.create_task(_next(frames))
                done, _ = loop.run_until_complete(asyncio.wait({task}, timeout=POLL_S))
                if not done:
                    continue
                finished, task = task, None
                yield finished.result()
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    loop.run_until_complete(task)
            with contextlib.suppress(BaseException):
                loop.run_until_complete(frames.aclose())  # type: ignore[attr-defined]


def sender_offset_ms(report: SenderReport | None, rtp: int, pts: int) -> int | None:
    """Wall ms - pts ms by the camera's clock, from its sender report and a picture's RTP time and pts (1/90000 s,
    from the session's first picture). The report's RTP time is taken as the nearest to the picture's, modulo 2**32:
    a report is at most seconds old."""
    if report is None:
        return None
    delta = (report.rtp - rtp) & 0xFFFF_FFFF
    if delta >= 0x8000_0000:
        delta -= 1 << 32
    return report.wall_ms - ms_of(pts + delta, 1, 90_000)  # the report's RTP time as a pts, as the recorder reads it


async def _next(frames: AsyncIterator[Batch]) -> Batch:
    return await frames.__anext__()
