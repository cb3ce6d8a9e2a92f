"""Vigil's own fMP4 writer (native ingest) against FFmpeg's mp4 muxer (`SegmentWriter`): the same packets written
by both give files that FFmpeg reads back alike — every sample's bytes and times, video and sound — that decode
to the same pictures, and whose fragments Vigil's index reads at the same times; a torn last fragment is cut off
by the repair as with FFmpeg's files. Real encoder output (libx264 High and Baseline, libx265, FFmpeg's AAC)."""

from __future__ import annotations

import fractions
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from vigil.media.codec_config import Bits, avcc, hvcc, unescape
from vigil.media.fmp4 import repair, scan_segment
from vigil.media.fmp4_writer import Fmp4Writer, sample
from vigil.media.native_source import Templates, annexb
from vigil.media.rtp import is_parameter_set, split_annexb
from vigil.media.segmenter import SegmentWriter

FPS = 25


def encode(codec: str, profile: str, seconds: float = 4.2) -> tuple[list[list[bytes]], list[bool]]:
    """Access units (NAL lists, Annex B as a camera sends them) of a moving picture, a keyframe each second."""
    ctx: Any = av.CodecContext.create("libx264" if codec == "h264" else "libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 320, 240, "yuv420p"
    ctx.time_base = fractions.Fraction(1, FPS)
    # ultrafast would leave out what makes High profile (CABAC, 8x8 transforms) and write Baseline.
    ctx.options = {"g": str(FPS), "bf": "0", "profile": profile,
                   "preset": "ultrafast" if profile == "baseline" else "veryfast"} if codec == "h264" else {
        "x265-params": f"keyint={FPS}:bframes=0:log-level=error", "preset": "ultrafast"}
    units, keys = [], []
    ramp = np.tile(np.arange(320, dtype=np.uint8), (240, 1))
    for i in range(int(seconds * FPS)):
        img = np.dstack([np.roll(ramp, 5 * i, axis=1), ramp.T[:240, :240].repeat(2, 1)[:, :320], ramp])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
        frame.pts = i
        for p in [*ctx.encode(frame), *(ctx.encode(None) if i == int(seconds * FPS) - 1 else [])]:
            units.append(split_annexb(bytes(p)))
            keys.append(bool(p.is_keyframe))
    return units, keys


def aac_frames(seconds: float) -> tuple[bytes, list[bytes]]:
    enc: Any = av.CodecContext.create("aac", "w")
    enc.sample_rate, enc.layout, enc.format = 16000, "mono", "fltp"
    enc.open()
    out: list[bytes] = []
    t = np.arange(1024) / 16000
    for i in range(int(seconds * 16000 / 1024)):
        frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * (t + i * 1024 / 16000)))[None].astype(
            np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, i * 1024
        out += [bytes(p) for p in enc.encode(frame)]
    return bytes(enc.extradata), out


def packets(codec: str, profile: str, with_sound: bool) -> tuple[Templates, Any, Any, list[Any]]:
    units, keys = encode(codec, profile)
    params = [n for n in units[0] if is_parameter_set(codec, n)]
    t = Templates()
    vt = t.video(codec, annexb(params), annexb(units[0]))
    at, sound = None, []
    if with_sound:
        asc, sound = aac_frames(len(units) / FPS)
        at = t.audio(16000, 1, asc)
    out: list[tuple[float, Any]] = []
    for i, (nals, key) in enumerate(zip(units, keys, strict=True)):
        p = av.Packet(annexb(nals))
        p.stream, p.time_base, p.is_keyframe = vt, fractions.Fraction(1, 90000), key
        p.pts = p.dts = 1_000_000 + i * 3600
        p.duration = 3600
        out.append((i / FPS, p))
    for i, frame in enumerate(sound):
        p = av.Packet(frame)
        p.stream, p.time_base = at, fractions.Fraction(1, 16000)
        p.pts = p.dts = 16000 * 1_000_000 // 90000 + i * 1024 + 160  # sound starts 10 ms after the picture
        out.append((i * 1024 / 16000 + 0.01, p))
    return t, vt, at, [p for _, p in sorted(out, key=lambda x: x[0])]


def write(writer: Any, items: list[Any]) -> None:
    for p in items:
        q = av.Packet(bytes(p))  # each writer gets its own copy: FFmpeg's re-stamps what it is given
        q.stream, q.time_base, q.pts, q.dts, q.is_keyframe = p.stream, p.time_base, p.pts, p.dts, p.is_keyframe
        q.duration = p.duration
        writer.write(q)
    writer.close()


def read_back(path: Path) -> dict[str, list[tuple[float, float, bytes]]]:
    """Per track: (pts, dts) in microseconds and the bytes of every sample."""
    out: dict[str, list[tuple[float, float, bytes]]] = {}
    with av.open(str(path)) as c:
        for s in c.streams:
            out[s.type] = []
        for p in c.demux():
            if p.size and p.pts is not None and p.dts is not None:
                us = 1_000_000 * p.stream.time_base
                out[p.stream.type].append((round(p.pts * us), round(p.dts * us), bytes(p)))
    return out


def decoded(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [f.to_ndarray().tobytes() for f in c.decode(video=0)]


@pytest.mark.parametrize("codec,profile,sound", [("h264", "high", True), ("h264", "baseline", False),
                                                 ("hevc", "main", True)])
def test_own_writer_and_ffmpegs_muxer_write_the_same_stream(tmp_path: Path, codec: str, profile: str,
                                                             sound: bool) -> None:
    t, vt, at, items = packets(codec, profile, sound)
    ours, theirs = tmp_path / "ours.mp4", tmp_path / "theirs.mp4"
    write(Fmp4Writer(ours, vt, at), items)
    write(SegmentWriter(theirs, vt, at), items)
    a, b = read_back(ours), read_back(theirs)
    assert set(a) == set(b) == ({"video", "audio"} if sound else {"video"})
    assert len(a["video"]) == sum(p.stream is vt for p in items) > 100
    assert len(a.get("audio", [])) == sum(p.stream is at for p in items)
    for kind in a:
        # The first sound frame: FFmpeg's muxer moves it to the fragment's start; ours keeps its time.
        skip = 1 if kind == "audio" else 0
        assert [x[2] for x in a[kind]] == [x[2] for x in b[kind]], kind
        assert [x[:2] for x in a[kind][skip:]] == [x[:2] for x in b[kind][skip:]], kind
    assert decoded(ours) == decoded(theirs)
    sa, sb = scan_segment(ours), scan_segment(theirs)
    assert [t / sa.timescale for f in sa.fragments for t in (f.start, f.end)] == pytest.approx(
        [t / sb.timescale for f in sb.fragments for t in (f.start, f.end)], abs=1e-4)
    assert len(sa.fragments) >= 4 and sa.timescale == 90000 and not sa.truncated
    t.close()


def test_a_torn_fragment_is_cut_off_and_the_rest_plays(tmp_path: Path) -> None:
    t, vt, at, items = packets("h264", "main", True)
    path = tmp_path / "torn.mp4"
    write(Fmp4Writer(path, vt, at), items)
    whole = scan_segment(path)
    data = path.read_bytes()
    path.write_bytes(data[:whole.fragments[-1].offset + 100])  # the power went out inside the last fragment
    fixed = repair(path)
    assert [f.start for f in fixed.fragments] == [f.start for f in whole.fragments[:-1]]
    # Every picture before the torn fragment decodes.
    assert len(decoded(path)) == round(whole.fragments[-1].start / whole.timescale * FPS) > 0
    t.close()


def test_configuration_records_read_the_parameter_sets() -> None:
    units, _ = encode("h264", "high", seconds=0.2)
    sps = next(n for n in units[0] if n[0] & 0x1F == 7)
    rec = avcc(units[0])
    assert sps[1] == 100  # High
    assert rec[:4] == bytes((1, sps[1], sps[2], sps[3])) and rec[4] == 0xFF  # 4-byte NAL lengths
    assert rec[-4:-1] == bytes((0xFD, 0xF8, 0xF8))  # High profile: 4:2:0, 8-bit
    units, _ = encode("hevc", "main", seconds=0.2)
    rec = hvcc(units[0])
    assert rec[0] == 1 and rec[1] & 0x1F == 1 and rec[22] == 3  # Main profile; three arrays (VPS, SPS, PPS)
    assert unescape(b"\x00\x00\x03\x01") == b"\x00\x00\x01"
    assert Bits(bytes((0b00101000,))).ue() == 4  # 00101 → 4


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_samples_from_known_nal_sizes_equal_samples_found_by_start_codes(codec: str) -> None:
    """Native ingest tells the writer each picture's NAL unit sizes (`packet.opaque`) instead of having it search
    the bytes: the same samples, parameter sets left out alike for H.265; sizes that do not fit the bytes are
    not trusted."""
    units, _ = encode(codec, "main" if codec == "hevc" else "high", seconds=1.2)
    assert any(is_parameter_set(codec, n) for n in units[0])
    for nals in units:
        data = annexb(nals)
        searched = sample(data, None, codec == "hevc")
        assert sample(data, tuple(len(n) for n in nals), codec == "hevc") == searched
        assert sample(data, (len(data),), codec == "hevc") == searched
        assert sample(data, (1,) * len(data), codec == "hevc") == searched
    if codec == "hevc":  # the keyframe's sample holds no VPS, SPS or PPS
        first = sample(annexb(units[0]), tuple(len(n) for n in units[0]), True)
        assert len(first) == sum(4 + len(n) for n in units[0] if not is_parameter_set(codec, n))
