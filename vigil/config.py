"""`vigil.yml`: pydantic models. Every validation error names the key and the fix."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vigil.errors import ConfigError
from vigil.schedule import Window

URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "file")
CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ANY_HOST = ("0.0.0.0", "::", "[::]")  # a listen host meaning every interface: not an address others can use


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


Polygon = list[tuple[float, float]]


class CameraAnalytics(_Strict):
    """Per-camera analytics: which picture is analysed, how often, and the motion gate's settings."""

    enabled: bool = False
    fps: float = Field(default=5.0, gt=0, le=30)
    stream: Literal["auto", "sub", "main"] = "auto"  # auto: the sub-stream when there is one
    motion_sensitivity: float = Field(default=0.5, ge=0, le=1)
    motion_masks: list[Polygon] = Field(default_factory=list, description="areas motion ignores (e.g. the OSD clock)")
    motion_gate: bool = True  # run the detector only on motion (and heartbeats)
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


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_host(v: str) -> str:
    """A host name (RFC 1123) or an IPv4/IPv6 address."""
    with_brackets = v.startswith("[") and v.endswith("]")
    try:
        ipaddress.ip_address(v[1:-1] if with_brackets else v)
        return v
    except ValueError:
        pass
    if len(v) <= 253 and all(_HOST_LABEL.match(label) for label in v.rstrip(".").split(".")):
        return v
    raise ValueError(f"{v!r} is neither a host name nor an IP address (e.g. 192.168.1.64 or cam-1.local)")


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


def check_stream_url(url: str) -> None:
    """Raise ValueError unless `url` is something the ingest can open."""
    if url.startswith("/"):
        return
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise ValueError(
            f"bad camera URL {redact_url(url)!r}: it must start with rtsp://, rtsps://, http://, https:// "
            "or file:// (or be an absolute file path)"
        )
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError(f"bad camera URL {redact_url(url)!r}: it has no host (e.g. rtsp://192.168.1.20:554/stream1)")


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


class S3Settings(_Strict):
    """Segments in an S3-compatible bucket (AWS, MinIO, Ceph, Garage…): closed segments are uploaded and then
    removed from the local disk; playback, snapshots and export read them back with HTTP range requests."""

    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field(default="", description="key prefix inside the bucket, e.g. 'vigil/'")
    endpoint_url: str | None = Field(default=None, description="e.g. http://minio:9000; none: AWS")
    region: str | None = None
    access_key: str | None = None  # none: the usual AWS credential chain (environment, ~/.aws, instance role)
    secret_key: str | None = None
    upload_after_hours: float = Field(default=0.0, ge=0, le=24 * 365, description="keep closed segments on the "
                                      "local disk this long before tiering them to the bucket; 0: at once")

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"endpoint_url {v!r} must be an http:// or https:// URL, e.g. http://minio:9000")
        return v


class StorageConfig(_Strict):
    path: Path = Path("data/recordings")
    min_free_gb: float = Field(default=1.0, ge=0)
    min_free_percent: float = Field(default=0.0, ge=0, le=90)
    retention_interval_seconds: float = Field(default=10.0, gt=0)
    fsync: bool = True
    s3: S3Settings | None = None


class ClusterConfig(_Strict):
    """Several `vigil serve` nodes on one PostgreSQL catalog and one bucket share the cameras by leases."""

    enabled: bool = False
    node_id: str = Field(default="", max_length=63, description="this node's name; default: the host name")
    advertise_url: str = Field(default="", description="how the other nodes reach this node's API, e.g. "
                               "http://10.0.0.5:8080; default: from api.listen")
    lease_seconds: float = Field(default=10.0, ge=3, le=300)  # a node silent this long loses its cameras
    renew_seconds: float = Field(default=2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _renew_often(self) -> ClusterConfig:
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError(f"renew_seconds ({self.renew_seconds}) must be at most half of lease_seconds "
                             f"({self.lease_seconds}), so one late renewal does not lose the cameras")
        if self.node_id and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.node_id):
            raise ValueError(f"node_id {self.node_id!r}: use letters, digits, '.', '_' and '-'")
        return self


class CatalogConfig(_Strict):
    url: str = ""
    key_file: Path | None = None  # seals camera passwords in the catalog; default: vigil.key beside the storage

    @field_validator("url")
    @classmethod
    def _check(cls, v: str) -> str:
        if v and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError(f"catalog URL {v!r} must be sqlite:///<file> or postgresql://user:pass@host/db")
        return v


