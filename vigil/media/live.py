"""Live view: per-frame fragmented MP4 for Media Source Extensions, without re-encoding.

A `LiveStream` remuxes one camera stream's packets into an init segment (ftyp+moov) and one
fragment (moof+mdat) per frame, and hands them to subscribers (WebSocket viewers). A new viewer gets
the init segment and then fragments from the next keyframe, so the browser can start decoding at once.
The main stream is fed by the recorder (no second connection to the camera); a sub-stream is read by a
`LiveReader` only while somebody watches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import av

from vigil.log import get_logger
from vigil.media.source import CameraSource, Lost, Opened

log = get_logger(__name__)
IDLE_STOP_SECONDS = 10.0


def mime_type(codec: str, extradata: bytes | None, init: bytes) -> str:
    """The MSE type string, e.g. video/mp4; codecs="avc1.64001f"."""
    if codec in ("h264", "libx264"):
        i = init.find(b"avcC")
        if i > 0:
            return f'video/mp4; codecs="avc1.{init[i + 5:i + 8].hex()}"'
        return 'video/mp4; codecs="avc1.42e01f"'
    if codec == "hevc":
        return 'video/mp4; codecs="hvc1.1.6.L120.90"'
    return f'video/mp4; codecs="{codec}"'


class _Sink(io.RawIOBase):
    """Collects what the muxer writes and cuts it into whole top-level boxes."""

    def __init__(self, on_box: Callable[[bytes, bytes], None]) -> None:
        self._buf = bytearray()
        self._on_box = on_box

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._buf += b
        while len(self._buf) >= 8:
            size = int.from_bytes(self._buf[:4], "big")
            if size < 8 or len(self._buf) < size:
                break
            box = bytes(self._buf[:size])
            del self._buf[:size]
            self._on_box(box[4:8], box)
        return len(b)


class Subscriber:
    """One viewer: an asyncio queue fed from the muxing thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int = 200) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize)
        self.started = False  # waiting for a keyframe

    def put(self, data: bytes | None) -> None:
        def _put() -> None:
            if self.queue.full():
                # A viewer that cannot keep up skips to the next keyframe instead of lagging forever.
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.started = False
                return
            self.queue.put_nowait(data)

        self.loop.call_soon_threadsafe(_put)


