"""Where a segment's bytes are: this node's disk or the bucket. Every reader (playback, HLS, snapshots, export,
RTSP replay) opens segments here, so none of them knows or cares which."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.errors import NotFoundError
from vigil.objectstore import ObjectStore


class SegmentFiles:
    def __init__(self, storage: Path, catalog: Catalog | None = None, store: ObjectStore | None = None) -> None:
        self.storage = storage
        self.catalog = catalog
        self.store = store
        self.node_id = catalog.node_id if catalog is not None else None

    def local_path(self, seg: SegmentRow) -> Path:
        return self.storage / seg.path

    def _current(self, seg: SegmentRow) -> SegmentRow:
        """The row as the catalog has it now: the file may have moved to the bucket since `seg` was read."""
        if self.catalog is None:
            return seg
        rows = self.catalog.segments_by_id([seg.id])
        if not rows:
            raise NotFoundError(f"segment {seg.path} was deleted (retention) while it was being read")
        return rows[0]

    def readable(self, seg: SegmentRow) -> bool:
        """In the bucket or on this node's disk (not on another node's, before its upload)."""
        return (seg.stored == "s3" and self.store is not None) or seg.node_id == self.node_id

    def open(self, seg: SegmentRow) -> BinaryIO:
        for attempt in (0, 1):
            if seg.stored == "s3":
                if self.store is None:
                    raise NotFoundError(f"segment {seg.path} is in the bucket, but storage.s3 is not configured "
                                        "on this node; configure it as on the node that uploaded it")
                return self.store.open(seg.path, seg.bytes)
            if seg.node_id == self.node_id:
                try:
                    return self.local_path(seg).open("rb")
                except FileNotFoundError:
                    pass
            if attempt == 0:
                seg = self._current(seg)
        if seg.node_id != self.node_id:
            raise NotFoundError(f"segment {seg.path} is on node {seg.node_id}'s disk until it is uploaded (a few "
                                "seconds after it closes); that node serves it meanwhile")
        raise NotFoundError(f"segment file {seg.path} is missing on disk")

    def version(self, seg: SegmentRow) -> tuple[str, str, int, int]:
        """A key that changes when the bytes do: a growing open segment is rescanned, a closed one is not."""
        if seg.stored == "s3":
            return (seg.path, "s3", seg.bytes, 0)
        try:
            st = os.stat(self.local_path(seg))
        except OSError:
            current = self._current(seg)
            if current.stored == "s3":
                return (seg.path, "s3", current.bytes, 0)
            raise NotFoundError(f"segment file {seg.path} is missing on disk") from None
        return (seg.path, "local", st.st_size, st.st_mtime_ns)

    def size(self, seg: SegmentRow) -> int:
        return self.version(seg)[2]
