"""Pieces every section of vigil.yml shares: the strict model base, host, URL and listen-address checks."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

URL_SCHEMES = ("rtsp", "rtsps", "http", "https", "file")


CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


ANY_HOST = ("0.0.0.0", "::", "[::]")  # a listen host meaning every interface: not an address others can use


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


Polygon = list[tuple[float, float]]


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