class LiveStream:
    def __init__(self, name: str) -> None:
        self.name = name
        self.init: bytes | None = None
        self.mime = ""
        self.subscribers: set[Subscriber] = set()
        self.online = False
        self.last_viewer = time.monotonic()
        self._lock = threading.Lock()
        self._out: Any = None
        self._stream: Any = None
        self._template: Any = None
        self._base: int | None = None
        self._moof: bytes = b""
        self._key = False
        self._last_dts = -1
        self._source: Any = None  # the camera stream this one was opened for
        self.taps: set[Any] = set()  # renditions made from this stream's packets (media/transcode.py)

    # producer side (a recorder or reader thread)
    def open(self, template: Any) -> None:
        """(Re)start the muxer for a newly opened camera stream."""
        self.close()
        self._template = self._source = template
        self._base = None
        self._last_dts = -1
        self._out = self.muxer()
        self._stream = self._out.add_stream_from_template(template)
        self._init_parts: list[bytes] = []
        self._out.start_encoding()
        self.online = True
        for tap in list(self.taps):
            tap.open(template)

    def muxer(self) -> Any:
        """A per-frame fragmented MP4 muxer whose boxes come to `_on_box`."""
        return av.open(_Sink(self._on_box), mode="w", format="mp4", options={
            "movflags": "empty_moov+default_base_moof+frag_every_frame", "flush_packets": "1"})

    @property
    def codec(self) -> str | None:
        """The camera stream's codec (h264, hevc …), once it has been opened."""
        return str(self._source.codec_context.name) if self._source is not None else None

    @property
    def wanted(self) -> bool:
        """Whether anybody watches this stream or a rendition made from it."""
        return bool(self.subscribers) or any(t.subscribers for t in list(self.taps))

    def add_tap(self, tap: Any) -> None:
        if tap not in self.taps:
            self.taps.add(tap)
            if self._source is not None:
                tap.open(self._source)

    def _on_box(self, kind: bytes, box: bytes) -> None:
        if kind in (b"ftyp", b"moov"):
            self._init_parts.append(box)
            if kind == b"moov":
                self.init = b"".join(self._init_parts)
                cc = self._template.codec_context
                self.mime = mime_type(cc.name, cc.extradata, self.init)
        elif kind == b"moof":
            self._moof = box
        elif kind == b"mdat" and self._moof:
            self._publish(self._moof + box, self._key_of(self._moof))
            self._moof = b""

    @staticmethod
    def _key_of(moof: bytes) -> bool:
        # trun first-sample-flags / sample flags: bit 16 of sample_flags is "non-sync sample".
        i = moof.find(b"trun")
        if i < 0:
            return False
        flags = int.from_bytes(moof[i + 5 : i + 8], "big")
        pos = i + 12
        if flags & 0x01:
            pos += 4
        if flags & 0x04:
            return not (int.from_bytes(moof[pos : pos + 4], "big") >> 16) & 1
        if flags & 0x400:
            pos += 4 if flags & 0x100 else 0
            pos += 4 if flags & 0x200 else 0
            return not (int.from_bytes(moof[pos : pos + 4], "big") >> 16) & 1
        return True

    def _publish(self, fragment: bytes, key: bool) -> None:
        with self._lock:
            subs = list(self.subscribers)
        for sub in subs:
            if not sub.started:
                if not key or self.init is None:
                    continue
                sub.started = True
                sub.put(self.init)
            sub.put(fragment)

    def feed(self, packet: Any) -> None:
        """Mux a copy of a video packet (the caller's packet is left untouched)."""
        for tap in list(self.taps):
            if tap.subscribers:
                try:
                    tap.feed(packet)
                except Exception as err:  # a rendition's trouble must never reach the recorder that feeds it
                    log.error("live_tap_failed", stream=tap.name, error=repr(err))
                    self.taps.discard(tap)
        if self._out is None or packet.pts is None or not self.subscribers:
            return
        dts = packet.dts if packet.dts is not None else packet.pts
        if self._base is None:
            if not packet.is_keyframe:
                return
            self._base = dts
        pts, dts = packet.pts - self._base, dts - self._base
        if dts <= self._last_dts:
            return
        self._last_dts = dts
        copy = av.Packet(bytes(packet))
        copy.stream = self._stream
        copy.time_base = packet.time_base
        copy.pts, copy.dts = pts, dts
        copy.duration = packet.duration or 0
        copy.is_keyframe = packet.is_keyframe
        try:
            self._out.mux_one(copy)
        except (av.FFmpegError, ValueError) as err:
            log.warning("live_mux_failed", stream=self.name, error=err)

    def close(self) -> None:
        self.online = False
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(av.FFmpegError, OSError, ValueError):
                out.close()
        with self._lock:
            subs = list(self.subscribers)
        for sub in subs:
            sub.started = False

    # viewer side
    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Subscriber:
        sub = Subscriber(loop)
        with self._lock:
            self.subscribers.add(sub)
        self.last_viewer = time.monotonic()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self.subscribers.discard(sub)
        self.last_viewer = time.monotonic()

    def idle(self) -> bool:
        return not self.wanted and time.monotonic() - max([self.last_viewer, *(t.last_viewer for t in self.taps)]) \
            > IDLE_STOP_SECONDS


class PacketSink(Protocol):
    def open(self, video: Any) -> None: ...
    def feed(self, packet: Any) -> None: ...
    def close(self) -> None: ...
    def idle(self) -> bool: ...


class LiveReader:
    """Reads a sub-stream while anything uses it (the analysis, live view, RTSP out: one connection to the camera
    for all of them), and stops after a while without any."""

    def __init__(self, url: str, sinks: list[PacketSink], name: str, open_timeout: float = 5.0,
                 read_timeout: float = 3.0, transport: Literal["tcp", "udp"] = "tcp") -> None:
        self.sinks = sinks
        self._stop = threading.Event()
        self._source = CameraSource(url, self._stop, open_timeout, read_timeout, transport=transport)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"live-{name}")
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        video = None
        for item in self._source.events():
            if isinstance(item, Opened):
                video = item.video
                for sink in self.sinks:
                    sink.open(video)
            elif isinstance(item, Lost):
                for sink in self.sinks:
                    sink.close()
            elif item.stream is video:
                for sink in self.sinks:
                    sink.feed(item)
            if all(sink.idle() for sink in self.sinks):
                self._stop.set()
        for sink in self.sinks:
            sink.close()

    def stop(self) -> None:
        self._stop.set()
