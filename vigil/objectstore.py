"""Segments in an S3-compatible bucket: upload, delete, and a seekable file over HTTP range requests.

The key of a segment is `prefix + its catalog path`, so the bucket has the same layout as a node's disk and the
catalog can be rebuilt from either. Reads go through a small shared block cache: scanning a segment's boxes or
serving an HLS fragment costs one or two range requests, not a download of the whole file.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from vigil.config import S3Settings
from vigil.errors import ConfigError, NotFoundError, StorageError
from vigil.log import get_logger

log = get_logger(__name__)
BLOCK = 1 << 20  # bytes per range request
CACHE_BLOCKS = 64


class ObjectStore:
    def __init__(self, s3: S3Settings) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = s3.bucket
        self.prefix = s3.prefix
        self.where = f"s3://{s3.bucket}/{s3.prefix}" + (f" at {s3.endpoint_url}" if s3.endpoint_url else "")
        self._client: Any = boto3.client(
            "s3", endpoint_url=s3.endpoint_url, region_name=s3.region or "us-east-1",
            aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key,
            config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                              max_pool_connections=20),
        )
        self._blocks: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, rel: str) -> str:
        return self.prefix + rel

    def _errors(self) -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    def check(self) -> None:
        """At start: the bucket must exist and answer, or the user learns what to fix."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except self._errors() as err:
            raise ConfigError(f"storage.s3: cannot use {self.where}: {err} — create the bucket, or check "
                              "endpoint_url and the access keys") from None

    def upload(self, path: Path, rel: str) -> None:
        """Uploads a closed segment file and checks the bucket holds all of it before the caller deletes it."""
        size = path.stat().st_size
        try:
            self._client.upload_file(str(path), self.bucket, self.key(rel))
            head = self._client.head_object(Bucket=self.bucket, Key=self.key(rel))
        except self._errors() as err:
            raise StorageError(f"upload of {rel} to {self.where} failed: {err}") from None
        if int(head["ContentLength"]) != size:
            raise StorageError(f"upload of {rel} to {self.where}: the bucket holds {head['ContentLength']} bytes "
                               f"of {size}")

    def put(self, rel: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self.key(rel), Body=data, ContentType=content_type)
        except self._errors() as err:
            raise StorageError(f"upload of {rel} to {self.where} failed: {err}") from None

    def get(self, rel: str) -> bytes | None:
        """A whole (small) object, or None when there is none."""
        try:
            got = self._client.get_object(Bucket=self.bucket, Key=self.key(rel))
            data: bytes = got["Body"].read()
            return data
        except self._errors() as err:
            if getattr(err, "response", {}).get("Error", {}).get("Code", "") in ("NoSuchKey", "404"):
                return None
            raise StorageError(f"reading {rel} from {self.where} failed: {err}") from None

    def folders(self, rel: str) -> list[str]:
        """The names directly under folder `rel` (e.g. "_events/")."""
        out: list[str] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.key(rel), Delimiter="/")
            for page in pages:
                out += [p["Prefix"][len(self.key(rel)):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        except self._errors() as err:
            raise StorageError(f"listing {rel} in {self.where} failed: {err}") from None
        return out

    def delete_folder(self, rel: str) -> None:
        """Every object under folder `rel`."""
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(rel))
            keys = [o["Key"][len(self.prefix):] for page in pages for o in page.get("Contents", [])]
        except self._errors() as err:
            raise StorageError(f"listing {rel} in {self.where} failed: {err}") from None
        self.delete(keys)

    def delete(self, rels: list[str]) -> None:
        for i in range(0, len(rels), 1000):  # the API's limit per request
            batch = [{"Key": self.key(r)} for r in rels[i:i + 1000]]
            try:
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except self._errors() as err:
                raise StorageError(f"delete from {self.where} failed: {err}") from None
        gone = set(rels)
        with self._lock:
            for k in [k for k in self._blocks if k[0] in gone]:
                del self._blocks[k]

    def read(self, rel: str, offset: int, size: int) -> bytes:
        """Bytes [offset, offset + size) of an object, through the block cache."""
        out = bytearray()
        end = offset + size
        block = offset // BLOCK
        while block * BLOCK < end:
            data = self._block(rel, block)
            lo = max(offset, block * BLOCK) - block * BLOCK
            hi = min(end, block * BLOCK + len(data)) - block * BLOCK
            if hi <= lo:
                break  # past the object's end
            out += data[lo:hi]
            if len(data) < BLOCK:
                break
            block += 1
        return bytes(out)

    def _block(self, rel: str, index: int) -> bytes:
        with self._lock:
            hit = self._blocks.get((rel, index))
            if hit is not None:
                self._blocks.move_to_end((rel, index))
                return hit
        start = index * BLOCK
        try:
            got = self._client.get_object(Bucket=self.bucket, Key=self.key(rel),
                                          Range=f"bytes={start}-{start + BLOCK - 1}")
            data: bytes = got["Body"].read()
        except self._errors() as err:
            code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise NotFoundError(f"segment {rel} is missing from {self.where}") from None
            if code == "InvalidRange":
                return b""
            raise StorageError(f"reading {rel} from {self.where} failed: {err}") from None
        with self._lock:
            self._blocks[(rel, index)] = data
            while len(self._blocks) > CACHE_BLOCKS:
                self._blocks.popitem(last=False)
        return data

    def open(self, rel: str, size: int) -> io.BufferedReader:
        return io.BufferedReader(RangeFile(self, rel, size), buffer_size=64 * 1024)


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of one object: what PyAV and the box walker need."""

    def __init__(self, store: ObjectStore, rel: str, size: int) -> None:
        self.store = store
        self.rel = rel
        self.size = size
        self.name = rel
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        data = self.store.read(self.rel, self.pos, want)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n
