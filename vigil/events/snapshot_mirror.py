"""Event pictures in the bucket: in a cluster, the node that stored an event's snapshot (a JPEG on its disk) also
puts it in the bucket, so any node can show it. A bus listener hands the path to one uploader thread: the event
is never held up by the upload, and a failed upload loses the copy, not the event."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from vigil.catalog.rows import EventRow
from vigil.errors import StorageError
from vigil.log import get_logger
from vigil.objectstore import ObjectStore

log = get_logger(__name__)


class SnapshotMirror:
    def __init__(self, storage: Path, store: ObjectStore) -> None:
        self.storage = storage
        self.store = store
        self.mirrored = 0
        self._queue: queue.Queue[str | None] = queue.Queue(1000)
        self._seen: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="snapshot-mirror", daemon=True)
        self._thread.start()

    def listen(self, _kind: str, row: EventRow) -> None:
        if row.snapshot and row.snapshot not in self._seen:
            self._seen.add(row.snapshot)
            if len(self._seen) > 10_000:
                self._seen.clear()
            try:
                self._queue.put_nowait(row.snapshot)
            except queue.Full:
                log.warning("snapshot_mirror_behind", snapshot=row.snapshot)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    def _run(self) -> None:
        while (rel := self._queue.get()) is not None:
            try:
                self.store.put(rel, (self.storage / rel).read_bytes(), "image/jpeg")
                self.mirrored += 1
            except (OSError, StorageError) as err:
                log.warning("snapshot_mirror_failed", snapshot=rel, error=str(err))
