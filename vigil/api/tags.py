"""Tags on recordings; tag playback is playback from a tag."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from vigil.api.deps import CurrentUser, RowId, current_user, get_vigil, parse_time, require_visible, seen
from vigil.api.schemas import TagIn, TagOut
from vigil.catalog.tags import Tag, add_tag, delete_tag, find_tags, get_tag
from vigil.errors import NotFoundError

router = APIRouter(prefix="/api/tags", tags=["tags"], dependencies=[Depends(current_user)])
TAG_PLAY_BEFORE_MS = 5_000
TAG_PLAY_AFTER_MS = 60_000


def _out(t: Tag) -> TagOut:
    return TagOut(**t.__dict__, playlist=f"/api/tags/{t.id}/playlist.m3u8")


@router.post("", response_model=TagOut, status_code=201)
def create(body: TagIn, request: Request, user: CurrentUser) -> TagOut:
    vigil = get_vigil(request)
    require_visible(request, body.camera)
    start = parse_time(body.at, None, "at")
    end = parse_time(body.end, None, "end") if body.end else None
    if end is not None and end <= start:
        raise HTTPException(422, "a tag's end must be after its start")
    return _out(add_tag(vigil.catalog, body.camera, start, end, body.text, user.username))


@router.get("", response_model=list[TagOut])
def search(request: Request, camera: str | None = None, start: str | None = None, end: str | None = None,
           q: str | None = Query(None, description="text contained in the tag"),
           limit: int = Query(500, ge=1, le=5000)) -> list[TagOut]:
    vigil = get_vigil(request)
    t0 = parse_time(start, None, "start") if start else None
    t1 = parse_time(end, None, "end") if end else None
    return [_out(t) for t in find_tags(vigil.catalog, camera, t0, t1, q, limit) if seen(request, t.camera_id)]


@router.delete("/{tag_id}", status_code=204)
def remove(tag_id: RowId, request: Request) -> None:
    try:
        if not seen(request, get_tag(get_vigil(request).catalog, tag_id).camera_id):
            raise NotFoundError(f"no tag {tag_id}")
        delete_tag(get_vigil(request).catalog, tag_id)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None


@router.get("/{tag_id}/playlist.m3u8")
def tag_playback(tag_id: RowId, request: Request) -> RedirectResponse:
    """Playback from a tag: 5 s before it to its end (or a minute after)."""
    try:
        t = get_tag(get_vigil(request).catalog, tag_id)
        if not seen(request, t.camera_id):
            raise NotFoundError(f"no tag {tag_id}")
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None
    end = t.end_ms or t.start_ms + TAG_PLAY_AFTER_MS
    return RedirectResponse(
        f"/api/cameras/{t.camera_id}/playlist.m3u8?start={t.start_ms - TAG_PLAY_BEFORE_MS}&end={end}", 307
    )
