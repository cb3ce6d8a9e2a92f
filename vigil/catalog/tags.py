"""Tags: a named instant (or span) on a camera's recording."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from vigil.catalog.models import TagModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import NotFoundError


@dataclass(frozen=True)
class Tag:
    id: int
    camera_id: str
    start_ms: int
    end_ms: int | None
    text: str
    created_ms: int
    created_by: str


def _of(m: TagModel) -> Tag:
    return Tag(m.id, m.camera_id, m.start_ms, m.end_ms, m.text, m.created_ms, m.created_by)


def add_tag(catalog: Catalog, camera_id: str, start_ms: int, end_ms: int | None, text: str, user: str) -> Tag:
    with catalog.session() as s, s.begin():
        m = TagModel(camera_id=camera_id, start_ms=start_ms, end_ms=end_ms, text=text, created_ms=now_ms(),
                     created_by=user)
        s.add(m)
        s.flush()
        return _of(m)


def get_tag(catalog: Catalog, tag_id: int) -> Tag:
    with catalog.session() as s:
        m = s.get(TagModel, tag_id)
        if m is None:
            raise NotFoundError(f"no tag {tag_id}")
        return _of(m)


def find_tags(catalog: Catalog, camera_id: str | None = None, start_ms: int | None = None,
              end_ms: int | None = None, text: str | None = None, limit: int = 500) -> list[Tag]:
    q = select(TagModel)
    if camera_id:
        q = q.where(TagModel.camera_id == camera_id)
    if start_ms is not None:
        q = q.where(TagModel.start_ms >= start_ms)
    if end_ms is not None:
        q = q.where(TagModel.start_ms <= end_ms)
    if text:
        q = q.where(TagModel.text.ilike(f"%{text}%"))
    with catalog.session() as s:
        return [_of(m) for m in s.scalars(q.order_by(TagModel.start_ms).limit(limit))]


def delete_tag(catalog: Catalog, tag_id: int) -> None:
    with catalog.session() as s, s.begin():
        if s.execute(delete(TagModel).where(TagModel.id == tag_id)).rowcount == 0:  # type: ignore[attr-defined]
            raise NotFoundError(f"no tag {tag_id}")
