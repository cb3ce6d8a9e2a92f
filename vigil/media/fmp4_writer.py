"""Vigil's own fragmented-MP4 segment writer, for native ingest: the camera's H.264/H.265 access units (and AAC
frames) laid into the same files the FFmpeg muxer writes (`segmenter.SegmentWriter`) — `ftyp moov (moof mdat)*`,
one fragment per GOP, each fsynced as it is written — without handing every packet to FFmpeg.

Why our own: the samples need no processing, only boxes around them, and FFmpeg's muxer costs a Python call and a
copy per packet; here a GOP's samples are gathered and written with one `write` per fragment. Same interface as
`SegmentWriter`, so the recorder uses either. Crash safety is the same: a fragment reaches the disk whole or is
cut off by `fmp4.repair` on the next start.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from vigil.errors import StorageError
from vigil.media.codec_config import CodecConfigError, avcc, esds, hvcc
from vigil.media.rtp import is_parameter_set, split_annexb
from vigil.media.segmenter import StreamInfo

VIDEO_TRACK, AUDIO_TRACK = 1, 2
KEY_FLAGS = 0x02000000  # sample_depends_on = 2: a sync sample
DELTA_FLAGS = 0x01010000  # depends on others, not a sync sample
CODECS = ("h264", "hevc")


def box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *parts)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _track(track_id: int, handler: bytes, name: bytes, timescale: int, media_header: bytes, entry: bytes,
           width: int = 0, height: int = 0) -> bytes:
    volume = 0x0100 if handler == b"soun" else 0
    tkhd = full(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, track_id, 0, 0), bytes(8),
                struct.pack(">hhhH", 0, 0, volume, 0), MATRIX, struct.pack(">II", width << 16, height << 16))
    mdhd = full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, 0x55C4, 0))  # language 'und'
    hdlr = full(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name + b"\x00")
    dinf = box(b"dinf", full(b"dref", 0, 0, struct.pack(">I", 1), full(b"url ", 0, 1)))
    stbl = box(b"stbl", full(b"stsd", 0, 0, struct.pack(">I", 1), entry),
               full(b"stts", 0, 0, bytes(4)), full(b"stsc", 0, 0, bytes(4)),
               full(b"stsz", 0, 0, bytes(8)), full(b"stco", 0, 0, bytes(4)))
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", media_header, dinf, stbl)))


def init_segment(codec: str, width: int, height: int, parameter_sets: list[bytes],
                 audio: tuple[int, int, bytes] | None) -> bytes:
    """ftyp + moov for one video track (90 kHz) and, with (sample rate, channels, AudioSpecificConfig), AAC."""
    config = box(b"avcC", avcc(parameter_sets)) if codec == "h264" else box(b"hvcC", hvcc(parameter_sets))
    visual = (bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HHIIIH", width, height, 0x480000,
                                                                       0x480000, 0, 1)
              + bytes(32) + struct.pack(">Hh", 0x18, -1))
    entry = box(b"avc1" if codec == "h264" else b"hvc1", visual, config)
    traks = [_track(VIDEO_TRACK, b"vide", b"VideoHandler", 90000, full(b"vmhd", 0, 1, bytes(8)), entry,
                    width, height)]
    trex = [full(b"trex", 0, 0, struct.pack(">IIIII", VIDEO_TRACK, 1, 0, 0, 0))]
    if audio is not None:
        rate, channels, asc = audio
        mp4a = box(b"mp4a", bytes(6) + struct.pack(">H", 1) + bytes(8) + struct.pack(">HHHHI", channels, 16, 0, 0,
                                                                                        rate << 16),
                   full(b"esds", 0, 0, esds(AUDIO_TRACK, asc)))
        traks.append(_track(AUDIO_TRACK, b"soun", b"SoundHandler", rate, full(b"smhd", 0, 0, bytes(4)), mp4a))
        trex.append(full(b"trex", 0, 0, struct.pack(">IIIII", AUDIO_TRACK, 1, 0, 0, 0)))
    mvhd = full(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0), struct.pack(">IH", 0x10000, 0x0100), bytes(10),
                MATRIX, bytes(24), struct.pack(">I", len(traks) + 1))
    ftyp = box(b"ftyp", b"iso5", struct.pack(">I", 512), b"iso5iso6mp41")
    return ftyp + box(b"moov", mvhd, *traks, box(b"mvex", *trex))


@dataclass
class _Samples:
    """One track's samples of the fragment being gathered."""

    data: list[bytes] = field(default_factory=list)
    dts: list[int] = field(default_factory=list)
    pts: list[int] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)  # filled as the next sample (or the end) is known

    def add(self, data: bytes, dts: int, pts: int, flags: int) -> None:
        if self.dts:
            self.durations.append(dts - self.dts[-1])
        self.data.append(data)
        self.dts.append(dts)
        self.pts.append(pts)
        self.flags.append(flags)

    def traf(self, track_id: int, base: int, data_offset: int, last_duration: int) -> bytes:
        durations = [*self.durations, last_duration]
        offsets = [p - d for p, d in zip(self.pts, self.dts, strict=True)]
        with_offsets = any(offsets)
        flags = 0x001 | 0x100 | 0x200 | 0x400 | (0x800 if with_offsets else 0)
        rows = b"".join(struct.pack(">IIIi", du, len(da), fl, off) if with_offsets else
                        struct.pack(">III", du, len(da), fl)
                        for du, da, fl, off in zip(durations, self.data, self.flags, offsets, strict=True))
        tfhd = full(b"tfhd", 0, 0x020000, struct.pack(">I", track_id))  # default-base-is-moof
        tfdt = full(b"tfdt", 1, 0, struct.pack(">Q", base))
        trun = full(b"trun", 1, flags, struct.pack(">Ii", len(self.data), data_offset), rows)
        return box(b"traf", tfhd, tfdt, trun)


