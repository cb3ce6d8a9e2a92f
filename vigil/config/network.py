"""`api:`, `rtsp_out:`, `source:` and `cluster:`: what Vigil listens on and how it reaches cameras and nodes."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from vigil.config.base import _Listening, _Strict, check_listen


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


class TranscodeSettings(_Strict):
    """Live H.264 renditions for browsers that cannot decode the camera's codec (H.265 in most desktop browsers)."""

    max_sessions: int = Field(default=2, ge=0, le=64, description="transcoders running at once (one per camera "
                              "and stream, shared by its viewers); 0: never transcode")
    max_height: int = Field(default=1080, ge=144, le=2160, description="renditions are scaled down to this height")


class LiveConfig(_Strict):
    transcode: TranscodeSettings = Field(default_factory=TranscodeSettings)


class SourceSettings(_Strict):
    open_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(default=3.0, gt=0)
    backoff_initial_seconds: float = Field(default=0.5, gt=0)
    backoff_max_seconds: float = Field(default=2.0, gt=0)