def check_listen(v: str) -> str:
    host, _, port = v.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"listen address {v!r} must be HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")
    return v


class _Listening(_Strict):
    listen: str

    @field_validator("listen")
    @classmethod
    def _check(cls, v: str) -> str:
        return check_listen(v)

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class TlsSettings(_Strict):
    enabled: bool = False
    cert_file: Path | None = None  # PEM, with key_file; neither: a self-signed certificate made on first start
    key_file: Path | None = None
    redirect_http: str | None = Field(default=None, description="HOST:PORT of a plain-HTTP listener that only "
                                      "redirects to HTTPS, e.g. 0.0.0.0:80")

    @field_validator("redirect_http")
    @classmethod
    def _check_redirect(cls, v: str | None) -> str | None:
        return None if v is None else check_listen(v)


class ApiConfig(_Listening):
    listen: str = "127.0.0.1:8080"
    tls: TlsSettings = Field(default_factory=TlsSettings)
    ip_allow: list[str] = Field(default_factory=list, description="addresses/networks that may connect to the API, "
                                "its WebSockets and RTSP out; empty: all")
    ip_block: list[str] = Field(default_factory=list, description="addresses/networks refused even when allowed")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="addresses/networks of reverse proxies whose X-Forwarded-For / "
        "X-Forwarded-Proto Vigil believes (the client address for the login limits, the audit log and the IP "
        "filter); empty: forwarded headers are ignored and the address is the connection's own")

    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="a connection that has not sent "
                                          "a request's headers this long after it began is closed")

    @field_validator("ip_allow", "ip_block", "trusted_proxies")
    @classmethod
    def _check_networks(cls, v: list[str]) -> list[str]:
        from vigil.ipfilter import parse_networks

        parse_networks(v, "api.ip_allow / ip_block / trusted_proxies")
        return v
    login_max_failures: int = Field(default=5, ge=1, le=1000)  # per account in 15 min, then logins wait
    login_max_failures_per_address: int = Field(default=20, ge=1, le=100_000)  # per client address
    login_lock_seconds: float = Field(default=30.0, gt=0, le=3600)  # the first wait; it doubles up to 15 min
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90)  # a browser session ends after this


class RtspOutConfig(_Listening):
    """Re-streaming: every camera's live main and sub stream at rtsp://HOST:PORT/<camera>[/sub], packets as the
    camera sent them, for any video-management system; users log in with their Vigil account (Digest)."""

    enabled: bool = True
    listen: str = "127.0.0.1:8554"


class SourceSettings(_Strict):
    open_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=3.0, gt=0)
    backoff_initial_seconds: float = Field(default=0.5, gt=0)
    backoff_max_seconds: float = Field(default=2.0, gt=0)


class FacesConfig(_Strict):
    """Face detection and recognition, shared by all cameras that have `analytics.faces` on."""

    # Cosine similarity of dlib embeddings at or above which a face is the enrolled person (dlib's own LFW
    # threshold, a distance of 0.6, is 0.82; CCTV pictures of strangers come closer than LFW pairs do).
    match_threshold: float = Field(default=0.93, gt=0, lt=1)
    detection_threshold: float = Field(default=0.5, gt=0, lt=1)
    min_face_px: int = Field(default=28, ge=12, le=400)  # smaller faces are not worth recognising
    max_databases: int = Field(default=10, ge=1, le=1000)
    decide_after_seconds: float = Field(default=2.5, gt=0, le=60)  # a followed face is recognised after this
    debounce_seconds: float = Field(default=10.0, ge=0, le=3600)  # one event per person and camera in this time
    # Processes that compute face embeddings (dlib's network uses one core each); 0: in the camera's own thread.
    embed_workers: int = Field(default=0, ge=0, le=64)
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"],
                                 description="ONNX Runtime execution providers, in order of preference")


Provider = Literal["cpu", "openvino", "cuda", "tensorrt", "coreml"]


def _cpu_only() -> list[Provider]:
    return ["cpu"]


