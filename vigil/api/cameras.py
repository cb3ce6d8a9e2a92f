"""Cameras (listed, created, changed, removed at run time), their recordings, timeline and snapshots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from vigil.api.deps import CurrentUser, current_user, get_vigil, parse_time, require_camera, time_window
from vigil.api.rights import not_found, visible
from vigil.api.schemas import AnalysisLoad, CameraOut, EventOut, OnvifOut, Range, Recordings, SegmentOut, Timeline
from vigil.clock import now_ms
from vigil.config import CameraConfig, redact_url
from vigil.media.snapshot import picture_at, to_jpeg
from vigil.recorder.ranges import NOT_INTERESTING, interest_ranges, merge_ranges

router = APIRouter(prefix="/api/cameras", tags=["cameras"], dependencies=[Depends(current_user)])


def camera_out(request: Request, cam_id: str) -> CameraOut:
    vigil = get_vigil(request)
    require_camera(vigil, cam_id)
    cfg = vigil.cameras[cam_id]
    st = vigil.camera_state(cam_id)
    load = AnalysisLoad(fps=cfg.analytics.fps, analysed_fps=st.analysis.analysed_fps,
                        dropped_percent=st.analysis.dropped_percent) if st.analysis is not None else None
    return CameraOut(
        id=cfg.id, name=cfg.name, url=redact_url(cfg.url), sub_url=redact_url(cfg.sub_url) if cfg.sub_url else None,
        enabled=cfg.enabled, recording=st.recording, source="config" if cam_id in vigil.config_ids else "api",
        state=st.state, last_error=st.last_error, state_since_ms=st.since_ms, stream=st.stream,
        segments_written=st.segments_written, analytics=cfg.analytics.enabled, node=st.node, analysis=load,
        camera_clock_ms=st.camera_clock_ms,
        record=cfg.record,
        onvif=OnvifOut(host=cfg.onvif.host, port=cfg.onvif.port, username=cfg.onvif.username,
                       events=cfg.onvif.events) if cfg.onvif else None,
    )


@router.get("", response_model=list[CameraOut])
def list_cameras(request: Request, user: CurrentUser) -> list[CameraOut]:
    return [camera_out(request, c) for c in visible(user, sorted(get_vigil(request).cameras))]


@router.post("", response_model=CameraOut, status_code=201, responses={409: {"description": "id taken"}})
async def create_camera(body: dict[str, Any], request: Request) -> CameraOut:
    """Body: a camera as in vigil.yml (id, name, url, sub_url, enabled, record). Recording starts at once."""
    cam = _validate(body)
    await run_in_threadpool(get_vigil(request).add_camera, cam)  # a taken id: ConfigError, answered 409
    return camera_out(request, cam.id)


@router.get("/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: str, request: Request) -> CameraOut:
    return camera_out(request, camera_id)


@router.put("/{camera_id}", response_model=CameraOut)
async def update_camera(camera_id: str, body: dict[str, Any], request: Request) -> CameraOut:
    """Replace a camera created through the API (also how to enable/disable it); applied without a restart."""
    cam = _validate({**body, "id": camera_id})
    await run_in_threadpool(get_vigil(request).update_camera, cam)  # NotFoundError 404, ConfigError 409
    return camera_out(request, camera_id)


@router.patch("/{camera_id}", response_model=CameraOut)
async def patch_camera(camera_id: str, body: dict[str, Any], request: Request) -> CameraOut:
    """Change some settings of a camera created through the API and keep the others: sections merge key by key
    (`{"analytics": {"enabled": false}}` keeps its masks, rate and face settings); lists are replaced whole. What
    the Cameras page's edit form sends."""
    vigil = get_vigil(request)
    current = vigil.cameras.get(camera_id)
    if current is None:
        raise not_found(camera_id)
    cam = _validate({**merge(current.model_dump(mode="json", exclude_none=True), body), "id": camera_id})
    await run_in_threadpool(vigil.update_camera, cam)  # ConfigError 409 for a camera of vigil.yml
    return camera_out(request, camera_id)


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`change` over `base`, mappings merged recursively (pure)."""
    out = dict(base)
    for k, v in change.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@router.delete("/{camera_id}", status_code=204)
async def delete_camera(camera_id: str, request: Request) -> None:
    await run_in_threadpool(get_vigil(request).remove_camera, camera_id)


def _validate(body: dict[str, Any]) -> CameraConfig:
    from pydantic import ValidationError

    from vigil.config import format_validation_error

    try:
        return CameraConfig.model_validate(body)
    except ValidationError as err:
        raise HTTPException(422, format_validation_error(err, "camera").replace("\n", " ")) from None


@router.get("/{camera_id}/recordings", response_model=Recordings)
def recordings(
    camera_id: str, request: Request,
    start: str | None = Query(None, description="epoch ms or ISO-8601; default 24 h before end"),
    end: str | None = Query(None, description="epoch ms or ISO-8601; default now"),
) -> Recordings:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    segs = vigil.catalog.segments(camera_id, t0, t1)
    return Recordings(
        camera=camera_id, start_ms=t0, end_ms=t1,
        segments=[SegmentOut(id=s.id, start_ms=s.start_ms, end_ms=s.end_ms, bytes=s.bytes, codec=s.codec,
                             width=s.width, height=s.height, status=s.status, url=f"/api/segments/{s.id}.mp4")
                  for s in segs],
        ranges=[Range(start_ms=a, end_ms=b) for a, b in merge_ranges(s for s in segs if s.status == "closed")],
    )


@router.get("/{camera_id}/timeline", response_model=Timeline)
def timeline(camera_id: str, request: Request, start: str | None = None, end: str | None = None) -> Timeline:
    """Recorded ranges (merged), the gaps between them, and event markers, for a scrubbable timeline."""
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    spans = vigil.catalog.segment_spans(camera_id, t0, t1)
    ranges = [(max(a, t0), min(b, t1)) for a, b in merge_ranges(spans)]
    gaps, cursor = [], t0
    for a, b in ranges:
        if a > cursor:
            gaps.append(Range(start_ms=cursor, end_ms=a))
        cursor = max(cursor, b)
    if cursor < t1:
        gaps.append(Range(start_ms=cursor, end_ms=t1))
    events = vigil.catalog.events_between(camera_id, t0, t1)
    return Timeline(
        camera=camera_id, start_ms=t0, end_ms=t1, ranges=[Range(start_ms=a, end_ms=b) for a, b in ranges],
        gaps=gaps, events=[EventOut.of(e) for e in events], recorded_ms=sum(b - a for a, b in ranges),
    )


class SmartRanges(BaseModel):
    camera: str
    start_ms: int
    end_ms: int
    padding_ms: int
    ranges: list[Range] = Field(description="the parts with motion or targets, padded and merged, oldest first")
    interesting_ms: int
    recorded_ms: int


@router.get("/{camera_id}/smart", response_model=SmartRanges)
def smart_ranges(camera_id: str, request: Request, start: str | None = None, end: str | None = None,
                 padding: int = Query(5000, ge=0, le=600_000, description="ms added before and after each event"),
                 join: int = Query(3000, ge=0, le=600_000, description="ranges closer than this (ms) become one"),
                 type: Annotated[list[str] | None, Query(description="event types that count (default: all but "
                                                         "camera-offline and disk events)")] = None) -> SmartRanges:
    """Smart playback: the recorded parts of a window with motion, targets or alarms; the idle rest is skipped
    (or played fast) by the player."""
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    wanted = {v for raw in type or () for v in raw.split(",") if v}
    events = [e for e in vigil.catalog.events_between(camera_id, t0, t1, limit=100_000)
              if (e.type in wanted if wanted else e.type not in NOT_INTERESTING)]
    recorded = merge_ranges(vigil.catalog.segment_spans(camera_id, t0, t1))
    ranges = interest_ranges(((e.start_ms, e.end_ms) for e in events), t0, t1, padding, recorded, join)
    return SmartRanges(camera=camera_id, start_ms=t0, end_ms=t1, padding_ms=padding,
                       ranges=[Range(start_ms=a, end_ms=b) for a, b in ranges],
                       interesting_ms=sum(b - a for a, b in ranges),
                       recorded_ms=sum(min(b, t1) - max(a, t0) for a, b in recorded))


@router.get("/{camera_id}/snapshot.jpg", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "nothing recorded then"}})
def snapshot(camera_id: str, request: Request, at: str | None = Query(None, description="default: latest"),
             width: int | None = Query(None, ge=16, le=7680)) -> Response:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    now = now_ms()
    at_ms = parse_time(at, now, "at") if at else None
    found = picture_at(vigil.catalog, vigil.files, camera_id, at_ms, now)
    if found is None:
        raise HTTPException(404, f"no recording of camera {camera_id!r} at that instant"
                            if at_ms is not None else f"camera {camera_id!r} has recorded nothing in the last hour")
    img, wall = found
    return Response(to_jpeg(img, width), media_type="image/jpeg", headers={"X-Frame-Time-Ms": str(wall)})


@router.get("/{camera_id}/events", response_model=list[EventOut])
def camera_events(camera_id: str, request: Request, start: str | None = None, end: str | None = None) -> list[Any]:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    return [EventOut.of(e) for e in vigil.catalog.events_between(camera_id, t0, t1)]