def sample(data: bytes, sizes: Any, hevc: bool) -> bytes:
    """An access unit in Annex B → an MP4 sample (each NAL unit after its 4-byte size). `sizes`: the NAL units'
    sizes when known — native ingest's packets carry them (`packet.opaque`), each unit after a 4-byte start
    code — else the start codes are searched for. H.265 ('hvc1') keeps its parameter sets in the sample entry
    only (ISO/IEC 14496-15 §8.4.1): they are left out."""
    if isinstance(sizes, tuple):
        view, pos = memoryview(data), 4
        parts: list[bytes | memoryview] = []
        for size in sizes:
            if pos + size > len(data):
                break
            nal = view[pos:pos + size]
            if not (hevc and is_parameter_set("hevc", nal)):
                parts += (struct.pack(">I", size), nal)
            pos += size + 4
        else:
            if pos == len(data) + 4:  # else the sizes do not describe these bytes: searched for below
                return b"".join(parts)
    nals = split_annexb(data)
    if hevc:
        nals = [n for n in nals if not is_parameter_set("hevc", n)]
    return b"".join(struct.pack(">I", len(n)) + n for n in nals)


def _exact(f: Fraction) -> Fraction | int:
    return f.numerator if f.denominator == 1 else f


class Fmp4Writer:
    """One open segment file (H.264/H.265 video, optional AAC). Feed it packets whose first video packet is a
    keyframe; the same interface as `segmenter.SegmentWriter`."""

    def __init__(self, path: Path, video: Any, audio: Any | None, fsync: bool = True) -> None:
        self.path = path
        cc = video.codec_context
        codec = cc.name
        if codec not in CODECS:
            raise StorageError(f"Vigil's own writer takes H.264 and H.265, not {codec}")
        try:
            params = split_annexb(bytes(cc.extradata or b""))
            acfg = audio.codec_context if audio is not None else None
            head = init_segment(codec, int(cc.width), int(cc.height), params,
                                (int(acfg.sample_rate), len(acfg.layout.channels), bytes(acfg.extradata))
                                if acfg is not None and acfg.extradata else None)
        except CodecConfigError as err:
            raise StorageError(f"cannot write segment {path}: the camera's parameter sets: {err}") from None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as err:
            raise StorageError(f"cannot create {path}: {err.strerror}; check the storage path and its rights") from None
        self._fsync = fsync
        self._hevc = codec == "hevc"
        self._video_in = video
        self._audio_in = audio if audio is not None and audio.codec_context.extradata else None
        self._audio_tb = Fraction(1, int(acfg.sample_rate)) if acfg is not None else Fraction(1, 1)
        self._video_tb = Fraction(1, 90000)
        self._v0: int | None = None
        self._a0: int | None = None
        # Input ticks → track ticks, fixed by the first packet: an int when exact (native ingest's 1/90000 video
        # is 1), so most packets need no Fraction arithmetic.
        self._video_scale: Fraction | int = 1
        self._audio_scale: Fraction | int = 1
        self._video = _Samples()
        self._audio = _Samples()
        self._last_video_dts = -1
        self._last_audio_dts = -1
        self._video_delta = 3600
        self._audio_delta = 1024
        self._sequence = 0
        self.first_pts: int | None = None
        self.last_pts = 0
        self.packets = 0
        self.dropped = 0
        self.info = StreamInfo(codec, int(cc.width or 0), int(cc.height or 0))
        self._write(head)

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._fd, data)
        except OSError as err:
            raise StorageError(f"write to {self.path} failed: {err.strerror}") from None

    def elapsed_seconds(self, pts: int) -> float:
        if self.first_pts is None:
            return 0.0
        return float((pts - self.first_pts) * self._video_tb)

    def write(self, packet: Any) -> None:
        if packet.stream is self._video_in:
            self._write_video(packet)
        elif self._audio_in is not None and packet.stream is self._audio_in:
            self._write_audio(packet)

    def _write_video(self, packet: Any) -> None:
        raw_dts = packet.dts if packet.dts is not None else packet.pts
        if self._v0 is None:
            tb = packet.time_base  # read once: each read makes a Fraction
            self._video_tb = tb
            self._v0 = raw_dts
            self.first_pts = packet.pts
            self._video_scale = _exact(tb * 90000)  # the track's timescale is 90 kHz, what RTP video uses
        scale = self._video_scale
        dts = int((raw_dts - self._v0) * scale)
        pts = int((packet.pts - self._v0) * scale)
        if dts < 0 or dts <= self._last_video_dts:
            self.dropped += 1  # a camera glitch costs one packet, not the file
            return
        if packet.is_keyframe and self._video.data:
            self._flush(next_video_dts=dts)
        if self._last_video_dts >= 0:
            self._video_delta = dts - self._last_video_dts
        self._last_video_dts = dts
        self._video.add(sample(bytes(packet), packet.opaque, self._hevc), dts, pts,
                        KEY_FLAGS if packet.is_keyframe else DELTA_FLAGS)
        self.packets += 1
        self.last_pts = packet.pts

    def _write_audio(self, packet: Any) -> None:
        if self._v0 is None:
            return  # sound before the first keyframe has nothing to sync to
        if self._a0 is None:
            self._a0 = round(self._v0 * self._video_tb / packet.time_base)
            self._audio_scale = _exact(packet.time_base / self._audio_tb)
        dts = int((packet.pts - self._a0) * self._audio_scale)
        if dts < 0 or dts <= self._last_audio_dts:
            self.dropped += 1
            return
        if self._last_audio_dts >= 0:
            self._audio_delta = dts - self._last_audio_dts
        self._last_audio_dts = dts
        self._audio.add(bytes(packet), dts, dts, KEY_FLAGS)
        self.packets += 1

    def _flush(self, next_video_dts: int | None = None) -> None:
        """The gathered GOP (and the sound beside it) as one moof + mdat, made durable."""
        v, a = self._video, self._audio
        if not v.data:
            return
        self._sequence += 1
        last_video = (next_video_dts - v.dts[-1]) if next_video_dts is not None else self._video_delta
        tracks = [(VIDEO_TRACK, v, last_video)] + ([(AUDIO_TRACK, a, self._audio_delta)] if a.data else [])
        # The moof's size does not depend on the data offsets it holds: lay it out once, then with them.
        offsets = [0] * len(tracks)
        for _ in range(2):
            trafs = [s.traf(tid, s.dts[0], off, last) for (tid, s, last), off in zip(tracks, offsets, strict=True)]
            moof = box(b"moof", full(b"mfhd", 0, 0, struct.pack(">I", self._sequence)), *trafs)
            pos = len(moof) + 8
            for i, (_, s, _) in enumerate(tracks):
                offsets[i] = pos
                pos += sum(len(d) for d in s.data)
        payload = b"".join(d for _, s, _ in tracks for d in s.data)
        self._write(moof + struct.pack(">I", 8 + len(payload)) + b"mdat" + payload)
        if self._fsync:
            os.fsync(self._fd)
        self._video, self._audio = _Samples(), _Samples()

    def close(self) -> None:
        try:
            self._flush()
        finally:
            try:
                if self._fsync:
                    os.fsync(self._fd)
            finally:
                os.close(self._fd)