class AnalyticsConfig(_Strict):
    """The detector shared by all cameras."""

    model: Literal["yolov3-tiny"] = "yolov3-tiny"
    engine: Literal["onnxruntime", "opencv"] = Field(
        default="onnxruntime", description="onnxruntime (default, faster here) or opencv (OpenCV's DNN module)")
    providers: list[Provider] = Field(
        default_factory=_cpu_only, min_length=1,
        description="ONNX Runtime execution providers, in order of preference; one this installation lacks "
                    "stops start-up with what to install")
    precision: Literal["fp32", "int8"] = Field(
        default="fp32", description="int8: the statically quantized model `vigil models build` makes (faster, "
                                    "and less accurate on real footage: see the README)")
    confidence: float = Field(default=0.25, gt=0, lt=1)
    max_width: int = Field(default=640, ge=160, le=1920)  # analysed pictures are scaled down to this width
    input_width: int = Field(default=544, ge=160, le=1920, multiple_of=32,
                             description="the detector's input width (its height keeps the picture's shape); "
                             "larger finds smaller, farther people at more CPU")
    snapshot_quality: int = Field(default=85, ge=10, le=100)
    faces: FacesConfig = Field(default_factory=FacesConfig)


class SmtpSettings(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "vigil@localhost"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    ca_file: str | None = Field(default=None, description="PEM certificates to trust for the server (an internal "
                                "CA or a self-signed server); default: the system's")


class MqttSettings(_Strict):
    host: str
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = ""
    password: str = ""
    topic_prefix: str = "vigil"  # events go to <prefix>/<camera>/<type>
    discovery: bool = True  # Home Assistant MQTT discovery: each camera's alarms appear as binary sensors
    discovery_prefix: str = "homeassistant"


class PtzPresetAction(_Strict):
    camera: str = Field(description="a PTZ camera with ONVIF settings; 'self' is the event's camera")
    preset: str = Field(min_length=1, description="the preset's name or token")


class LinkageRule(_Strict):
    """What to do when an event of these types happens on these cameras, while armed and in the schedule."""

    name: str = ""
    types: list[str] = Field(default_factory=lambda: ["*"], description="event types; * for all")
    cameras: list[str] = Field(default_factory=list, description="camera ids; empty: all (and events of none)")
    min_severity: Literal["info", "warning", "alarm", "critical"] = "info"
    schedule: list[Window] = Field(default_factory=list, description="armed periods; empty: always")
    min_interval_seconds: float = Field(default=60.0, ge=0, le=86400)  # debounce per camera and type
    email: list[str] = Field(default_factory=list, description="recipients (needs alarms.smtp)")
    webhook: str | None = Field(default=None, description="URL that receives the event as JSON (POST)")
    mqtt: bool = False  # publish on alarms.mqtt
    buzzer: bool = False  # a sound on the server (a logged warning where there is no audio device)
    record: list[str] = Field(default_factory=list, description="cameras to record around the event (in 'alarm' "
                              "record mode: pre_seconds before, post_seconds after); 'self' is the event's camera")
    ptz_preset: list[PtzPresetAction] = Field(default_factory=list, description="turn PTZ cameras to a preset")

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"webhook {v!r} must be an http:// or https:// URL")
        return v


class AlarmsConfig(_Strict):
    smtp: SmtpSettings | None = None
    mqtt: MqttSettings | None = None
    linkage: list[LinkageRule] = Field(default_factory=list)
    webhook_attempts: int = Field(default=5, ge=1, le=20)  # a webhook is retried (1, 2, 4 … s apart) this often

    @model_validator(mode="after")
    def _needs(self) -> AlarmsConfig:
        for i, r in enumerate(self.linkage):
            if r.email and self.smtp is None:
                raise ValueError(f"linkage[{i}] sends e-mail: configure alarms.smtp (host, port, tls, sender)")
            if r.mqtt and self.mqtt is None:
                raise ValueError(f"linkage[{i}] publishes on MQTT: configure alarms.mqtt (host, port)")
        return self


def _removable_media() -> list[Path]:
    return [Path("/media"), Path("/mnt"), Path("/run/media")]


class ExportsConfig(_Strict):
    """Where operators may export to (admins may export anywhere): a folder export must lie inside one of
    `folders`; an S3 export goes to AWS (no endpoint_url) or to one of `s3_endpoints`. Without these limits an
    operator could write files anywhere the service may, and make the server connect to any address."""

    folders: list[Path] = Field(default_factory=_removable_media,
                                description="folders (and everything below them) operators may export to")
    s3_endpoints: list[str] = Field(default_factory=list,
                                    description="S3-compatible endpoint URLs operators may export to")


