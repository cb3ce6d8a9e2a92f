"""H.264 playback and downloads of recordings a browser cannot decode (H.265 in most desktop Chromium and Firefox
builds). Recording never changes: this makes a rendition on demand, while it is watched.

Each recorded fragment (one GOP, so it starts at a keyframe) is decoded and encoded on its own: any fragment can
be made without the ones before it — a seek costs one GOP, not the hour before it — and kept in a small cache, so
seeking back or a second viewer costs nothing. libx264 with the live rendition's settings (no B-frames) gives every
fragment the same parameter sets at a given size, so the fragments share the first one's init segment and play as
one stream once their decode times are moved onto the range's timeline (the same `patch_moof` playback uses).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from vigil.errors import SegmentError
from vigil.log import get_logger
from vigil.media.fmp4 import patch_moof, scan_file
from vigil.media.playback import FragmentRef, Plan, fragment_bytes, read_init
from vigil.media.segment_files import SegmentFiles
from vigil.media.transcode import X264_OPTIONS, scaled

log = get_logger(__name__)
TIME_BASE = Fraction(1, 90_000)
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


class TranscodeBusy(Exception):
    """All playback transcoders are in use."""


@dataclass(frozen=True)
class H264Fragment:
    init: bytes  # ftyp + moov of the rendition
    body: bytes  # moof + mdat, its first picture at decode time 0
    timescale: int  # of the rendition's video track
    pictures: int


def codecs_of(init: bytes) -> str:
    """The RFC 6381 codecs string of an H.264 init segment (avc1.PPCCLL from its avcC), for MediaSource."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        raise SegmentError("the rendition has no avcC box")
    profile, compat, level = init[at + 5], init[at + 6], init[at + 7]
    return f"avc1.{profile:02x}{compat:02x}{level:02x}"


def transcode_fragment(files: SegmentFiles, frag: FragmentRef, max_height: int) -> H264Fragment:
    """One recorded fragment as H.264 (video only: the recording's sound is not carried over)."""
    source = read_init(files, frag.segment) + fragment_bytes(files, frag, frag.wall_ms, 1)
    out = io.BytesIO()
    pictures = 0
    with av.open(io.BytesIO(source), "r", format="mp4") as inp, \
            av.open(out, "w", format="mp4", options={"movflags": MOVFLAGS}) as dst:
        video = inp.streams.video[0]
        video.thread_type = "AUTO"
        tb = video.time_base
        if tb is None:
            raise SegmentError(f"{frag.segment.path}: the recording's video has no time base")
        stream: Any = None
        first: int | None = None
        for frame in inp.decode(video):
            if frame.pts is None:
                continue
            if stream is None:
                stream = dst.add_stream("libx264", options=X264_OPTIONS)
                stream.width, stream.height = scaled(frame.width, frame.height, max_height)
                stream.pix_fmt = "yuv420p"
                stream.time_base = stream.codec_context.time_base = TIME_BASE
                first = frame.pts
            assert first is not None
            pts = int((frame.pts - first) * tb / TIME_BASE)
            if (frame.width, frame.height) != (stream.width, stream.height):
                frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            frame.pts, frame.time_base = pts, TIME_BASE
            frame.pict_type = av.video.frame.PictureType.I if pictures == 0 else av.video.frame.PictureType.NONE
            for packet in stream.encode(frame):
                dst.mux(packet)
            pictures += 1
        if stream is None:
            raise SegmentError(f"{frag.segment.path}: fragment {frag.index} holds no picture")
        for packet in stream.encode(None):
            dst.mux(packet)
    data = out.getvalue()
    scan = scan_file(io.BytesIO(data), len(data))
    if not scan.fragments:
        raise SegmentError(f"{frag.segment.path}: fragment {frag.index} gave no H.264 fragment")
    return H264Fragment(data[:scan.init_size], data[scan.init_size:scan.valid_end], scan.timescale, pictures)


class FragmentCache:
    """Renditions of recent fragments, least recently used out first, within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, int, int, int], H264Fragment] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[int, int, int, int]) -> H264Fragment | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[int, int, int, int], value: H264Fragment) -> None:
        size = len(value.body) + len(value.init)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body) + len(old.init)
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, gone = self._items.popitem(last=False)
                self._bytes -= len(gone.body) + len(gone.init)


class H264Playback:
    """Streams a playback range as one fragmented H.264 MP4, at most `max_sessions` ranges at once."""

    def __init__(self, files: SegmentFiles, max_height: int, max_sessions: int, cache_bytes: int = 64 << 20) -> None:
        self.files, self.max_height, self.max_sessions = files, max_height, max_sessions
        self.cache = FragmentCache(cache_bytes)
        self._slots = threading.BoundedSemaphore(max(1, max_sessions))

    def fragment(self, frag: FragmentRef) -> H264Fragment:
        key = (frag.segment.id, frag.offset, frag.size, self.max_height)
        hit = self.cache.get(key)
        if hit is None:
            hit = transcode_fragment(self.files, frag, self.max_height)
            self.cache.put(key, hit)
        return hit

    def open(self, plan: Plan) -> tuple[str, Iterator[bytes]]:
        """(the MediaSource codecs string, the MP4's bytes): the first fragment is made before this returns, so
        a range that cannot be transcoded fails here, with a status the caller can still send."""
        if self.max_sessions <= 0 or not self._slots.acquire(blocking=False):
            raise TranscodeBusy(f"{self.max_sessions} playback transcodes already run "
                                "(live.transcode.max_sessions): try again shortly, or raise the limit")
        try:
            first = self.fragment(plan.fragments[0])
        except BaseException:
            self._slots.release()
            raise
        return codecs_of(first.init), self._stream(plan, first)

    def _stream(self, plan: Plan, first: H264Fragment) -> Iterator[bytes]:
        try:
            yield first.init
            for seq, frag in enumerate(plan.fragments, start=1):
                made = first if seq == 1 else self.fragment(frag)
                if made.init != first.init:
                    break  # the camera changed resolution: one MP4 cannot hold both
                shift = round((frag.wall_ms - plan.start_ms) * made.timescale / 1000)
                yield from _retimed(made, shift, seq)
        except (SegmentError, av.FFmpegError, OSError) as err:
            # The answer has started: the stream ends early, and the log says why.
            log.warning("playback_transcode_failed", camera=plan.camera, error=str(err))
        finally:
            self._slots.release()


def _retimed(made: H264Fragment, shift: int, sequence: int) -> Iterator[bytes]:
    """The rendition's moof(s), moved by `shift` ticks and numbered, each with its mdat."""
    body, at = made.body, 0
    while at + 8 <= len(body):
        size = int.from_bytes(body[at:at + 4], "big")
        kind = body[at + 4:at + 8]
        box = body[at:at + size]
        yield patch_moof(box, {1: shift}, sequence) if kind == b"moof" else box
        at += size
