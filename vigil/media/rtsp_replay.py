"""RTSP playback from a time: rtsp://…/<camera>?start=<epoch ms or ISO-8601> replays the recordings.

Each such client gets its own broadcaster, fed by a thread that reads the recorded segments (PyAV demux, no
decoding) from the keyframe at or before the start, and sends every access unit at its recorded pace, across
segment boundaries, with RTP time following the recording's wall clock. It ends where the recordings end (or
the stream's parameters change), or soon after its client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

import av

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.clock import parse_time
from vigil.errors import NotFoundError
from vigil.log import get_logger
from vigil.media.rtp import split_access_unit, stream_format
from vigil.media.rtsp_broadcast import AccessUnit, Broadcaster
from vigil.media.rtsp_out import CODECS
from vigil.media.segment_files import SegmentFiles

log = get_logger(__name__)
JOIN_SECONDS = 15.0  # a replay nobody PLAYs within this is dropped


def parse_start(value: str) -> int:
    """`?start=`: epoch milliseconds or an ISO-8601 time (UTC when it has no offset)."""
    return parse_time(value, "start")


class Replay:
    def __init__(self, catalog: Catalog, files: SegmentFiles, camera: str, start_ms: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.catalog, self.files, self.camera, self.start_ms, self.loop = catalog, files, camera, start_ms, loop
        self.broadcaster: Broadcaster | None = None
        self._codec = ""
        self._stop = threading.Event()
        self._joined = False
        self._born = time.monotonic()
        self._last_first: int | None = None  # the first segment of the last pass: no progress means the end

    def prepare(self) -> Broadcaster:
        """The broadcaster (its SDP needs the recording's parameter sets); raises NotFoundError when nothing is
        recorded from that time on."""
        segs = self._segments_from(self.start_ms)
        if not segs:
            raise NotFoundError(f"camera {self.camera!r} has no recording at or after {self.start_ms}")
        with self.files.open(segs[0]) as f, av.open(f, "r", format="mp4") as c:
            cc = c.streams.video[0].codec_context
            codec = CODECS.get(cc.name)
            params, _ = stream_format(codec or "", cc.extradata)
        if codec is None or not params:
            raise NotFoundError(f"camera {self.camera!r} was recorded as {cc.name}, which RTSP out does not carry")
        self._codec = codec
        self.broadcaster = Broadcaster(codec, params)
        threading.Thread(target=self._run, daemon=True, name=f"replay-{self.camera}").start()
        return self.broadcaster

    def _segments_from(self, t_ms: int) -> list[SegmentRow]:
        """Segments holding t_ms or later; the open one too (its index row has no end yet: the file has)."""
        return [s for s in self.catalog.segments(self.camera, t_ms - 3_600_000, None)
                if s.end_ms >= t_ms or (s.status == "open" and s.start_ms <= t_ms + 3_600_000)]

    def _watch(self) -> bool:
        """Whether to go on: a client has joined (or may still), and not everybody has left."""
        b = self.broadcaster
        if b is None or self._stop.is_set():
            return False
        if b.clients:
            self._joined = True
        return bool(b.clients) or (not self._joined and time.monotonic() - self._born < JOIN_SECONDS)

    def _run(self) -> None:
        pace: tuple[float, int] | None = None  # (monotonic, wall ms) of the first access unit sent
        last_wall: int | None = None  # of the last unit sent
        pending: list[tuple[int, AccessUnit]] = []  # the GOP before start, sent from its keyframe
        broadcaster = self.broadcaster
        if broadcaster is None:
            return
        try:
            while self._watch():
                since = self.start_ms if last_wall is None else last_wall + 1
                segs = [s for s in self._segments_from(since) if last_wall is None or s.start_ms > last_wall]
                if not segs or segs[0].id == self._last_first:
                    return  # the end of the recordings (or nothing new in them)
                self._last_first = segs[0].id
                for seg in segs:
                    for wall, au in self._units(seg):
                        if last_wall is not None and wall <= last_wall:
                            continue
                        if pace is None and wall < self.start_ms:
                            pending = [] if au.keyframe else pending
                            if au.keyframe or pending:
                                pending.append((wall, au))
                            continue
                        # From the keyframe at or before the start: this one, if it is a keyframe itself.
                        for w, unit in [(wall, au)] if au.keyframe else [*pending, (wall, au)]:
                            if pace is None:
                                if not unit.keyframe:
                                    continue
                                pace = (time.monotonic(), w)
                            delay = pace[0] + (w - pace[1]) / 1000 - time.monotonic()
                            if delay > 0:
                                time.sleep(delay)
                            if not self._watch():
                                return
                            unit.timestamp = ((w - pace[1]) * 90) & 0xFFFFFFFF
                            self.loop.call_soon_threadsafe(broadcaster.publish, unit)
                            last_wall = w
                        pending = []
        except (av.FFmpegError, OSError, RuntimeError) as err:
            log.warning("rtsp_replay_stopped", camera=self.camera, error=str(err))
        finally:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._end)

    def _units(self, seg: SegmentRow) -> Any:
        """(wall ms, access unit) of a segment's video, in order."""
        with self.files.open(seg) as f, av.open(f, "r", format="mp4") as c:
            v = c.streams.video[0]
            if CODECS.get(v.codec_context.name) != self._codec:
                raise RuntimeError(f"the recording's codec changed at {seg.start_ms}")
            _, size = stream_format(self._codec, v.codec_context.extradata)
            first: int | None = None
            for p in c.demux(v):
                if p.pts is None or not p.size:
                    continue
                first = p.pts if first is None else first
                data = bytes(p)
                nals = split_access_unit(data, size)
                yield seg.start_ms + round((p.pts - first) * p.time_base * 1000), AccessUnit(
                    nals, bool(p.is_keyframe), 0)

    def _end(self) -> None:
        if self.broadcaster is not None:
            self.broadcaster.drop_clients(abort=False)

    def stop(self) -> None:
        self._stop.set()
