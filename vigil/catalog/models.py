"""SQLAlchemy 2 models. Times are UTC epoch milliseconds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CameraModel(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    sub_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(20), default="connecting")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    state_since_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(10), default="config")  # config | api


class SegmentModel(Base):
    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_camera_start", "camera_id", "start_ms"),
                      Index("ix_segments_stored_end", "stored", "end_ms"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str] = mapped_column(Text, unique=True)  # relative to the storage root
    codec: Mapped[str] = mapped_column(String(20), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    keyframes: Mapped[list[list[int]]] = mapped_column(JSON, default=list)  # [ms from start, byte offset]
    node_id: Mapped[str | None] = mapped_column(String(63), nullable=True)  # whose disk; None: the single node
    stored: Mapped[str] = mapped_column(String(10), default="local")  # local | s3


class EventModel(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_start", "start_ms"),
        Index("ix_events_camera_start", "camera_id", "start_ms"),
        Index("ix_events_type_start", "type", "start_ms"),
        Index("ix_events_label_start", "label", "start_ms"),
        Index("ix_events_camera_label_start", "camera_id", "label", "start_ms"),
        Index("ix_events_upper_color_start", "upper_color", "start_ms"),
        Index("ix_events_lower_color_start", "lower_color", "start_ms"),
        Index("ix_events_body_color_start", "body_color", "start_ms"),
        Index("ix_events_plate_start", "plate", "start_ms"),
        Index("ix_events_source_start", "source", "start_ms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    type: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10), default="info")
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rule_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)  # target class
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    snapshot: Mapped[str | None] = mapped_column(Text, nullable=True)  # relative to the storage root
    # Target attributes for AI search: colour names (see analytics.colors) and the plate as read (A-Z, 0-9).
    upper_color: Mapped[str | None] = mapped_column(String(16), nullable=True)
    lower_color: Mapped[str | None] = mapped_column(String(16), nullable=True)
    body_color: Mapped[str | None] = mapped_column(String(16), nullable=True)
    plate: Mapped[str | None] = mapped_column(String(20), nullable=True)
    source: Mapped[str | None] = mapped_column(String(10), nullable=True)  # None: Vigil; "camera": AI by camera


class RuleModel(Base):
    """A camera's analytics rule (tripwire, intrusion, smd); `definition` holds the rule's fields."""

    __tablename__ = "rules"

    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class UserModel(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20), default="admin")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    cameras: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: all cameras (security issue)
    # MD5(user:realm:password) for RTSP Digest; set with the password, or at the next login for older accounts.
    rtsp_ha1: Mapped[str | None] = mapped_column(String(32), nullable=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # the generated first password
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)  # kept (with its audit rows), unusable


class CredentialModel(Base):
    """Browser sessions and API tokens; only a SHA-256 of the secret is kept."""

    __tablename__ = "credentials"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # session | token
    name: Mapped[str] = mapped_column(String(100), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TagModel(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_camera_start", "camera_id", "start_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class SettingModel(Base):
    """Small run-time state that must survive a restart (the arm switch, for now)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class FaceDatabaseModel(Base):
    """A named face database; `kind` says what a match means: allow (VIP, info event), block (alarm), info."""

    __tablename__ = "face_databases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="allow")
    description: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)


class PersonModel(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    database_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # gender, birthday, address, credential …
    created_ms: Mapped[int] = mapped_column(BigInteger)


class FaceImageModel(Base):
    """One enrolled face image: the file under <storage>/_faces/ and its embedding (float32 bytes)."""

    __tablename__ = "face_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(Integer, index=True)
    database_id: Mapped[int] = mapped_column(Integer, index=True)
    path: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(40), default="upload")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(40))  # the embedding model that made `embedding`


class FaceSightingModel(Base):
    """A face seen by a camera (one per face event): its embedding, so any photo can be searched for, and
    its attributes as columns, so attribute search is an indexed query."""

    __tablename__ = "face_sightings"
    __table_args__ = (Index("ix_face_sightings_camera_t", "camera_id", "t_ms"),
                      Index("ix_face_sightings_person_t", "person_id", "t_ms"),
                      Index("ix_face_sightings_gender_t", "gender", "t_ms"))

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(63))
    t_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    model: Mapped[str] = mapped_column(String(40))  # the embedding model that made `embedding`
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(10), nullable=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expression: Mapped[str | None] = mapped_column(String(16), nullable=True)


class PeopleCountModel(Base):
    """Crossings of one counting line in one 5-minute bucket (UTC start); hours and days are sums of these."""

    __tablename__ = "people_counts"

    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    in_count: Mapped[int] = mapped_column(Integer, default=0)
    out_count: Mapped[int] = mapped_column(Integer, default=0)


class HeatCellModel(Base):
    """Where humans were in one camera-hour: a grid of seconds of presence (float32, row-major)."""

    __tablename__ = "heat_cells"

    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    hour_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    cols: Mapped[int] = mapped_column(Integer)
    cells: Mapped[bytes] = mapped_column(LargeBinary)


class PlateListModel(Base):
    """A licence plate on the allow list or the block list (normalised: A-Z and 0-9 only)."""

    __tablename__ = "plate_lists"

    plate: Mapped[str] = mapped_column(String(20), primary_key=True)
    list: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)


class AuditModel(Base):
    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_t", "t_ms"), Index("ix_audit_user_t", "username", "t_ms"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    t_ms: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NodeModel(Base):
    """A `vigil serve` of a scale-out cluster; `seen_ms` is its last heartbeat."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    url: Mapped[str] = mapped_column(Text, default="")
    started_ms: Mapped[int] = mapped_column(BigInteger)
    seen_ms: Mapped[int] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LeaseModel(Base):
    """Which node records a camera, until when: a node records only the cameras it holds a live lease on."""

    __tablename__ = "camera_leases"
    __table_args__ = (Index("ix_camera_leases_node", "node_id"),)

    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(63))
    since_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)


class LoginFailureModel(Base):
    """A failed login, per account and per address: the throttle's memory, shared by a cluster's nodes."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_t", "key", "t_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    t_ms: Mapped[int] = mapped_column(BigInteger)