class Config(_Strict):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    exports: ExportsConfig = Field(default_factory=ExportsConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    rtsp_out: RtspOutConfig = Field(default_factory=RtspOutConfig)
    source: SourceSettings = Field(default_factory=SourceSettings)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    log_level: str = "INFO"
    cameras: list[CameraConfig] = []

    @model_validator(mode="after")
    def _cluster_shares(self) -> Config:
        if self.cluster.enabled:
            if not self.catalog.url.startswith("postgresql"):
                raise ValueError("cluster.enabled: the nodes must share one catalog; set catalog.url to "
                                 "postgresql://user:password@host/db (SQLite is a file of one machine)")
            if self.storage.s3 is None:
                raise ValueError("cluster.enabled: the nodes must share their recordings; set storage.s3 (bucket, "
                                 "endpoint_url) so every node can play what another recorded")
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} appears twice: give each camera its own id")
            seen.add(cam.id)
        return self

    @property
    def catalog_url(self) -> str:
        return self.catalog.url or f"sqlite:///{self.storage.path.parent / 'vigil.db'}"

    @property
    def node_id(self) -> str | None:
        """This node's name in a cluster; None for a single Vigil (its segments are simply "here")."""
        if not self.cluster.enabled:
            return None
        return self.cluster.node_id or socket.gethostname()

    @property
    def advertise_url(self) -> str:
        if self.cluster.advertise_url:
            return self.cluster.advertise_url.rstrip("/")
        host, _, port = self.api.listen.rpartition(":")
        if host in ANY_HOST:
            host = socket.gethostname()
        return f"{'https' if self.api.tls.enabled else 'http'}://{host}:{port}"

    @property
    def advertise_rtsp(self) -> str | None:
        """Where the other nodes send an RTSP client for a camera this node records: RTSP out's address, with the
        host of `advertise_url` when RTSP out listens on every interface; None when RTSP out is off."""
        if not self.rtsp_out.enabled:
            return None
        host = self.rtsp_out.host
        if host in ANY_HOST:
            host = urlsplit(self.advertise_url).hostname or socket.gethostname()
            host = f"[{host}]" if ":" in host else host
        return f"rtsp://{host}:{self.rtsp_out.port}"

    @property
    def key_file(self) -> Path:
        return self.catalog.key_file or self.storage.path.parent / "vigil.key"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `loc`'s parent, for 'did you mean' hints."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return list(current.model_fields)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: the configuration is not valid:"]
    for e in err.errors():
        loc = tuple(e["loc"])
        key = _format_loc(loc)
        if e["type"] == "extra_forbidden":
            known = _known_keys(Config, loc)
            guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f" — did you mean '{guess[0]}'?" if guess else ""
            lines.append(f"  - {key}: unknown key{hint} Allowed here: {', '.join(known)}")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            given = e.get("input")
            shown = redact_url(given) if isinstance(given, str) and "://" in given else given
            lines.append(f"  - {key}: {msg}" + ("" if repr(shown) in msg else f" (got {shown!r})"))
    return "\n".join(lines)


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    """VIGIL_API__LISTEN=0.0.0.0:8080 sets api.listen; values are parsed as YAML."""
    for name, raw in environ.items():
        if not name.startswith("VIGIL_"):
            continue
        path = [p.lower() for p in name[len("VIGIL_") :].split("__")]
        if path[0] not in Config.model_fields:
            continue  # VIGIL_CONFIG, VIGIL_SIM_CACHE and the like are not config keys
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: '{part}' is not a section, so it cannot be set from the environment")
        node[path[-1]] = yaml.safe_load(raw)


def parse_config(data: Any, source: str = "config", environ: dict[str, str] | None = None) -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys (storage:, cameras:, …)")
    _apply_env(data, dict(os.environ) if environ is None else environ)
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_config(path: Path | None, environ: dict[str, str] | None = None) -> Config:
    """Read `vigil.yml`; a missing file is an error, no file at all means defaults."""
    if path is None:
        return parse_config({}, "defaults", environ)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file (create it, or run without --config for defaults)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    cfg = parse_config(data, str(path), environ)
    # Relative storage paths are relative to the config file, so a config works from any cwd.
    if not cfg.storage.path.is_absolute():
        cfg.storage.path = (path.parent / cfg.storage.path).resolve()
    if cfg.catalog.key_file is not None and not cfg.catalog.key_file.is_absolute():
        cfg.catalog.key_file = (path.parent / cfg.catalog.key_file).resolve()
    tls = cfg.api.tls
    for name in ("cert_file", "key_file"):
        p = getattr(tls, name)
        if p is not None and not p.is_absolute():
            setattr(tls, name, (path.parent / p).resolve())
    return cfg
