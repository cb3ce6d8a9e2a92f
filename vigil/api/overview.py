"""The overview (the UI's landing page) in one answer: cameras up or down, the disk, open alarms, today's counts
and plates, and how analysis keeps up — what a person checks first when opening a recorder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vigil.analytics.counting import local_day_start
from vigil.api.cameras import camera_out
from vigil.api.deps import CurrentUser, current_user, get_vigil
from vigil.api.rights import visible
from vigil.api.schemas import CameraOut, EventOut
from vigil.api.system import StorageStatus, storage_status
from vigil.catalog.overview import counts_since, open_alarms, plates_since, with_pictures
from vigil.clock import now_ms

router = APIRouter(tags=["system"], dependencies=[Depends(current_user)])
DAY_MS = 86_400_000


class CameraCount(BaseModel):
    camera: str
    in_count: int = Field(serialization_alias="in")
    out_count: int = Field(serialization_alias="out")


class Overview(BaseModel):
    now_ms: int
    pictures: list[str] = Field(description="cameras with a recent picture (GET /api/cameras/{id}/snapshot.jpg)")
    day_start_ms: int = Field(description="local midnight: 'today' for counts and plates")
    cameras: list[CameraOut]
    online: int
    offline: list[str] = Field(description="ids of enabled cameras that are not streaming")
    storage: StorageStatus
    alarms_open: int = Field(description="alarms (severity warning or alarm) of the last 24 h not acknowledged")
    alarms: list[EventOut] = Field(description="the newest of them")
    counts_today: list[CameraCount]
    plates_today: int
    plates: list[EventOut] = Field(description="the newest plates read today")


@router.get("/api/overview", response_model=Overview, response_model_by_alias=True)
def overview(request: Request, user: CurrentUser) -> Any:
    vigil = get_vigil(request)
    now = now_ms()
    day = local_day_start(now)
    ids = visible(user, sorted(vigil.cameras))
    scope = None if user.cameras is None else ids
    cams = [camera_out(request, c) for c in ids]
    alarms = open_alarms(vigil.catalog, now - DAY_MS, scope)
    n_plates, plates = plates_since(vigil.catalog, day, scope)
    counts = counts_since(vigil.catalog, day)
    pictures = with_pictures(vigil.catalog, ids, now - 3_600_000, now - 3_000)
    return Overview(
        now_ms=now, pictures=sorted(pictures), day_start_ms=day, cameras=cams,
        online=sum(c.state == "online" for c in cams),
        offline=[c.id for c in cams if c.enabled and c.state != "online"], storage=storage_status(request),
        alarms_open=alarms.count, alarms=[EventOut.of(e) for e in alarms.newest],
        counts_today=[CameraCount(camera=c, in_count=i, out_count=o) for c, (i, o) in sorted(counts.items())
                      if c in ids],
        plates_today=n_plates, plates=[EventOut.of(e) for e in plates])
