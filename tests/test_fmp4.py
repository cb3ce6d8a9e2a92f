"""Segment repair: a file cut anywhere is trimmed to its last whole fragment and still decodes."""

from __future__ import annotations

import random
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vigil.media.fmp4 import repair, scan_segment


def make_fmp4(path: Path, seconds: int = 4, fps: int = 25, gop: int = 25) -> None:
    with av.open(str(path), "w", format="mp4",
                 options={"movflags": "empty_moov+default_base_moof+frag_keyframe"}) as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = 320, 240, "yuv420p"
        st.codec_context.gop_size = gop
        st.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        st.codec_context.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            img = np.full((240, 320, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(st.encode(frame))
        out.mux(st.encode(None))


def decoded_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_scan_of_whole_file(tmp_path: Path) -> None:
    f = tmp_path / "seg.mp4"
    make_fmp4(f)
    scan = scan_segment(f)
    assert not scan.truncated
    assert len(scan.fragments) == 4
    assert scan.duration_ms == 4000
    assert [ms for ms, _ in scan.keyframes_ms()] == [0, 1000, 2000, 3000]


def test_repair_after_cuts_anywhere(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    make_fmp4(whole)
    scan = scan_segment(whole)
    cuts = [f.offset + 3 for f in scan.fragments] + [f.offset + f.size - 1 for f in scan.fragments]
    cuts += random.Random(7).sample(range(scan.fragments[0].offset, scan.file_size), 10)
    for cut in cuts:
        f = tmp_path / f"cut{cut}.mp4"
        shutil.copy(whole, f)
        with f.open("r+b") as fh:
            fh.truncate(cut)
        fixed = repair(f)
        whole_before = [fr for fr in scan.fragments if fr.offset + fr.size <= cut]
        assert len(fixed.fragments) == len(whole_before)
        assert f.stat().st_size == (whole_before[-1].offset + whole_before[-1].size if whole_before
                                    else scan.fragments[0].offset)
        if whole_before:
            assert decoded_frames(f) == 25 * len(whole_before)


def test_garbage_tail_is_cut(tmp_path: Path) -> None:
    f = tmp_path / "seg.mp4"
    make_fmp4(f, seconds=2)
    size = f.stat().st_size
    with f.open("ab") as fh:
        fh.write(b"\x00\x00\x10\x00moof" + b"\xff" * 100)
    assert repair(f).file_size == size
    assert decoded_frames(f) == 50
