"""`vigil.yml` as a whole: the root model, reading the file, environment overrides and the error messages."""

from __future__ import annotations

import difflib
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from vigil.config.alarms import AlarmsConfig
from vigil.config.analytics import AnalyticsConfig
from vigil.config.base import ANY_HOST, _Strict, redact_url
from vigil.config.cameras import CameraConfig
from vigil.config.network import ApiConfig, ClusterConfig, LiveConfig, RtspOutConfig, SourceSettings
from vigil.config.storage import CatalogConfig, ExportsConfig, StorageConfig
from vigil.errors import ConfigError


class Config(_Strict):
    storage: StorageConfig = Field(default_factory=StorageConfig)
    exports: ExportsConfig = Field(default_factory=ExportsConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    catalog: CatalogConfig = Field(default_factory=CatalogConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    rtsp_out: RtspOutConfig = Field(default_factory=RtspOutConfig)
    source: SourceSettings = Field(default_factory=SourceSettings)
    live: LiveConfig = Field(default_factory=LiveConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    log_level: str = "INFO"
    cameras: list[CameraConfig] = Field(default_factory=list)

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
