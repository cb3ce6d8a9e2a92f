"""What catalog queries return: plain frozen rows, detached from the database session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vigil.catalog.models import EventModel, SegmentModel


@dataclass(frozen=True)
class SegmentRow:
    id: int
    camera_id: str
    start_ms: int
    end_ms: int
    bytes: int
    path: str
    codec: str = ""
    width: int = 0
    height: int = 0
    status: str = "closed"
    node_id: str | None = None  # whose disk holds the file (None: this single node's)
    stored: str = "local"  # local | s3

    @staticmethod
    def of(m: SegmentModel) -> SegmentRow:
        return SegmentRow(
            m.id, m.camera_id, m.start_ms, m.end_ms, m.bytes, m.path, m.codec, m.width, m.height, m.status,
            m.node_id, m.stored,
        )


@dataclass(frozen=True)
class CameraRow:
    id: str
    name: str
    url: str
    sub_url: str | None
    enabled: bool
    state: str
    last_error: str | None
    state_since_ms: int


@dataclass(frozen=True)
class EventRow:
    id: int
    camera_id: str | None
    type: str
    severity: str
    start_ms: int
    end_ms: int | None
    message: str
    details: dict[str, Any]
    rule_id: str | None = None
    label: str | None = None
    score: float | None = None
    track_id: int | None = None
    snapshot: str | None = None
    upper_color: str | None = None
    lower_color: str | None = None
    body_color: str | None = None
    plate: str | None = None
    source: str | None = None  # None: Vigil's own; "camera": the camera's analytics (ONVIF)

    @staticmethod
    def of(m: EventModel) -> EventRow:
        return EventRow(m.id, m.camera_id, m.type, m.severity, m.start_ms, m.end_ms, m.message, m.details,
                        m.rule_id, m.label, m.score, m.track_id, m.snapshot, m.upper_color, m.lower_color,
                        m.body_color, m.plate, m.source)
