"""One camera's licence plates: vehicle tracks → a few OCR reads each → one plate per vehicle by vote → an event
(`plate_read`; `plate_match` for the allow list; `plate_blocklist`, severity alarm, for the block list) with the
plate as a searchable attribute, and the plate added to the vehicle's other events (tripwire, zone …)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from vigil.analytics.pipeline import FrameResult
from vigil.analytics.plates import PlateDecision, PlateReader, PlateTracks, cut_sides, vehicle_crop
from vigil.catalog.plates import PlateLists, plate_event
from vigil.config import CameraConfig
from vigil.events.bus import EventBus
from vigil.events.snapshots import save_snapshot
from vigil.log import get_logger
from vigil.media.frames import Frame

log = get_logger(__name__)
READS_PER_FRAME = 2  # OCR is the costly part: at most this many vehicles are read in one analysed frame


class CameraPlates:
    def __init__(self, cam: CameraConfig, reader: PlateReader, bus: EventBus, storage: Path, quality: int) -> None:
        self.cam, self.reader, self.bus, self.storage, self.quality = cam, reader, bus, storage, quality
        self.tracks = PlateTracks(min_height=cam.analytics.plate_min_height)
        self.lists = PlateLists(bus.catalog)
        self._pictures: dict[int, tuple[float, np.ndarray, int]] = {}  # track → (best read score, frame, t_ms)
        self._published: dict[str, int] = {}  # plate → when its last event was raised

    def process(self, frame: Frame, res: FrameResult, colors: Callable[[int], dict[str, str]]) -> None:
        read = 0
        for t in sorted(res.targets, key=lambda t: -(t.box[3] - t.box[1])):
            if read >= READS_PER_FRAME or not self.tracks.wants(frame.t_ms, t):
                continue
            reads = self.reader.read(vehicle_crop(frame.image, t.box), *cut_sides(frame.image, t.box))
            read += 1
            score = reads[0][1] if reads else 0.0
            best = self._pictures.get(t.track_id)
            if best is None or score > best[0]:
                self._pictures[t.track_id] = (score, frame.image, frame.t_ms)
            log.debug("plate_read", camera=self.cam.id, track=t.track_id, reads=reads[:2])
            decision = self.tracks.add(frame.t_ms, t, reads)
            if decision is not None:
                self._publish(decision, colors(t.track_id))

    def track_ended(self, track_id: int, colors: dict[str, str]) -> str | None:
        """The vehicle left: its plate (decided now from what was read, if not before), or None."""
        decision, plate = self.tracks.end(track_id)
        if decision is not None:
            self._publish(decision, colors)
        self._pictures.pop(track_id, None)
        return plate

    def _publish(self, d: PlateDecision, colors: dict[str, str]) -> None:
        picture = self._pictures.get(d.track_id)
        t_ms = picture[2] if picture else None
        now = t_ms if t_ms is not None else max(self._published.values(), default=0)
        last = self._published.get(d.plate)
        # abs(): a track decided when it ends may have been read before one decided earlier.
        if last is not None and abs(now - last) < self.cam.analytics.plate_debounce_seconds * 1000:
            log.info("plate_debounced", camera=self.cam.id, plate=d.plate, track=d.track_id)
            return
        self._published = {p: t for p, t in self._published.items() if abs(now - t) < 3_600_000}
        self._published[d.plate] = max(now, last or now)
        entry = self.lists.lookup(d.plate)
        type_, severity, what = plate_event(entry)
        snapshot = None
        if picture is not None:
            img = picture[1].copy()
            h, w = img.shape[:2]
            b = d.box
            cv2.rectangle(img, (round(b[0] * w), round(b[1] * h)), (round(b[2] * w), round(b[3] * h)), (0, 0, 255), 2)
            cv2.putText(img, d.plate, (round(b[0] * w) + 2, max(14, round(b[1] * h) - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.6, (0, 0, 255), 2)
            snapshot = save_snapshot(self.storage, self.cam.id, picture[2], f"plate-{d.track_id}", img, self.quality)
        self.bus.publish(
            type_, f"{d.label} with plate {d.plate}{what}", camera_id=self.cam.id, severity=severity,
            start_ms=t_ms, end_ms=t_ms, label=d.label, score=d.confidence, track_id=d.track_id, snapshot=snapshot,
            attributes={**colors, "plate": d.plate},
            details={"plate": d.plate, "reads": d.reads, "of": d.of, "list": entry.list if entry else None,
                     "note": entry.note if entry else "", "box": [round(v, 4) for v in d.box]})
