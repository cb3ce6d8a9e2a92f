"""`cameras:`: a camera's streams, recording, analytics, audio alarm and ONVIF settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigil.config.base import CAMERA_ID, Polygon, _Strict, check_host, check_stream_url
from vigil.schedule import Window


class RecordSettings(_Strict):
    enabled: bool = True
    segment_seconds: float = Field(default=60.0, ge=2, le=3600)
    max_days: float | None = Field(default=None, gt=0)
    max_gb: float | None = Field(default=None, gt=0)
    record_audio: bool = True
    # continuous: always; motion: around pixel-motion events; intelligent: around AI events (smd, tripwire,
    # intrusion). Event modes keep pre_seconds from a RAM buffer and record post_seconds after the event ends.
    # alarm: around this camera's alarms (external input, tampering, scene change) and linkage rules' `record`.
    mode: Literal["continuous", "motion", "intelligent", "alarm"] = "continuous"
    pre_seconds: float = Field(default=5.0, ge=0, le=30)
    post_seconds: float = Field(default=10.0, ge=0, le=600)
    schedule: list[Window] = Field(default_factory=list, description="weekly windows in which the camera records "
                                   "(in its mode); outside them it stays connected for live view and analysis but "
                                   "writes nothing. Empty: always")


class CameraAnalytics(_Strict):
    """Per-camera analytics: which picture is analysed, how often, and the motion gate's settings."""

    enabled: bool = False
    fps: float = Field(default=5.0, gt=0, le=30)
    stream: Literal["auto", "sub", "main"] = "auto"  # auto: the sub-stream when there is one
    motion_sensitivity: float = Field(default=0.5, ge=0, le=1)
    motion_masks: list[Polygon] = Field(default_factory=list, description="areas motion ignores (e.g. the OSD clock)")
    motion_gate: bool = True  # run the detector only on motion (and heartbeats)
    detect_regions: bool = True  # with the gate: when little of the picture moves, detect only around it
    motion_events: bool = True  # plain pixel-motion events, beside the AI ones
    tamper: bool = True  # video tampering (covered, blank, defocused) and scene change (camera turned) alarms
    faces: bool = False  # face detection, attributes and recognition on this camera
    face_databases: list[str] = Field(default_factory=list, description="databases matched here; empty: all")
    plates: bool = False  # licence-plate recognition (ANPR) on this camera's vehicles
    plate_min_height: float = Field(default=0.15, gt=0, le=1, description="smallest vehicle read, as a fraction "
                                    "of the picture height (a plate must be ~15 px tall to read)")
    plate_debounce_seconds: float = Field(default=30.0, ge=0, le=86_400, description="one event per plate and "
                                          "camera within this time (a vehicle whose track broke is one vehicle)")

    @field_validator("motion_masks")
    @classmethod
    def _check_masks(cls, v: list[Polygon]) -> list[Polygon]:
        for poly in v:
            if len(poly) < 3 or any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in poly):
                raise ValueError("a motion mask is a polygon of 3 or more [x, y] points, fractions of the picture")
        return v


class AudioAlarm(_Strict):
    """Alarms from the camera's sound (its audio track, decoded by the recorder)."""

    enabled: bool = False
    threshold_db: float = Field(default=-20.0, ge=-90, le=0)  # dBFS of a half second that counts as loud
    jump_db: float = Field(default=25.0, ge=3, le=80)  # … or this far above the last 10 s of normal sound


class OnvifSettings(_Strict):
    """The camera's ONVIF service: PTZ, and the analytics the camera runs itself ("AI by camera")."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=80, ge=1, le=65535)
    username: str = ""
    password: str = ""
    events: bool = True  # subscribe to the camera's own events (motion, line crossing, intrusion, faces, plates)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return check_host(v)


class CameraConfig(_Strict):
    id: str
    name: str = ""
    url: str
    sub_url: str | None = None
    enabled: bool = True
    record: RecordSettings = Field(default_factory=RecordSettings)
    analytics: CameraAnalytics = Field(default_factory=CameraAnalytics)
    audio_alarm: AudioAlarm = Field(default_factory=AudioAlarm)
    onvif: OnvifSettings | None = None
    ingest: Literal["native", "ffmpeg"] = Field(
        default="native", description="native: Vigil's own RTSP client and fMP4 writer (rtsp:// with H.264 or "
        "H.265; any other camera is read by FFmpeg, and the camera's stream says why); ffmpeg: FFmpeg's demuxer "
        "and muxer")
    transport: Literal["tcp", "udp"] = Field(
        default="tcp", description="how an rtsp:// camera sends its video: tcp (inside the RTSP connection: passes "
        "NAT and firewalls, nothing lost) or udp (RTP datagrams: less delay and CPU on a clean network; a lost "
        "datagram costs its picture, never the stream)")

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not CAMERA_ID.match(v):
            raise ValueError(
                f"camera id {v!r} is not allowed: use 1-63 lower-case letters, digits, '-' or '_' (e.g. 'front-door')"
            )
        return v

    @field_validator("url", "sub_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        check_stream_url(v)
        return v

    @model_validator(mode="after")
    def _default_name(self) -> CameraConfig:
        if not self.name:
            self.name = self.id
        if self.record.mode in ("motion", "intelligent") and not self.analytics.enabled:
            raise ValueError(f"camera {self.id!r}: record.mode {self.record.mode!r} records around events, which come "
                             "from the analysis: set analytics.enabled: true (or use mode: continuous)")
        return self
