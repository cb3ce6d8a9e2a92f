"""Events: query with filters, one event, its snapshot, and a WebSocket of events as they happen."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from vigil.analytics.rules import TARGETS
from vigil.api.deps import CurrentUser, RowId, current_user, get_vigil, parse_time, while_allowed, ws_user
from vigil.api.rights import may_see
from vigil.api.schemas import EventOut
from vigil.catalog.search import SearchQuery, search

router = APIRouter(prefix="/api/events", tags=["events"], dependencies=[Depends(current_user)])
ws_router = APIRouter(tags=["events"])


def class_labels(value: str | None) -> tuple[str, ...]:
    """`human`, `vehicle` or `both` stand for their classes; anything else is one class (person, car, …)."""
    if not value:
        return ()
    return tuple(sorted(TARGETS[value])) if value in TARGETS else tuple(v.strip() for v in value.split(","))


@router.get("", response_model=list[EventOut])
def events(request: Request, user: CurrentUser,
           type: str | None = Query(None, description="motion, smd, tripwire, intrusion, …"),
           camera: str | None = None,
           cls: str | None = Query(None, alias="class", description="person, car, … or human / vehicle"),
           rule: str | None = Query(None, description="rule id"),
           start: str | None = Query(None, description="epoch ms or ISO-8601"),
           end: str | None = Query(None, description="epoch ms or ISO-8601"),
           limit: int = Query(100, ge=1, le=1000)) -> list[Any]:
    """Newest first, filtered by type, camera, target class, rule and time."""
    t0 = parse_time(start, None, "start") if start else None
    t1 = parse_time(end, None, "end") if end else None
    if t0 is not None and t1 is not None and t0 > t1:
        raise HTTPException(422, f"start ({t0}) must not be after end ({t1})")
    cameras = (camera,) if camera else tuple(user.cameras) if user.cameras is not None else ()
    if user.cameras is not None and not cameras:
        return []  # a user limited to no camera sees no event
    q = SearchQuery(start_ms=t0, end_ms=None if t1 is None else t1 + 1, cameras=cameras,  # end: inclusive
                    types=(type,) if type else (), rules=(rule,) if rule else (), labels=class_labels(cls),
                    limit=limit)
    return [EventOut.of(e) for e in search(get_vigil(request).catalog, q, count=False).hits]


@router.get("/{event_id}", response_model=EventOut)
def event(event_id: RowId, request: Request, user: CurrentUser) -> Any:
    row = get_vigil(request).catalog.event(event_id)
    if row is None or not may_see(user, row.camera_id):
        raise HTTPException(404, f"no event {event_id}")
    return EventOut.of(row)


@router.get("/{event_id}/snapshot.jpg", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def event_snapshot(event_id: RowId, request: Request, user: CurrentUser) -> Response:
    vigil = get_vigil(request)
    row = vigil.catalog.event(event_id)
    if row is None or not row.snapshot or not may_see(user, row.camera_id):
        raise HTTPException(404, f"event {event_id} has no snapshot")
    data = vigil.snapshot_bytes(row.snapshot)
    if data is None:
        raise HTTPException(404, f"the snapshot of event {event_id} is gone (retention may have removed it)")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@ws_router.websocket("/api/events/live")
async def live_events(ws: WebSocket, camera: str | None = None) -> None:
    """JSON messages {"kind": "new" | "update", "event": {…}} as events happen (optionally for one camera)."""
    await ws.accept()
    user = await ws_user(ws)
    if user is None:
        await ws.close(code=4401, reason="authentication required")
        return
    if camera and not may_see(user, camera):
        await ws.close(code=4404, reason=f"no camera {camera!r}")
        return
    bus = ws.app.state.vigil.bus
    sub = bus.subscribe(asyncio.get_running_loop())
    rights = {"user": user}  # as they are now: a camera taken away stops its events at once

    async def forward() -> None:
        while True:
            try:
                kind, row = await asyncio.wait_for(sub.queue.get(), 15)
            except TimeoutError:
                await ws.send_json({"kind": "ping"})
                continue
            if (camera and row.camera_id != camera) or not may_see(rights["user"], row.camera_id):
                continue
            await ws.send_json({"kind": kind, "event": EventOut.of(row).model_dump()})

    try:
        await while_allowed(ws, forward(), camera, lambda u: rights.update(user=u))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        bus.unsubscribe(sub)
        with contextlib.suppress(RuntimeError):
            await ws.close()
