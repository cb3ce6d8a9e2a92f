"""Export: a time range of one or more cameras to MP4 files in a folder (a USB drive is a folder) or an
S3-compatible bucket. No re-encoding: the files are built from the recorded fragments, as playback is.
Jobs run in a thread and report bytes and percent. Segments being exported are held from retention."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import NotFoundError, StorageError, VigilError
from vigil.log import get_logger
from vigil.media.playback import Part, Plan, iso, mp4_parts, plan_range, read_parts
from vigil.media.segment_files import SegmentFiles

log = get_logger(__name__)


class SegmentHolds:
    """Segments in use by an export; retention leaves them alone until released."""

    def __init__(self) -> None:
        self._held: Counter[int] = Counter()
        self._lock = threading.Lock()

    def hold(self, ids: list[int]) -> None:
        with self._lock:
            self._held.update(ids)

    def release(self, ids: list[int]) -> None:
        with self._lock:
            self._held.subtract(ids)
            self._held = +self._held

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._held)


@dataclass(frozen=True)
class FolderTarget:
    path: Path

    def describe(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


Target = FolderTarget | S3Target


@dataclass
class ExportJob:
    id: str
    cameras: list[str]
    start_ms: int
    end_ms: int
    target: str
    status: str = "queued"  # queued | running | done | failed
    bytes_total: int = 0
    bytes_done: int = 0
    files: list[str] = field(default_factory=list)
    error: str | None = None
    created_ms: int = field(default_factory=now_ms)
    finished_ms: int | None = None

    @property
    def percent(self) -> float:
        if self.status == "done":
            return 100.0
        return round(100.0 * self.bytes_done / self.bytes_total, 1) if self.bytes_total else 0.0


def export_name(camera: str, plan: Plan) -> str:
    fmt = "%Y%m%dT%H%M%SZ"
    a = time.strftime(fmt, time.gmtime(plan.start_ms / 1000))
    b = time.strftime(fmt, time.gmtime(plan.end_ms / 1000))
    return f"{camera}_{a}_{b}.mp4"


class _PartsReader(io.RawIOBase):
    """A file-like view of a virtual MP4, for boto3's streaming upload."""

    def __init__(self, chunks: Iterator[bytes], on_bytes: Callable[[int], None]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self._on_bytes(n)
        return n


def write_folder(files: SegmentFiles, target: FolderTarget, name: str, parts: list[Part],
                 on_bytes: Callable[[int], None]) -> str:
    try:
        target.path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"export folder {target.path}: {err.strerror}; is the drive mounted and writable?") from None
    final = target.path / name
    tmp = target.path / (name + ".partial")
    try:
        with tmp.open("wb") as f:
            for chunk in read_parts(files, parts):
                f.write(chunk)
                on_bytes(len(chunk))
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(final)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"export to {final} failed: {err.strerror}") from None
    return str(final)


def write_s3(files: SegmentFiles, target: S3Target, name: str, parts: list[Part],
             on_bytes: Callable[[int], None]) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client(
        "s3", endpoint_url=target.endpoint_url, aws_access_key_id=target.access_key,
        aws_secret_access_key=target.secret_key, region_name=target.region,
    )
    key = f"{target.prefix.strip('/')}/{name}" if target.prefix.strip("/") else name
    try:
        client.upload_fileobj(_PartsReader(read_parts(files, parts), on_bytes), target.bucket, key)
    except (BotoCoreError, ClientError) as err:
        raise StorageError(f"export to s3://{target.bucket}/{key} failed: {err}") from None
    return f"s3://{target.bucket}/{key}"


class Exporter:
    def __init__(self, catalog: Catalog, files: SegmentFiles, holds: SegmentHolds) -> None:
        self.catalog = catalog
        self.files = files
        self.holds = holds
        self.jobs: dict[str, ExportJob] = {}

    def plan(self, cameras: list[str], start_ms: int, end_ms: int) -> dict[str, Plan]:
        plans = {}
        for cam in cameras:
            try:
                plans[cam] = plan_range(self.catalog, self.files, cam, start_ms, end_ms)
            except NotFoundError:
                continue
        if not plans:
            raise NotFoundError(
                f"no recording of {', '.join(cameras)} between {iso(start_ms)} and {iso(end_ms)}; "
                "the cameras' timelines show what is recorded"
            )
        return plans

    def submit(self, cameras: list[str], start_ms: int, end_ms: int, target: Target) -> ExportJob:
        plans = self.plan(cameras, start_ms, end_ms)  # raises before a job exists
        job = ExportJob(uuid.uuid4().hex[:12], cameras, start_ms, end_ms, target.describe())
        self.jobs[job.id] = job
        held = [f.segment.id for p in plans.values() for f in p.fragments]
        self.holds.hold(held)
        threading.Thread(target=self._run, args=(job, plans, target, held), daemon=True,
                         name=f"export-{job.id}").start()
        return job

    def run(self, cameras: list[str], start_ms: int, end_ms: int, target: Target,
            progress: Callable[[ExportJob], None] | None = None) -> ExportJob:
        """Synchronous export (the CLI), with a progress callback."""
        plans = self.plan(cameras, start_ms, end_ms)
        job = ExportJob(uuid.uuid4().hex[:12], cameras, start_ms, end_ms, target.describe())
        held = [f.segment.id for p in plans.values() for f in p.fragments]
        self.holds.hold(held)
        self._run(job, plans, target, held, progress)
        return job

    def _run(self, job: ExportJob, plans: dict[str, Plan], target: Target, held: list[int],
             progress: Callable[[ExportJob], None] | None = None) -> None:
        job.status = "running"
        try:
            all_parts = {cam: mp4_parts(self.files, plan) for cam, plan in plans.items()}
            job.bytes_total = sum(p.size for parts in all_parts.values() for p in parts)

            def on_bytes(n: int) -> None:
                job.bytes_done += n
                if progress:
                    progress(job)

            for cam, parts in all_parts.items():
                name = export_name(cam, plans[cam])
                if isinstance(target, FolderTarget):
                    job.files.append(write_folder(self.files, target, name, parts, on_bytes))
                else:
                    job.files.append(write_s3(self.files, target, name, parts, on_bytes))
            job.status = "done"
            log.info("export_done", job=job.id, files=len(job.files), bytes=job.bytes_done)
        except (VigilError, OSError) as err:
            job.status, job.error = "failed", str(err)
            log.error("export_failed", job=job.id, error=err)
        finally:
            job.finished_ms = now_ms()
            self.holds.release(held)
            if progress:
                progress(job)
