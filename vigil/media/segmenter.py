"""Remuxes camera packets into fragmented MP4 segment files (never re-encodes).

One fragment per GOP (or per second for intra-only codecs such as MJPEG). The
muxer flushes each fragment to the OS as soon as it is complete, and the file is
fsynced after every fragment, so a crash or power loss costs at most the GOP
being written; `fmp4.repair` cuts that torn tail on the next start.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vigil.errors import StorageError
from vigil.log import get_logger

log = get_logger(__name__)

# AAC and MP3 are the audio codecs the mp4 muxer carries; G.711 (pcm_alaw/mulaw) has no ISO-BMFF mapping there.
MP4_AUDIO = {"aac", "mp3"}
INTRA_ONLY = {"mjpeg", "jpeg2000", "prores"}


@dataclass
class StreamInfo:
    codec: str
    width: int
    height: int


def recordable_audio(stream: Any) -> bool:
    return stream is not None and stream.codec_context.name in MP4_AUDIO


class SegmentWriter:
    """One open segment file. Feed it packets whose first video packet is a keyframe."""

    def __init__(self, path: Path, video: Any, audio: Any | None, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(
                f"cannot create {path.parent}: {err.strerror}; check the storage path and its rights"
            ) from None
        codec = video.codec_context.name
        flags = "empty_moov+default_base_moof" + ("" if codec in INTRA_ONLY else "+frag_keyframe")
        # flush_packets: every finished fragment reaches the OS at once, so kill -9 loses only the open GOP.
        options = {"movflags": flags, "flush_packets": "1"}
        if codec in INTRA_ONLY:
            options["frag_duration"] = "1000000"
        try:
            self._out = av.open(str(path), mode="w", format="mp4", options=options)
            self._video = self._out.add_stream_from_template(video)
            if codec == "hevc":
                # 'hvc1' (parameter sets in the header) is what browsers' MSE and Safari accept.
                self._video.codec_tag = "hvc1"
            self._audio = self._out.add_stream_from_template(audio) if audio is not None else None
            self._out.start_encoding()
        except av.FFmpegError as err:
            self._cleanup_failed()
            raise StorageError(f"cannot write segment {path}: {err}") from None
        except OSError as err:
            self._cleanup_failed()
            raise StorageError(f"cannot write segment {path}: {err.strerror}") from None
        self._fd = os.open(path, os.O_RDONLY) if fsync else -1
        self._video_in = video
        self._audio_in = audio
        # Time bases come from the packets: the source may restamp them (wall clock for MJPEG).
        self._video_tb = Fraction(1, 90000)
        self._v0: int | None = None  # first video dts, in the packets' time base
        self._a0: int | None = None
        self._last_dts: dict[int, int] = {}
        self.first_pts: int | None = None
        self.last_pts: int = 0
        self.packets = 0
        self.dropped = 0
        self.info = StreamInfo(codec, video.codec_context.width or 0, video.codec_context.height or 0)

    def _cleanup_failed(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def elapsed_seconds(self, pts: int) -> float:
        if self.first_pts is None:
            return 0.0
        return float((pts - self.first_pts) * self._video_tb)

    def write(self, packet: Any) -> None:
        is_video = packet.stream is self._video_in
        if is_video:
            if self._v0 is None:
                self._video_tb = packet.time_base
                self._v0 = packet.dts if packet.dts is not None else packet.pts
                self.first_pts = packet.pts
            base = self._v0
            out_stream = self._video
        elif packet.stream is self._audio_in and self._audio is not None:
            if self._v0 is None:
                return  # audio before the first keyframe has nothing to sync to
            if self._a0 is None:
                self._a0 = round(self._v0 * self._video_tb / packet.time_base)
            base = self._a0
            out_stream = self._audio
        else:
            return
        pts = packet.pts - base
        dts = (packet.dts if packet.dts is not None else packet.pts) - base
        key = out_stream.index
        if dts < 0 or dts <= self._last_dts.get(key, -1):
            # The mp4 muxer refuses non-increasing timestamps; a camera glitch costs one packet, not the file.
            self.dropped += 1
            return
        self._last_dts[key] = dts
        packet.stream = out_stream
        packet.pts, packet.dts = pts, dts
        try:
            self._out.mux_one(packet)
        except av.FFmpegError as err:
            raise StorageError(f"write to {self.path} failed: {err}") from None
        except OSError as err:
            raise StorageError(f"write to {self.path} failed: {err.strerror}") from None
        self.packets += 1
        if is_video:
            self.last_pts = pts + (self._v0 or 0)
            if packet.is_keyframe and self._fd >= 0 and self.packets > 1:
                # The muxer has just written the previous fragment: make it durable.
                os.fsync(self._fd)

    def close(self) -> None:
        try:
            self._out.close()
        except (av.FFmpegError, OSError) as err:
            log.warning("segment_close_failed", path=self.path, error=err)
        finally:
            if self._fd >= 0:
                try:
                    os.fsync(self._fd)
                finally:
                    os.close(self._fd)
                    self._fd = -1
