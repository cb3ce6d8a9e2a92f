"""Retention: per-camera age and size quotas, and a global free-space floor (overwrite-oldest).

`plan_deletions` is pure: it takes rows and numbers and says which segments go.
`Retention` does the I/O: measures the disk, deletes files and rows, raises disk alarms.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import StorageError
from vigil.layout import SNAPSHOT_DIR
from vigil.log import get_logger
from vigil.objectstore import ObjectStore

log = get_logger(__name__)
GB = 1_000_000_000
DAY_MS = 86_400_000
QUOTA_CLEAR_S = 600.0
CANDIDATES = 1000  # segments a pass reads for each reason to delete (see Retention._candidates)


@dataclass(frozen=True)
class Quota:
    max_days: float | None = None
    max_bytes: int | None = None


@dataclass(frozen=True)
class Policy:
    quotas: dict[str, Quota] = field(default_factory=dict)
    min_free_bytes: int = 0


@dataclass(frozen=True)
class Deletion:
    segment: SegmentRow
    reason: str  # age | quota | disk


def plan_deletions(
    segments: Sequence[SegmentRow], policy: Policy, now: int, free_bytes: int, held: Set[int] = frozenset(),
    used: Mapping[str, int] | None = None,
) -> list[Deletion]:
    """Oldest first, never an open segment nor one held (being exported). Age, then each camera's size
    quota, then the disk floor. `used`: each camera's bytes when `segments` are only the oldest of them (the
    candidates a pass reads); else counted from `segments`."""
    closed = sorted((s for s in segments if s.status == "closed" and s.id not in held),
                    key=lambda s: (s.start_ms, s.id))
    gone: dict[int, Deletion] = {}
    for seg in closed:
        q = policy.quotas.get(seg.camera_id)
        if q and q.max_days is not None and seg.end_ms < now - q.max_days * DAY_MS:
            gone[seg.id] = Deletion(seg, "age")
    by_camera: dict[str, list[SegmentRow]] = defaultdict(list)
    for seg in segments:
        if seg.id not in gone:
            by_camera[seg.camera_id].append(seg)
    aged: dict[str, int] = defaultdict(int)
    for d in gone.values():
        aged[d.segment.camera_id] += d.segment.bytes
    for camera, segs in by_camera.items():
        q = policy.quotas.get(camera)
        if not q or q.max_bytes is None:
            continue
        total = used.get(camera) if used is not None else None
        kept = total - aged[camera] if total is not None else sum(s.bytes for s in segs)
        for seg in sorted((s for s in segs if s.status == "closed" and s.id not in held),
                          key=lambda s: (s.start_ms, s.id)):
            if kept <= q.max_bytes:
                break
            gone[seg.id] = Deletion(seg, "quota")
            kept -= seg.bytes
    # Only files on the local disk free it (a segment in the bucket does not count, whatever its age).
    freed = sum(d.segment.bytes for d in gone.values() if d.segment.stored == "local")
    for seg in closed:
        if free_bytes + freed >= policy.min_free_bytes:
            break
        if seg.id not in gone and seg.stored == "local":
            gone[seg.id] = Deletion(seg, "disk")
            freed += seg.bytes
    return sorted(gone.values(), key=lambda d: (d.segment.start_ms, d.segment.id))


def policy_from_config(cameras: Sequence[object], min_free_gb: float, min_free_percent: float, total: int) -> Policy:
    quotas = {}
    for cam in cameras:
        rec = cam.record  # type: ignore[attr-defined]
        quotas[cam.id] = Quota(  # type: ignore[attr-defined]
            rec.max_days, int(rec.max_gb * GB) if rec.max_gb is not None else None
        )
    floor = max(int(min_free_gb * GB), int(total * min_free_percent / 100))
    return Policy(quotas, floor)




def stale_snapshot_days(days: dict[str, list[str]], oldest_ms: dict[str, int], max_days: dict[str, float | None],
                        now: int) -> list[tuple[str, str]]:
    """Event-snapshot day folders (camera, YYYY-MM-DD, UTC) to delete: days before the camera's oldest remaining
    recording (the clip is gone, the picture goes with it), or older than its max_days when nothing is recorded."""
    out = []
    for cam, names in days.items():
        if cam in oldest_ms:
            cutoff = time.strftime("%Y-%m-%d", time.gmtime(oldest_ms[cam] / 1000))
        elif max_days.get(cam):
            cutoff = time.strftime("%Y-%m-%d", time.gmtime((now - (max_days[cam] or 0) * DAY_MS) / 1000))
        else:
            continue
        out += [(cam, d) for d in names if d < cutoff]
    return out


class Retention:
    def __init__(self, catalog: Catalog, storage: Path, cameras: Callable[[], Sequence[object]], min_free_gb: float,
                 min_free_percent: float, held: Callable[[], Set[int]] = frozenset,
                 alarm: Callable[[str, str, str, str | None], int] | None = None,
                 clear: Callable[[int], None] | None = None, store: ObjectStore | None = None,
                 bucket_snapshots: bool = False) -> None:
        self.catalog = catalog
        self.store = store  # the bucket, where segments go once uploaded (storage.s3)
        self.bucket_snapshots = bucket_snapshots  # event pictures are mirrored there too (a cluster)
        self._bucket_pruned = float("-inf")
        self.storage = storage
        self.cameras = cameras
        self.min_free_gb = min_free_gb
        self.min_free_percent = min_free_percent
        self.held = held
        # Disk alarms go through the event bus when Vigil runs (linkage, WebSocket); straight to the catalog else.
        self._alarm = alarm or (lambda t, msg, sev, cam: self.catalog.add_event(t, msg, severity=sev,
                                                                                camera_id=cam).id)
        self._clear = clear or (lambda event_id: self.catalog.update_event(event_id, end_ms=now_ms()) and None)
        self._quota_bit: dict[str, float] = {}  # camera -> when its quota last made Vigil delete (monotonic)
        self._full_bit = float("-inf")  # when the free-space floor last made Vigil delete (monotonic)
        self._open: dict[str, int] = {}  # alarm type -> its open event: raised once, closed when the cause is gone

    def _raise(self, kind: str, message: str, camera: str | None = None, severity: str = "critical") -> None:
        key = f"{kind}:{camera}" if camera else kind
        if key not in self._open:
            self._open[key] = self._alarm(kind, message, severity, camera)

    def _cleared(self, kind: str) -> None:
        event_id = self._open.pop(kind, None)
        if event_id is not None:
            self._clear(event_id)

    async def loop(self, every_s: float) -> None:
        """Runs every `every_s` seconds, forever; a failed round is logged and the next one tries again."""
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception as err:
                log.error("retention_failed", error=repr(err))
            await asyncio.sleep(every_s)

    def run_once(self) -> list[Deletion]:
        if not self.storage.is_dir():
            self._raise("disk_missing", f"the storage path {self.storage} is missing (disk unplugged or not "
                        "mounted?): recordings cannot be written — mount the disk or fix storage.path")
            log.error("storage_missing", path=self.storage)
            return []
        self._cleared("disk_missing")
        try:
            usage = shutil.disk_usage(self.storage)
        except OSError as err:
            self._raise("disk_error", f"storage path {self.storage} is not usable: {err.strerror}")
            log.error("storage_unusable", path=self.storage, error=err.strerror)
            return []
        policy = policy_from_config(self.cameras(), self.min_free_gb, self.min_free_percent, usage.total)
        now = now_ms()
        # Summing a month of rows costs a tenth of a second: only for quotas.
        quotas = any(q.max_bytes is not None for q in policy.quotas.values())
        used = self.catalog.retained_bytes() if quotas else {}
        segments = self._candidates(policy, now, used, usage.free)
        held = self.held()
        plan = plan_deletions(segments, policy, now, usage.free, held, used)
        done: list[int] = self._delete_in_bucket([d.segment for d in plan if d.segment.stored == "s3"])
        for d in plan:
            if d.segment.stored == "s3":
                continue
            try:
                (self.storage / d.segment.path).unlink(missing_ok=True)
            except OSError as err:
                log.error("segment_delete_failed", path=d.segment.path, error=err.strerror)
                continue
            done.append(d.segment.id)
            remove_empty_parents(self.storage / d.segment.path, self.storage)
        self.catalog.delete_segments(done)
        if plan:
            log.info("retention", deleted=len(done), reasons=",".join(sorted({d.reason for d in plan})))
        if quotas:
            left = dict(used)
            gone = set(done)
            for d in plan:
                if d.segment.id in gone:
                    left[d.segment.camera_id] = left.get(d.segment.camera_id, 0) - d.segment.bytes
            self._quota_alarms(policy, {d.segment.camera_id for d in plan if d.reason == "quota"}, left)
        self._full_alarm(any(d.reason == "disk" for d in plan))
        free = shutil.disk_usage(self.storage).free
        # Recording goes on while a pass deletes: a little under the floor with old video left is the next
        # pass's work, not an alarm.
        if free < policy.min_free_bytes and not any(
                s.id not in held for s in self.catalog.oldest_closed(len(held) + 1, local_only=True)):
            self._raise("disk_low", f"only {free / GB:.2f} GB free on {self.storage}, below the floor of "
                        f"{policy.min_free_bytes / GB:.2f} GB, and nothing old is left to delete")
        else:
            self._cleared("disk_low")
        self._prune_snapshots()
        return plan

    def _candidates(self, policy: Policy, now: int, used: Mapping[str, int], free: int) -> list[SegmentRow]:
        """The segments this pass may delete, oldest first: those past their camera's age, the oldest of a camera
        over its quota, the oldest on this disk when it is below the floor — at most CANDIDATES for each (a
        pass deletes far more than a pass's recording; what is left is the next pass's)."""
        found: dict[int, SegmentRow] = {}
        for cam, q in policy.quotas.items():
            if q.max_days is not None:
                found.update((s.id, s) for s in self.catalog.oldest_closed(
                    CANDIDATES, cam, before_ms=int(now - q.max_days * DAY_MS)))
            if q.max_bytes is not None and used.get(cam, 0) > q.max_bytes:
                found.update((s.id, s) for s in self.catalog.oldest_closed(CANDIDATES, cam))
        if free < policy.min_free_bytes:
            found.update((s.id, s) for s in self.catalog.oldest_closed(CANDIDATES, local_only=True))
        return sorted(found.values(), key=lambda s: (s.start_ms, s.id))

    def _delete_in_bucket(self, segments: list[SegmentRow]) -> list[int]:
        if not segments:
            return []
        if self.store is None:
            log.error("retention_bucket_unconfigured", segments=len(segments),
                      why="segments are in the bucket but storage.s3 is not configured here")
            return []
        try:
            self.store.delete([s.path for s in segments])
        except StorageError as err:
            self._raise("disk_error", f"retention could not delete from the bucket: {err}")
            log.error("retention_bucket_failed", error=str(err))
            return []
        self._cleared("disk_error")
        return [s.id for s in segments]

    def _full_alarm(self, overwriting: bool) -> None:
        """`disk_full` (warning) once the free-space floor makes Vigil overwrite its oldest video: recording goes on,
        but the disk, not the retention settings, now decides how far back video reaches. Clears after 10 minutes
        without such deletions."""
        now = time.monotonic()
        if overwriting:
            self._full_bit = now
            if "disk_full" not in self._open:
                oldest = self.catalog.oldest_closed(1)
                oldest_ms = oldest[0].start_ms if oldest else now_ms()
                self._raise("disk_full", f"the storage {self.storage} is full: Vigil overwrites the oldest "
                            f"recordings to keep recording ({(now_ms() - oldest_ms) / DAY_MS:.1f} days kept now; "
                            "add disk space or lower retention to keep more)", severity="warning")
        elif now - self._full_bit > QUOTA_CLEAR_S:
            self._cleared("disk_full")

    def _quota_alarms(self, policy: Policy, overwriting: set[str], used: Mapping[str, int]) -> None:
        """`disk_quota` (warning) once a camera's quota makes Vigil overwrite its oldest video; it clears when no
        quota deletion happened for 10 minutes and the camera's recordings are below 90 % of the quota (the quota
        was raised, or the camera records less) — not between two deletions of a camera that is simply full."""
        now = time.monotonic()
        for cam, quota in policy.quotas.items():
            if quota.max_bytes is None:
                continue
            if cam in overwriting:
                self._quota_bit[cam] = now
                self._raise("disk_quota", f"camera {cam} filled its quota of {quota.max_bytes / GB:.3g} GB: its "
                            "oldest recordings are being overwritten (raise record.max_gb to keep more)", cam,
                            "warning")
            elif now - self._quota_bit.get(cam, 0.0) > QUOTA_CLEAR_S and used.get(cam, 0) < 0.9 * quota.max_bytes:
                self._cleared(f"disk_quota:{cam}")

    def _oldest(self, cameras: Iterable[str]) -> dict[str, int]:
        """When each camera's oldest recording starts (cameras with none left out)."""
        return {cam: first for cam in cameras if (first := self.catalog.oldest_start(cam)) is not None}

    def _prune_snapshots(self) -> None:
        root = self.storage / SNAPSHOT_DIR
        days = {c.name: [d.name for d in c.iterdir() if d.is_dir()] for c in root.iterdir() if c.is_dir()} \
            if root.is_dir() else {}
        max_days = {getattr(c, "id", ""): getattr(getattr(c, "record", None), "max_days", None) for c in self.cameras()}
        for cam, day in stale_snapshot_days(days, self._oldest(days), max_days, now_ms()):
            shutil.rmtree(root / cam / day, ignore_errors=True)
        if self.store is not None and self.bucket_snapshots and time.monotonic() - self._bucket_pruned > 3600:
            self._bucket_pruned = time.monotonic()  # listing the bucket costs requests: hourly is plenty
            try:
                days = {c: self.store.folders(f"{SNAPSHOT_DIR}/{c}/") for c in self.store.folders(f"{SNAPSHOT_DIR}/")}
                for cam, day in stale_snapshot_days(days, self._oldest(days), max_days, now_ms()):
                    self.store.delete_folder(f"{SNAPSHOT_DIR}/{cam}/{day}/")
            except StorageError as err:
                log.error("retention_bucket_failed", error=str(err))


def remove_empty_parents(path: Path, root: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            os.rmdir(parent)
        except OSError:
            return
        parent = parent.parent
