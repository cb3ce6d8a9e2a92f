"""Crash recovery and catalog rebuild: the disk is the truth, the index follows it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
from sqlalchemy import select

from vigil.catalog.models import SegmentModel
from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.errors import SegmentError
from vigil.layout import SEGMENT_GLOB
from vigil.log import get_logger
from vigil.media.fmp4 import repair

log = get_logger(__name__)


def _probe(path: Path) -> tuple[str, int, int]:
    try:
        with av.open(str(path)) as c:
            cc = c.streams.video[0].codec_context
            return cc.name, cc.width, cc.height
    except (av.FFmpegError, IndexError, OSError):
        return "", 0, 0


def index_file(catalog: Catalog, storage: Path, path: Path, seg_id: int | None = None) -> SegmentRow | None:
    """Repair one segment file and put it in the index (replacing row `seg_id`); None if it held no video."""
    rel = str(path.relative_to(storage))
    try:
        start_ms = int(path.stem)
        camera = path.relative_to(storage).parts[0]
    except (ValueError, IndexError):
        log.warning("not_a_segment", path=rel)
        return None
    try:
        scan = repair(path)
    except SegmentError as err:
        log.warning("segment_unreadable", path=rel, error=err)
        scan = None
    if seg_id is not None:
        catalog.delete_segments([seg_id])
    if scan is None or not scan.fragments:
        path.unlink(missing_ok=True)
        log.warning("segment_empty_removed", path=rel)
        return None
    codec, width, height = _probe(path)
    row = SegmentRow(0, camera, start_ms, start_ms + scan.duration_ms, scan.file_size, rel, codec, width, height)
    new_id = catalog.add_segment(row, scan.keyframes_ms())
    log.info("segment_recovered", path=rel, duration_ms=scan.duration_ms, truncated=scan.truncated)
    return dataclasses.replace(row, id=new_id)


def recover(catalog: Catalog, storage: Path, check_oldest: int = 100) -> int:
    """After an unclean stop: repair and index open segments, index strays in the newest hour
    folders, and drop rows whose files are gone (a crash during retention). Returns files indexed.
    In a cluster only this node's files are its business: the others' rows and the bucket's are left alone."""
    count = 0
    for seg in catalog.segments(status="open", local_only=True):
        path = storage / seg.path
        if path.exists():
            count += index_file(catalog, storage, path, seg.id) is not None
        else:
            catalog.delete_segments([seg.id])
    known = catalog.segment_paths()
    if storage.is_dir():
        for cam_dir in (p for p in storage.iterdir() if p.is_dir()):
            hours = sorted(h for d in cam_dir.iterdir() if d.is_dir() for h in d.iterdir() if h.is_dir())
            for hour in hours[-2:]:
                for f in sorted(hour.glob("*.mp4")):
                    if str(f.relative_to(storage)) not in known:
                        count += index_file(catalog, storage, f) is not None
    with catalog.session() as s:
        cams = s.scalars(select(SegmentModel.camera_id).distinct()).all()
        for cam in cams:
            oldest = s.scalars(
                select(SegmentModel).where(SegmentModel.camera_id == cam, *catalog.on_this_disk())
                .order_by(SegmentModel.start_ms).limit(check_oldest)
            ).all()
            missing = [m.id for m in oldest if not (storage / m.path).exists()]
            catalog.delete_segments(missing)
    return count


def rebuild(catalog: Catalog, storage: Path) -> int:
    """Recreate the index of this node's segment files from the files alone (rows of segments in the bucket, or on
    another node's disk, are kept: their files are not here to read)."""
    with catalog.session() as s, s.begin():
        s.query(SegmentModel).filter(*catalog.on_this_disk()).delete()
    count = 0
    for f in sorted(storage.glob(SEGMENT_GLOB)):
        count += index_file(catalog, storage, f) is not None
    return count
