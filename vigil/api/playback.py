"""Playback by time: HLS (fMP4) playlists and fragments, one MP4 with Range support, raw segment files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Literal

import av
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from vigil.api.deps import RowId, current_user, get_vigil, parse_time, require_camera, seen, time_window
from vigil.catalog.rows import SegmentRow
from vigil.clock import now_ms
from vigil.errors import NotFoundError, SegmentError
from vigil.media.playback import Plan, fragment_bytes, fragments_of, hls_playlist, mp4_parts, plan_range, read_init
from vigil.media.playback import read_parts as read_virtual
from vigil.media.playback_transcode import TranscodeBusy

router = APIRouter(tags=["playback"], dependencies=[Depends(current_user)])
INSTANT_MS = 30_000
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _plan(request: Request, camera_id: str, start: str | None, end: str | None) -> Plan:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms(), INSTANT_MS)
    try:
        return plan_range(vigil.catalog, vigil.files, camera_id, t0, t1)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None


@router.get("/api/cameras/{camera_id}/playlist.m3u8", response_class=Response,
            responses={200: {"content": {"application/vnd.apple.mpegurl": {}}}})
def playlist(camera_id: str, request: Request,
             start: str | None = Query(None, description="default: 30 s before end (instant playback)"),
             end: str | None = Query(None, description="default: now")) -> Response:
    """HLS VOD playlist (fMP4), from the keyframe at or before `start` to the GOP holding `end`."""
    plan = _plan(request, camera_id, start, end)
    return Response(hls_playlist(plan), media_type="application/vnd.apple.mpegurl",
                    headers={"Cache-Control": "no-store"})


@router.get("/api/cameras/{camera_id}/playback.mp4", response_class=Response,
            responses={200: {"content": {"video/mp4": {}}}, 206: {"description": "a byte range"}})
def playback_mp4(camera_id: str, request: Request, start: str | None = None, end: str | None = None,
                 codec: Literal["h264"] | None = Query(None, description="h264: the browser decodes only H.264; a "
                                                       "recording in another codec (H.265) is transcoded while it "
                                                       "streams (a fragmented MP4 without Range support)")) -> Response:
    """One MP4 of the range, built from the recorded fragments (no re-encoding); supports HTTP Range."""
    vigil = get_vigil(request)
    plan = _plan(request, camera_id, start, end)
    if codec == "h264" and plan.fragments[0].segment.codec != "h264":
        return _transcoded(request, camera_id, plan)
    parts = mp4_parts(vigil.files, plan)
    total = sum(p.size for p in parts)
    headers = {"Accept-Ranges": "bytes", "X-Start-Ms": str(plan.start_ms), "X-Codec": plan.fragments[0].segment.codec,
               "Content-Disposition": f'inline; filename="{camera_id}_{plan.start_ms}.mp4"'}
    spec = request.headers.get("range")
    if not spec:
        headers["Content-Length"] = str(total)
        return StreamingResponse(read_virtual(vigil.files, parts), media_type="video/mp4", headers=headers)
    m = _RANGE.match(spec.strip())
    if not m or (not m.group(1) and not m.group(2)):
        raise HTTPException(416, f"bad Range {spec!r}: use bytes=START-END",
                            headers={"Content-Range": f"bytes */{total}"})
    if m.group(1):
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else total - 1
    else:
        a, b = max(0, total - int(m.group(2))), total - 1
    b = min(b, total - 1)
    if a > b or a >= total:
        raise HTTPException(416, f"Range {spec!r} is outside the {total} bytes",
                            headers={"Content-Range": f"bytes */{total}"})
    headers.update({"Content-Range": f"bytes {a}-{b}/{total}", "Content-Length": str(b - a + 1)})
    return StreamingResponse(read_virtual(vigil.files, parts, a, b), status_code=206, media_type="video/mp4",
                             headers=headers)


def _transcoded(request: Request, camera_id: str, plan: Plan) -> Response:
    try:
        codecs, body = get_vigil(request).h264_playback.open(plan)
    except TranscodeBusy as err:
        raise HTTPException(503, str(err), headers={"Retry-After": "5"}) from None
    except (SegmentError, NotFoundError, av.FFmpegError) as err:
        raise HTTPException(404, f"camera {camera_id!r}: the recording cannot be transcoded: {err}") from None
    headers = {"X-Start-Ms": str(plan.start_ms), "X-Transcoded": "h264", "X-Codecs": codecs,
               "Cache-Control": "no-store", "Accept-Ranges": "none",
               "Content-Disposition": f'inline; filename="{camera_id}_{plan.start_ms}_h264.mp4"'}
    return StreamingResponse(body, media_type="video/mp4", headers=headers)


def _segment(request: Request, seg_id: int) -> SegmentRow:
    seg = next(iter(get_vigil(request).catalog.segments_by_id([seg_id])), None)
    seg = seg if seg is not None and seen(request, seg.camera_id) else None
    if seg is None:
        raise HTTPException(404, f"no segment {seg_id}")
    return seg


@router.get("/api/segments/{seg_id}/init.mp4", response_class=Response)
def init_segment(seg_id: RowId, request: Request) -> Response:
    vigil = get_vigil(request)
    try:
        data = read_init(vigil.files, _segment(request, seg_id))
    except (NotFoundError, SegmentError) as err:
        raise HTTPException(404, str(err)) from None
    return Response(data, media_type="video/mp4", headers={"Cache-Control": "max-age=86400"})


@router.get("/api/segments/{seg_id}/fragments/{index}.m4s", response_class=Response)
def fragment(seg_id: RowId, index: Annotated[int, Path(ge=0, le=1_000_000)], request: Request,
             origin: str | None = Query(None, description="wall time that is media time 0")) -> Response:
    vigil = get_vigil(request)
    seg = _segment(request, seg_id)
    origin_ms = parse_time(origin, seg.start_ms, "origin")
    if not 0 <= origin_ms <= 2**53:
        raise HTTPException(422, f"origin {origin_ms} is not a wall time: give epoch milliseconds after 1970")
    try:
        frags = fragments_of(vigil.files, seg)
        if not 0 <= index < len(frags):
            raise HTTPException(404, f"segment {seg_id} has no fragment {index} (it has {len(frags)})")
        data = fragment_bytes(vigil.files, frags[index], origin_ms, index + 1)
    except (NotFoundError, SegmentError, OSError) as err:
        raise HTTPException(404, f"segment {seg_id}: {err}") from None
    return Response(data, media_type="video/iso.segment")


@router.get("/api/segments/{seg_id}.mp4", response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
def segment_file(seg_id: RowId, request: Request) -> Response:
    """The segment file as recorded, from this node's disk or the bucket."""
    vigil = get_vigil(request)
    seg = _segment(request, seg_id)
    path = vigil.files.local_path(seg).resolve()
    if seg.stored == "local" and seg.node_id == vigil.files.node_id:
        if vigil.storage.resolve() not in path.parents or not path.exists():
            raise HTTPException(404, f"segment {seg_id} has no file on disk")
        return FileResponse(path, media_type="video/mp4")
    try:
        size = vigil.files.size(seg)
        f = vigil.files.open(seg)
    except NotFoundError as err:
        raise HTTPException(404, str(err)) from None

    def chunks() -> Iterator[bytes]:
        with f:
            while chunk := f.read(1 << 20):
                yield chunk

    return StreamingResponse(chunks(), media_type="video/mp4", headers={"Content-Length": str(size)})
