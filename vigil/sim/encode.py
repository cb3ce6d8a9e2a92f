"""Encoding synthetic pictures to H.264/H.265 access units (PyAV's libx264/libx265)."""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from vigil.media.rtp import parameter_sets, split_annexb
from vigil.sim.scene import Scene, to_i420

CODECS = {"h264": "libx264", "hevc": "libx265", "h265": "libx265"}


@dataclass(frozen=True)
class StreamSpec:
    width: int = 1920
    height: int = 1080
    fps: int = 25
    gop_seconds: float = 2.0
    codec: str = "h264"  # h264 | hevc
    bitrate: int = 4_000_000

    @property
    def gop(self) -> int:
        return max(1, round(self.fps * self.gop_seconds))

    @property
    def norm_codec(self) -> str:
        return "hevc" if self.codec in ("hevc", "h265") else "h264"


@dataclass
class EncodedFrame:
    nals: list[bytes]
    keyframe: bool
    captured: float = 0.0  # wall clock (epoch seconds) its picture shows; 0 when not live


def make_encoder(spec: StreamSpec) -> Any:
    cc: Any = av.CodecContext.create(CODECS[spec.codec], "w")
    cc.width, cc.height = spec.width, spec.height
    cc.pix_fmt = "yuv420p"
    cc.time_base = Fraction(1, spec.fps)
    cc.framerate = Fraction(spec.fps, 1)
    cc.bit_rate = spec.bitrate
    cc.gop_size = spec.gop
    cc.max_b_frames = 0
    g = spec.gop
    if spec.norm_codec == "hevc":
        cc.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x265-params": f"log-level=error:keyint={g}:min-keyint={g}:scenecut=0:bframes=0:repeat-headers=1",
        }
    else:
        cc.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": f"keyint={g}:min-keyint={g}:scenecut=0:bframes=0:threads=1",
        }
    return cc


class Drawable(Protocol):
    def draw(self, index: int, fps: float, wall: float | None = None) -> np.ndarray: ...


def encode_frames(spec: StreamSpec, scene: Drawable, count: int, live: bool = False) -> Iterator[EncodedFrame]:
    """Encode `count` frames (forever if 0); when `live`, print the wall clock and keep real time."""
    cc = make_encoder(spec)
    start = time.time()
    captured: dict[int, float] = {}  # pts → the instant its picture shows, to stamp each packet with
    i = 0
    while count == 0 or i < count:
        due = 0.0
        if live:
            # A camera's sensor captures on a steady beat whatever its encoder's delays: each picture shows, and
            # is stamped with, the instant it was due, and a late one only reaches the viewer later.
            due = start + i / spec.fps
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            elif delay < -2:  # fell behind (a busy machine): drop the backlog rather than drift
                start = time.time() - i / spec.fps
                due = start + i / spec.fps
        img = scene.draw(i, spec.fps, due if live else None)
        frame = av.VideoFrame.from_ndarray(to_i420(img), format="yuv420p")
        frame.pts = i
        captured[i] = due
        if i % spec.gop == 0:
            frame.pict_type = av.video.frame.PictureType.I
        for pkt in cc.encode(frame):
            yield EncodedFrame(split_annexb(bytes(pkt)), pkt.is_keyframe, captured.pop(pkt.pts, 0.0))
        i += 1
    for pkt in cc.encode(None):
        yield EncodedFrame(split_annexb(bytes(pkt)), pkt.is_keyframe, captured.pop(pkt.pts, 0.0))


@dataclass
class Clip:
    spec: StreamSpec
    frames: list[EncodedFrame]

    @property
    def params(self) -> dict[str, bytes]:
        return parameter_sets(self.spec.norm_codec, self.frames[0].nals)


def cache_dir() -> Path:
    env = os.environ.get("VIGIL_SIM_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vigil" / "sim"


def loop_clip(spec: StreamSpec, seconds: float, label: str = "SIM") -> Clip:
    """A pre-encoded clip of whole GOPs, cached on disk: the sim replays it so that many
    high-resolution cameras cost almost no CPU."""
    gops = max(1, round(seconds / spec.gop_seconds))
    count = gops * spec.gop
    key = hashlib.sha1(repr((spec, count, label, 3)).encode()).hexdigest()[:16]
    path = cache_dir() / f"clip-{key}.pickle"
    if path.exists():
        try:
            with path.open("rb") as f:
                frames = pickle.load(f)
            return Clip(spec, frames)
        except (OSError, pickle.PickleError, EOFError):
            pass
    frames = list(encode_frames(spec, Scene(spec.width, spec.height, label), count))
    if not frames or not frames[0].keyframe:
        raise RuntimeError("encoder did not start with a keyframe")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as f:
        pickle.dump(frames, f)
    tmp.replace(path)
    return Clip(spec, frames)
