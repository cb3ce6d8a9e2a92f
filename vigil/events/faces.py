"""One camera's faces: face tracks from the analysed frames → one decision per track (recognised person,
blocklisted person, or stranger) from the track's best shot → an event with the face picture, the person,
the similarity and the attributes; the face's embedding is kept for "when was this person here" search.

Event types: `face_match` (a person of an allow/info database), `face_blocklist` (a person of a block
database; severity alarm), `face_stranger` (no enrolled face close enough).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vigil.analytics.faces.tracks import FaceTrack, FaceTracks
from vigil.analytics.pipeline import FrameResult
from vigil.config import AnalyticsConfig, CameraConfig
from vigil.errors import ConfigError
from vigil.events.bus import EventBus
from vigil.events.snapshots import save_snapshot
from vigil.log import get_logger
from vigil.media.frames import Frame
from vigil.recognition import FaceService, Match

log = get_logger(__name__)

PERSON_LABELS = {"person"}


def decision(match: Match | None) -> tuple[str, str]:
    """(event type, severity) for a recognition result."""
    if match is None:
        return "face_stranger", "info"
    if match.database.kind == "block":
        return "face_blocklist", "alarm"
    return "face_match", "info"


def _attr_text(attrs: dict[str, Any]) -> str:
    parts = [str(attrs[k]["value"]) for k in ("gender", "age_group") if isinstance(attrs.get(k), dict)]
    return ", ".join(parts)


class CameraFaces:
    def __init__(self, cam: CameraConfig, cfg: AnalyticsConfig, service: FaceService, bus: EventBus,
                 storage: Path) -> None:
        self.cam, self.cfg, self.service, self.bus, self.storage = cam, cfg, service, bus, storage
        f = cfg.faces
        self.tracks = FaceTracks(decide_after_ms=int(f.decide_after_seconds * 1000))
        self._last_by_person: dict[int, int] = {}
        self.faces_seen = 0
        self.events = 0
        self.disabled: str | None = None  # why faces are off for this camera (a model is missing)

    def process(self, frame: Frame, res: FrameResult) -> None:
        # Faces are looked for when the body detector ran (motion, or a target being followed) and while a face
        # is being followed; a still, empty scene costs nothing.
        if self.disabled or (not res.detected and not self.tracks.active):
            return
        people = [d.box for d in res.detections if d.label in PERSON_LABELS]
        try:
            faces = self.service.engine.find(frame.image, people or None)
        except ConfigError as err:  # said once, not on every frame; the rest of the analysis goes on
            self.disabled = str(err)
            log.error("faces_unavailable", camera=self.cam.id, error=str(err))
            return
        self.faces_seen += len(faces)
        self._decide(self.tracks.update(frame.t_ms, frame.image, faces))

    def close(self) -> None:
        self._decide(self.tracks.flush())

    def _decide(self, due: list[FaceTrack]) -> None:
        shots = [(tr, tr.best) for tr in due if tr.best is not None]
        # All of a frame's due faces at once: with embedding workers they are embedded in parallel.
        described = self.service.engine.describe_many([(best.crop, best.face) for _, best in shots])
        for (tr, _), (vec, attrs) in zip(shots, described, strict=True):
            self._event(tr, vec, attrs)

    def _event(self, tr: FaceTrack, vec: np.ndarray, attrs: dict[str, Any]) -> None:
        best = tr.best
        assert best is not None
        db_ids = self.service.database_ids(self.cam.analytics.face_databases)
        match, similarity = self.service.identify(vec, db_ids)
        kind, severity = decision(match)
        if match is not None:
            last = self._last_by_person.get(match.person.id)
            self._last_by_person[match.person.id] = tr.last_ms
            if last is not None and tr.first_ms - last < self.cfg.faces.debounce_seconds * 1000:
                # The same person again within the debounce time: a track split by an occlusion, not a new visit.
                log.info("face_debounced", camera=self.cam.id, person=match.person.id, track=tr.id)
                return
        snapshot = save_snapshot(self.storage, self.cam.id, best.t_ms, f"{kind}-{tr.id}", best.crop,
                                 self.cfg.snapshot_quality)
        who = f"{match.person.name} ({match.database.name})" if match else "stranger"
        described = _attr_text(attrs)
        message = f"face: {who}" + (f", {described}" if described else "")
        details: dict[str, Any] = {
            "similarity": round(similarity, 4), "threshold": self.service.engine.match_threshold,
            "attributes": attrs, "box": [round(v, 4) for v in best.frame_box], "quality": round(best.quality, 3),
            "sightings": tr.sightings,
        }
        if match is not None:
            details.update(person_id=match.person.id, person_name=match.person.name, database_id=match.database.id,
                           database=match.database.name, database_kind=match.database.kind)
        row = self.bus.publish(kind, message, camera_id=self.cam.id, severity=severity, start_ms=tr.first_ms,
                               end_ms=tr.last_ms, label="face", score=round(similarity, 4), track_id=tr.id,
                               snapshot=snapshot, details=details)
        self.service.record_sighting(row.id, self.cam.id, best.t_ms, vec, match, similarity, attrs)
        self.events += 1
        log.info("face_event", camera=self.cam.id, type=kind, person=match.person.name if match else "",
                 similarity=round(similarity, 3), track=tr.id)
