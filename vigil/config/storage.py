"""`storage:`, `catalog:` and `exports:`: where recordings, the catalog and exports go."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from vigil.config.base import _Strict


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


class CatalogConfig(_Strict):
    url: str = ""
    key_file: Path | None = None  # seals camera passwords in the catalog; default: vigil.key beside the storage

    @field_validator("url")
    @classmethod
    def _check(cls, v: str) -> str:
        if v and not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
            raise ValueError(f"catalog URL {v!r} must be sqlite:///<file> or postgresql://user:pass@host/db")
        return v


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
