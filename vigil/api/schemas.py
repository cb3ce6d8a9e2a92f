"""Request and response models: what the OpenAPI document shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from vigil.catalog.rows import EventRow
from vigil.config import RecordSettings


class Problem(BaseModel):
    detail: str


class LoginRequest(BaseModel):
    username: str
    password: str


class UserOut(BaseModel):
    username: str
    role: str
    must_change_password: bool = Field(False, description="true: nothing but POST /api/auth/password works "
                                       "until the password is changed (the generated first-start password)")


class TokenRequest(BaseModel):
    name: str = Field(default="script", max_length=100)


class TokenOut(BaseModel):
    token: str = Field(description="shown once; send it as 'Authorization: Bearer <token>'")
    name: str


class Health(BaseModel):
    status: str
    version: str
    time_ms: int
    cameras: int
    online: int


class OnvifOut(BaseModel):
    host: str
    port: int
    username: str
    events: bool


class AnalysisLoad(BaseModel):
    fps: float = Field(description="the analysis rate asked for (analytics.fps)")
    analysed_fps: float = Field(description="pictures analysed per second over the last 30 s")
    dropped_percent: float = Field(description="share of due pictures skipped in the last 30 s: above 0, this "
                                   "machine cannot analyse all its cameras at their rate (all are slowed alike)")


class CameraOut(BaseModel):
    id: str
    name: str
    url: str
    sub_url: str | None
    enabled: bool
    recording: bool
    source: Literal["config", "api"]
    state: str
    last_error: str | None
    state_since_ms: int | None
    stream: str
    segments_written: int
    analytics: bool = False
    onvif: OnvifOut | None = Field(None, description="the camera's ONVIF service (PTZ, camera events); the "
                                   "password is never shown")
    node: str | None = Field(None, description="the cluster node recording it (none: a single Vigil)")
    analysis: AnalysisLoad | None = Field(None, description="how the camera's analysis keeps up (when running here)")
    record: RecordSettings | None = Field(None, description="its recording settings (mode, schedule, retention)")
    camera_clock_ms: int | None = Field(None, description=(
        "the camera's own clock (its RTCP sender reports, native ingest) minus this machine's, at a picture's "
        "arrival: near 0 when both keep time (NTP). Between -1000 and +500 the camera's clock "
        "dates the recordings (the capture instant); outside, the arrival does, and the camera's clock needs "
        "setting (NTP). None: the camera sends no sender reports, or it is read by FFmpeg"))



class SegmentOut(BaseModel):
    id: int
    start_ms: int
    end_ms: int
    bytes: int
    codec: str
    width: int
    height: int
    status: str
    url: str


class Range(BaseModel):
    start_ms: int
    end_ms: int


class Recordings(BaseModel):
    camera: str
    start_ms: int
    end_ms: int
    segments: list[SegmentOut]
    ranges: list[Range]


CLIP_PAD_MS = 5000


class EventOut(BaseModel):
    id: int
    camera_id: str | None
    type: str
    severity: str
    start_ms: int
    end_ms: int | None
    message: str
    details: dict[str, Any]
    rule_id: str | None = None
    label: str | None = Field(None, description="target class (person, car, …)")
    score: float | None = None
    track_id: int | None = None
    snapshot_url: str | None = None
    clip_url: str | None = Field(None, description="the recording around the event, 5 s either side")
    upper_color: str | None = Field(None, description="a person's dominant upper-body colour")
    lower_color: str | None = Field(None, description="a person's dominant lower-body colour")
    body_color: str | None = Field(None, description="a vehicle's body colour")
    plate: str | None = Field(None, description="the licence plate read on the vehicle (A-Z, 0-9)")
    source: Literal["vigil", "camera"] = Field("vigil", description="who detected it: Vigil's analytics, or the "
                                                "camera's own (over ONVIF)")

    @classmethod
    def of(cls, e: EventRow) -> EventOut:
        clip = None
        if e.camera_id:
            end = (e.end_ms or e.start_ms) + CLIP_PAD_MS
            clip = f"/api/cameras/{e.camera_id}/playback.mp4?start={e.start_ms - CLIP_PAD_MS}&end={end}"
        return cls(
            id=e.id, camera_id=e.camera_id, type=e.type, severity=e.severity, start_ms=e.start_ms, end_ms=e.end_ms,
            message=e.message, details=e.details, rule_id=e.rule_id, label=e.label, score=e.score,
            track_id=e.track_id, snapshot_url=f"/api/events/{e.id}/snapshot.jpg" if e.snapshot else None,
            clip_url=clip, upper_color=e.upper_color, lower_color=e.lower_color, body_color=e.body_color,
            plate=e.plate, source="camera" if e.source == "camera" else "vigil",
        )


class Timeline(BaseModel):
    camera: str
    start_ms: int
    end_ms: int
    ranges: list[Range]
    gaps: list[Range]
    events: list[EventOut]
    recorded_ms: int


class TagIn(BaseModel):
    camera: str
    at: str = Field(description="epoch ms or ISO-8601")
    end: str | None = None
    text: str = Field(min_length=1, max_length=500)


class TagOut(BaseModel):
    id: int
    camera_id: str
    start_ms: int
    end_ms: int | None
    text: str
    created_ms: int
    created_by: str
    playlist: str


class ExportTarget(BaseModel):
    type: Literal["folder", "s3"]
    path: str | None = Field(default=None, description="folder: an absolute path (a mounted USB drive works)")
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"


class ExportIn(BaseModel):
    cameras: list[str] = Field(min_length=1)
    start: str
    end: str
    target: ExportTarget


class ExportOut(BaseModel):
    id: str
    cameras: list[str]
    start_ms: int
    end_ms: int
    target: str
    status: str
    percent: float
    bytes_total: int
    bytes_done: int
    files: list[str]
    error: str | None
