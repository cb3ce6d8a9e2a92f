"""One camera's analytics, frame by frame: motion gate → detector → tracker → rules (pure computation).

The detector is the expensive step, so it runs only when motion says something moved, on a short heartbeat
while targets are being tracked (a person standing still must stay tracked to loiter), and on a slow heartbeat
otherwise (a target already standing there when analysis started).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vigil.analytics.detector import Detection, Detector
from vigil.analytics.geometry import Box
from vigil.analytics.motion import MotionDetector, MotionResult
from vigil.analytics.regions import detection_region
from vigil.analytics.rules import Firing, Rule, RuleEngine, Target
from vigil.analytics.tracker import Track, Tracker

CONFIRM_FRAMES = 2


@dataclass(frozen=True)
class GateSettings:
    enabled: bool = True  # off: the detector runs on every analysed frame
    track_heartbeat_ms: int = 1000
    idle_heartbeat_ms: int = 10_000
    regions: bool = True  # when little of the picture moves, detect only around it (and around tracked targets)
    full_every_ms: int = 2000  # …with a pass over the whole picture at least this often


@dataclass
class FrameResult:
    t_ms: int
    motion: MotionResult
    detected: bool = False
    region: Box | None = None  # where the detector looked, when not the whole picture
    detections: list[Detection] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    firings: list[Firing] = field(default_factory=list)
    ended: list[Track] = field(default_factory=list)


class Pipeline:
    def __init__(self, detector: Detector, rules: Sequence[Rule] = (), motion: MotionDetector | None = None,
                 tracker: Tracker | None = None, gate: GateSettings | None = None) -> None:
        self.detector = detector
        self.motion = motion or MotionDetector()
        self.tracker = tracker or Tracker()
        self.gate = gate or GateSettings()
        self._fixed_masks = self.motion.masks()
        self.engine = RuleEngine(rules)
        self._apply_masks(rules)
        self._last_detect_ms: int | None = None
        self._last_full_ms: int | None = None
        self.regions_run = 0
        # After a run that found something the tracker does not follow yet, this many next frames are detected
        # too, so a still target found by a heartbeat is confirmed at once (bounded: a statue that scores low
        # forever must not keep the detector running).
        self._confirm_left = 0
        self.frames = 0
        self.detections_run = 0

    def set_rules(self, rules: Sequence[Rule]) -> None:
        self.engine = RuleEngine(rules)
        self._apply_masks(rules)

    def _apply_masks(self, rules: Sequence[Rule]) -> None:
        """Motion masks: the configured ones plus those drawn as rules of kind `mask`."""
        drawn = [list(r.points) for r in rules if r.kind == "mask" and r.enabled]
        self.motion.set_masks([*self._fixed_masks, *drawn])

    def _should_detect(self, t_ms: int, motion: MotionResult) -> bool:
        if not self.gate.enabled or self._last_detect_ms is None:
            return True
        since = t_ms - self._last_detect_ms
        if motion.moving or self._confirm_left > 0:
            return True
        if self.tracker.following(t_ms):
            return since >= self.gate.track_heartbeat_ms
        return since >= self.gate.idle_heartbeat_ms

    def _region(self, t_ms: int, motion: MotionResult, aspect: float) -> Box | None:
        """Where to detect when motion woke the detector; None: the whole picture (heartbeats, confirmations,
        a periodic full pass for targets that stand still outside the moving part, most of the picture moving)."""
        if not (self.gate.enabled and self.gate.regions and motion.moving and self._confirm_left == 0):
            return None
        if self._last_full_ms is None or t_ms - self._last_full_ms >= self.gate.full_every_ms:
            return None
        return detection_region([*motion.boxes, *(tr.box for tr in self.tracker.followed(t_ms))], aspect)

    def process(self, t_ms: int, frame: np.ndarray, when: tuple[int, int] | None = None) -> FrameResult:
        self.frames += 1
        res = FrameResult(t_ms, self.motion.update(frame))
        if self._should_detect(t_ms, res.motion):
            self._last_detect_ms = t_ms
            self.detections_run += 1
            res.detected = True
            region = self._region(t_ms, res.motion, frame.shape[1] / frame.shape[0])
            if region is None:
                self._last_full_ms = t_ms
                res.detections = self.detector.detect(frame)
            else:
                self.regions_run += 1
                res.region = region
                res.detections = self.detector.detect(frame, region)
            res.targets = self.tracker.update(t_ms, res.detections)
            res.firings = self.engine.update(t_ms, res.targets, when)
            if res.detections and not res.targets:
                self._confirm_left = self._confirm_left - 1 if self._confirm_left > 0 else CONFIRM_FRAMES
            else:
                self._confirm_left = 0
        res.ended = self.tracker.ended(t_ms)
        return res
