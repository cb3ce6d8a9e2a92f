"""Tiering: closed segments go from this node's disk to the bucket (storage.s3), at once or after N hours.

Upload, check the bucket holds every byte, point the row at the bucket, then delete the local file: at every
instant the segment is readable from at least one place, and a reader that finds the file gone asks the catalog
again (media/segment_files.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import StorageError
from vigil.log import get_logger
from vigil.objectstore import ObjectStore
from vigil.recorder.retention import remove_empty_parents

log = get_logger(__name__)
BATCH = 50


class Tiering:
    def __init__(self, catalog: Catalog, storage: Path, store: ObjectStore, after_hours: float) -> None:
        self.catalog = catalog
        self.storage = storage
        self.store = store
        self.after_ms = int(after_hours * 3_600_000)
        self.uploaded = 0
        self.failures = 0

    async def loop(self) -> None:
        """Uploads in the background, forever: at once while there is work, else every quarter of the wait
        (2 s to 1 min)."""
        every = min(60.0, max(2.0, self.after_ms / 4000))
        while True:
            try:
                moved = await asyncio.to_thread(self.run_once)
            except Exception as err:
                log.error("tiering_failed", error=repr(err))
                moved = 0
            if not moved:
                await asyncio.sleep(every)

    def run_once(self) -> int:
        """Uploads up to BATCH due segments, oldest first; returns how many moved."""
        cutoff = now_ms() - self.after_ms
        due = self.catalog.oldest_closed(BATCH, before_ms=cutoff + 1, local_only=True)  # ended by the cutoff
        moved = 0
        for seg in due:
            path = self.storage / seg.path
            if not path.exists():
                continue  # recovery drops rows whose file vanished
            try:
                self.store.upload(path, seg.path)
            except StorageError as err:
                self.failures += 1
                log.error("upload_failed", path=seg.path, error=str(err))
                return moved  # the bucket is unwell: try again next round, in order
            if not self.catalog.set_stored(seg.id, "s3"):
                self.store.delete([seg.path])  # retention removed it meanwhile: no orphan in the bucket
                continue
            path.unlink(missing_ok=True)
            remove_empty_parents(path, self.storage)
            moved += 1
        self.uploaded += moved
        if moved:
            log.info("segments_uploaded", count=moved, to=self.store.where)
        return moved

