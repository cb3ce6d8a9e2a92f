"""What the overview page asks the catalog: alarms not yet acknowledged, plates read, people counted, since a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from vigil.analytics.counting import bucket_of
from vigil.catalog.models import EventModel, PeopleCountModel, SegmentModel
from vigil.catalog.rows import EventRow
from vigil.catalog.store import Catalog

ALARM_SEVERITIES = ("warning", "alarm")
# Acknowledgement lives in the event's JSON details, which SQL cannot filter the same way on SQLite and
# PostgreSQL: newest alarms are read in pages and the acknowledged ones left out here.
_PAGE = 200


@dataclass(frozen=True)
class OpenAlarms:
    count: int  # not acknowledged, of at most `scanned` newest
    scanned: int
    newest: list[EventRow]


def open_alarms(catalog: Catalog, since_ms: int, cameras: Sequence[str] | None, keep: int = 10,
                scan: int = 2000) -> OpenAlarms:
    """Alarms (severity warning or alarm) since `since_ms` that nobody acknowledged, newest first; `cameras`
    None means all."""
    q = (select(EventModel).where(EventModel.start_ms >= since_ms, EventModel.severity.in_(ALARM_SEVERITIES))
         .order_by(EventModel.start_ms.desc(), EventModel.id.desc()))
    if cameras is not None:
        q = q.where(EventModel.camera_id.in_(list(cameras)))
    newest: list[EventRow] = []
    count = scanned = 0
    with catalog.session() as s:
        for m in s.scalars(q.limit(scan).execution_options(yield_per=_PAGE)):
            scanned += 1
            if (m.details or {}).get("ack"):
                continue
            count += 1
            if len(newest) < keep:
                newest.append(EventRow.of(m))
    return OpenAlarms(count, scanned, newest)


def plates_since(catalog: Catalog, since_ms: int, cameras: Sequence[str] | None,
                 keep: int = 10) -> tuple[int, list[EventRow]]:
    """(how many plate reads since `since_ms`, the newest of them)."""
    where = [EventModel.start_ms >= since_ms, EventModel.plate.is_not(None)]
    if cameras is not None:
        where.append(EventModel.camera_id.in_(list(cameras)))
    with catalog.session() as s:
        n = s.scalar(select(func.count()).select_from(EventModel).where(*where)) or 0
        rows = s.scalars(select(EventModel).where(*where).order_by(EventModel.start_ms.desc()).limit(keep))
        return int(n), [EventRow.of(m) for m in rows]


def counts_since(catalog: Catalog, since_ms: int) -> dict[str, tuple[int, int]]:
    """camera id -> (in, out) over all its counting lines from the bucket holding `since_ms` on."""
    m = PeopleCountModel
    q = (select(m.camera_id, func.sum(m.in_count), func.sum(m.out_count)).where(m.bucket_ms >= bucket_of(since_ms))
         .group_by(m.camera_id))
    with catalog.session() as s:
        return {str(c): (int(i), int(o)) for c, i, o in s.execute(q)}


SEGMENT_MAX_MS = 3_600_000  # record.segment_seconds is at most an hour


def with_pictures(catalog: Catalog, cameras: Sequence[str], since_ms: int, settled_ms: int) -> set[str]:
    """The cameras with a picture to show: a segment closed since `since_ms`, or one open since before
    `settled_ms` (a segment just opened may not hold a whole fragment yet). One indexed lookup per camera."""
    m = SegmentModel
    found = set()
    with catalog.session() as s:
        for cam in cameras:
            q = (select(m.id).where(m.camera_id == cam, m.start_ms >= since_ms - SEGMENT_MAX_MS, m.end_ms >= since_ms)
                 .where(or_(m.status == "closed", m.start_ms <= settled_ms)).limit(1))
            if s.scalar(q) is not None:
                found.add(cam)
    return found
