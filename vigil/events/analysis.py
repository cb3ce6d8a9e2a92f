"""One camera's analysis: decoded frames → pipeline → events with snapshots, on the event bus.

It runs in its own thread beside the recorder and never touches the recorder's packets. Each rule firing
is one event (camera, rule, type, target class, score, track id, box) with a snapshot of the frame with the
box drawn; when the target's track ends, its events get their end time and the target's path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from vigil.analytics.colors import Colors, target_colors
from vigil.analytics.counting import Occupancy, local_day_start, way
from vigil.analytics.detector import Detector
from vigil.analytics.geometry import Box
from vigil.analytics.heatmap import HeatAccumulator
from vigil.analytics.motion import MotionDetector, MotionResult
from vigil.analytics.pipeline import GateSettings, Pipeline
from vigil.analytics.rules import Firing, Rule, Target
from vigil.analytics.tamper import Change, TamperDetector
from vigil.analytics.tracker import Track
from vigil.catalog.counts import CountStore
from vigil.config import AnalyticsConfig, CameraConfig
from vigil.events.analysis_load import AnalysisStatus, LoadMeter
from vigil.events.bus import EventBus
from vigil.events.snapshots import save_snapshot
from vigil.log import get_logger
from vigil.media.frames import Frame, FrameReader
from vigil.schedule import local_when

if TYPE_CHECKING:  # events.faces and events.plates import save_snapshot from here
    from vigil.events.faces import CameraFaces
    from vigil.events.plates import CameraPlates

log = get_logger(__name__)

MOTION_MIN_FRAMES = 2  # consecutive moving frames before a motion event opens
MOTION_HOLD_MS = 3000  # a motion event closes after this long without motion
MOTION_MAX_MS = 300_000  # and is split after this long, so a windy day is not one endless event
MAX_PATH_POINTS = 60
STATS_EVERY_S = 60.0
HEAT_FLUSH_S = 30.0  # heat-map presence reaches the catalog this often (and when the analysis stops)
DIRECTION_TEXT = {"a_to_b": "A→B", "b_to_a": "B→A"}


@dataclass
class _MotionEvent:
    id: int
    start_ms: int
    last_ms: int
    peak: float = 0.0


@dataclass
class _TrackEvents:
    open_ids: list[int] = field(default_factory=list)  # events that end when the track ends
    all_ids: list[int] = field(default_factory=list)


class CameraAnalysis:
    def __init__(self, cam: CameraConfig, cfg: AnalyticsConfig, detector: Detector, bus: EventBus,
                 storage: Path, rules: Sequence[Rule], faces: CameraFaces | None = None,
                 plates: CameraPlates | None = None) -> None:
        self.cam = cam
        self.cfg = cfg
        self.bus = bus
        self.storage = storage
        a = cam.analytics
        # Fed by the stream's one reader (the recorder, or the sub-stream reader): see media/frames.py.
        self.uses_main = a.stream == "main" or not cam.sub_url
        self.frames = FrameReader(a.fps, cfg.max_width, name=cam.id)
        self.pipeline = Pipeline(detector, rules, MotionDetector(a.motion_sensitivity, a.motion_masks),
                                 gate=GateSettings(enabled=a.motion_gate, regions=a.detect_regions))
        self._rules = {r.id: r for r in rules}
        self._pending_rules: list[Rule] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"analysis-{cam.id}")
        self._tracks: dict[int, _TrackEvents] = {}
        self._motion: _MotionEvent | None = None
        self._moving_frames = 0
        self._seen: set[int] = set()
        self._best: dict[int, tuple[float, Colors]] = {}  # track → (crop quality, colours of its best crop)
        self._last_stats = time.monotonic()
        self.status = AnalysisStatus()
        self._load = LoadMeter()
        self.faces = faces
        self.plates = plates
        self.tamper = TamperDetector(a.motion_masks) if a.tamper else None
        self._tamper_event: int | None = None
        self.counts = CountStore(bus.catalog)
        self.heat = HeatAccumulator()
        self._heat_flushed = time.monotonic()
        self._occupancy: dict[str, Occupancy] = {}
        self._occupancy_events: dict[str, int] = {}

    # lifecycle
    def start(self) -> None:
        self.frames.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.frames.stop()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
        self.frames.join(timeout)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Takes effect on the next frame (the pipeline is only touched from the analysis thread)."""
        with self._lock:
            self._pending_rules = list(rules)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.frames.next(timeout=1.0)
            if frame is None:
                continue
            with self._lock:
                pending, self._pending_rules = self._pending_rules, None
            if pending is not None:
                self.pipeline.set_rules(pending)
                self._rules = {r.id: r for r in pending}
            try:
                self._process(frame)
            except Exception as err:  # one bad frame or a catalog hiccup must not end the camera's analysis
                log.error("analysis_failed", camera=self.cam.id, error=repr(err))
        self._close_all(int(time.time() * 1000))

    def _process(self, frame: Frame) -> None:
        now = time.monotonic()
        if now - self._last_stats >= STATS_EVERY_S:
            # One line a minute per camera: an overloaded machine shows here first (dropped pictures).
            self._last_stats = now
            log.info("analysis_stats", camera=self.cam.id, frames=self.pipeline.frames,
                     detections=self.pipeline.detections_run, dropped=self.frames.dropped, events=self.status.events,
                     fps=self.status.analysed_fps, dropped_percent=self.status.dropped_percent)
        res = self.pipeline.process(frame.t_ms, frame.image, local_when(frame.t_ms))
        st = self.status
        st.frames, st.detections_run = self.pipeline.frames, self.pipeline.detections_run
        st.dropped, st.last_frame_ms, st.tracks = self.frames.dropped, frame.t_ms, len(self.pipeline.tracker.tracks)
        st.analysed_fps, st.dropped_percent = self._load.add(now, st.frames, st.dropped)
        if self.cam.analytics.motion_events:
            self._motion_event(frame, res.motion)
        if self.tamper is not None:
            for change in self.tamper.update(frame.t_ms, frame.image):
                self._tamper(frame, change)
        self.heat.add(frame.t_ms, res.targets)
        if now - self._heat_flushed >= HEAT_FLUSH_S:
            self._flush_heat()
        for t in res.targets:
            self._look_at(frame, t)
            if t.track_id not in self._seen:
                self._seen.add(t.track_id)
                log.info("target_new", camera=self.cam.id, track=t.track_id, label=t.label, score=round(t.score, 2),
                         box=",".join(f"{v:.2f}" for v in t.box))
        for f in res.firings:
            self._firing(frame, f)
        if self.plates is not None:
            self.plates.process(frame, res, self._colors)
        for tr in res.ended:
            self._track_ended(tr)
        if self.faces is not None:
            self.faces.process(frame, res)

    def _look_at(self, frame: Frame, t: Target) -> None:
        """Keeps the colours of each target's best crop so far: big and sure beats small and unsure."""
        quality = t.score * (t.box[2] - t.box[0]) * (t.box[3] - t.box[1])
        best = self._best.get(t.track_id)
        if best is None or quality > best[0] * 1.1:
            self._best[t.track_id] = (quality, target_colors(frame.image, t.box, t.label))

    def _colors(self, track_id: int) -> dict[str, str]:
        best = self._best.get(track_id)
        return best[1].as_attributes() if best else {}

    # events
    def _publish(self, type_: str, message: str, **fields: Any) -> int:
        row = self.bus.publish(type_, message, camera_id=self.cam.id, **fields)
        self.status.events += 1
        return row.id

    def _flush_heat(self) -> None:
        self._heat_flushed = time.monotonic()
        for hour, grid in self.heat.take().items():
            self.counts.add_heat(self.cam.id, hour, grid)

    def _count(self, frame: Frame, f: Firing, rule: Rule) -> None:
        """A counting line crossed: the count in the catalog, the occupancy, and its alarm."""
        w = way(f.direction or "", rule.direction)
        self.counts.add_crossing(self.cam.id, rule.id, f.t_ms, w)
        occ = self._occupancy.get(rule.id)
        if occ is None or occ.maximum != rule.max_occupancy:
            day = local_day_start(f.t_ms)
            # The counts before this crossing (a restart keeps the day's occupancy).
            before = self.counts.net_since(self.cam.id, rule.id, day) - (1 if w == "in" else -1)
            occ = self._occupancy[rule.id] = Occupancy(rule.max_occupancy, before, day)
        change = occ.update(f.t_ms, w)
        name = rule.name or rule.id
        log.info("people_counted", camera=self.cam.id, rule=rule.id, way=w, occupancy=occ.value)
        if change == "raise":
            snap = self._snapshot(frame, f.t_ms, "occupancy", f.track_id, f.box, f.label, rule)
            self._occupancy_events[rule.id] = self._publish(
                "occupancy", f"{occ.value} people inside {name} (maximum {occ.maximum})", severity="alarm",
                start_ms=f.t_ms, rule_id=rule.id, snapshot=snap,
                details={"occupancy": occ.value, "maximum": occ.maximum, "rule_name": name})
        elif change == "clear" and rule.id in self._occupancy_events:
            self.bus.update(self._occupancy_events.pop(rule.id), end_ms=f.t_ms, details={"occupancy_after": occ.value})

    def occupancy(self, rule_id: str) -> int | None:
        occ = self._occupancy.get(rule_id)
        return None if occ is None else occ.value

    def _firing(self, frame: Frame, f: Firing) -> None:
        rule = self._rules.get(f.rule_id)
        if f.kind == "counter":
            if rule is not None:
                self._count(frame, f, rule)
            return
        name = rule.name or rule.id if rule else f.rule_id
        details: dict[str, Any] = {"event": f.event, "rule_name": name, "box": [round(v, 4) for v in f.box]}
        start = end = f.t_ms
        closes_with_track = False
        if f.kind == "tripwire":
            message = f"{f.label} crossed {name} {DIRECTION_TEXT.get(f.direction or '', '')}".strip()
            details["direction"] = f.direction
        elif f.kind == "intrusion":
            verb = {"enter": "entered", "exit": "left", "appear": "appeared in", "loiter": "is loitering in"}[f.event]
            message = f"{f.label} {verb} {name}"
            if f.dwell_ms is not None:
                details["dwell_ms"] = f.dwell_ms
                start = f.t_ms - f.dwell_ms
                message += f" ({f.dwell_ms / 1000:.0f} s)"
            closes_with_track = f.event in ("enter", "appear")
        else:
            message = f"{f.label} moving"
            closes_with_track = True
        snapshot = self._snapshot(frame, f.t_ms, f.kind, f.track_id, f.box, f.label, rule)
        event_id = self._publish(
            f.kind, message, severity="info" if f.kind == "smd" else "warning", start_ms=start,
            end_ms=None if closes_with_track else end, rule_id=f.rule_id, label=f.label,
            score=round(f.score, 3), track_id=f.track_id, snapshot=snapshot, details=details,
            attributes=self._colors(f.track_id),
        )
        te = self._tracks.setdefault(f.track_id, _TrackEvents())
        te.all_ids.append(event_id)
        if closes_with_track:
            te.open_ids.append(event_id)

    def _track_ended(self, tr: Track) -> None:
        if tr.id in self._seen:
            self._seen.discard(tr.id)
            log.info("target_gone", camera=self.cam.id, track=tr.id, label=tr.label, seen_ms=tr.dwell_ms,
                     sightings=sum(tr.votes.values()))
        colors = self._colors(tr.id)  # from the track's best crop over its whole life
        self._best.pop(tr.id, None)
        plate = self.plates.track_ended(tr.id, colors) if self.plates is not None else None
        attributes = {**colors, "plate": plate} if plate else colors
        te = self._tracks.pop(tr.id, None)
        if te is None:
            return
        step = max(1, len(tr.path) // MAX_PATH_POINTS)
        info = {"path": [[t, x, y] for t, x, y in tr.path[::step]], "seen_ms": tr.dwell_ms}
        for event_id in te.all_ids:
            self.bus.update(event_id, end_ms=tr.last_ms if event_id in te.open_ids else None, details=info,
                            attributes=attributes)

    def _tamper(self, frame: Frame, c: Change) -> None:
        if c.kind == "scene_change":
            snap = save_snapshot(self.storage, self.cam.id, c.t_ms, "scene_change", frame.image,
                                 self.cfg.snapshot_quality)
            self._publish("scene_change", "the camera's view changed (moved or turned?)", severity="warning",
                          start_ms=c.since_ms, end_ms=c.t_ms, snapshot=snap)
        elif c.what == "start":
            text = {"covered": "the lens is covered", "blank": "the picture is blank",
                    "defocused": "the picture is out of focus"}[c.reason]
            snap = save_snapshot(self.storage, self.cam.id, c.t_ms, f"tamper-{c.reason}", frame.image,
                                 self.cfg.snapshot_quality)
            self._tamper_event = self._publish("tamper", f"video tampering: {text}", severity="alarm",
                                               start_ms=c.since_ms, snapshot=snap, details={"reason": c.reason})
        elif self._tamper_event is not None:
            self.bus.update(self._tamper_event, end_ms=c.t_ms)
            self._tamper_event = None

    def _motion_event(self, frame: Frame, m: MotionResult) -> None:
        t = frame.t_ms
        self._moving_frames = self._moving_frames + 1 if m.moving else 0
        ev = self._motion
        if ev is not None:
            if m.moving:
                ev.last_ms, ev.peak = t, max(ev.peak, m.score)
            if t - ev.last_ms > MOTION_HOLD_MS or t - ev.start_ms > MOTION_MAX_MS:
                self._close_motion()
            return
        if self._moving_frames >= MOTION_MIN_FRAMES:
            boxes = m.boxes
            union: Box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                          max(b[3] for b in boxes))
            snapshot = self._snapshot(frame, t, "motion", 0, union, "motion", None)
            event_id = self._publish("motion", "motion", severity="info", start_ms=t, snapshot=snapshot,
                                     score=round(m.score, 4), details={"box": [round(v, 4) for v in union]})
            self._motion = _MotionEvent(event_id, t, t, m.score)

    def _close_motion(self) -> None:
        ev, self._motion = self._motion, None
        if ev is not None:
            self.bus.update(ev.id, end_ms=ev.last_ms, details={"peak_score": round(ev.peak, 4)})

    def _close_all(self, t_ms: int) -> None:
        self._close_motion()
        self._flush_heat()
        if self.faces is not None:
            self.faces.close()
        for tr in list(self.pipeline.tracker.tracks.values()):
            self._track_ended(tr)

    # snapshots
    def _snapshot(self, frame: Frame, t_ms: int, kind: str, track_id: int, box: Box, label: str,
                  rule: Rule | None) -> str | None:
        img = frame.image.copy()
        h, w = img.shape[:2]
        if rule is not None and rule.points:
            pts = np.array([[round(x * w), round(y * h)] for x, y in rule.points], np.int32)
            cv2.polylines(img, [pts], rule.kind == "intrusion", (0, 220, 255), 2)
        x1, y1, x2, y2 = round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), 2)
        cv2.putText(img, label, (x1 + 2, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
        return save_snapshot(self.storage, self.cam.id, t_ms, f"{kind}-{track_id}", img, self.cfg.snapshot_quality)
