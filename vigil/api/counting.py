"""People counting (counts per 5 minutes / hour / day, CSV, occupancy) and heat maps (PNG over the scene)."""

from __future__ import annotations

import csv
import io
import time
from typing import Any, Literal

import cv2
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.analytics.counting import aggregate, local_day_start
from vigil.analytics.heatmap import hottest, render
from vigil.api.deps import current_user, get_vigil, require_camera, time_window
from vigil.catalog.counts import CountStore
from vigil.clock import now_ms
from vigil.media.snapshot import picture_at

router = APIRouter(prefix="/api/cameras", tags=["counting"], dependencies=[Depends(current_user)])


class CountOut(BaseModel):
    start_ms: int
    in_count: int = Field(serialization_alias="in")
    out_count: int = Field(serialization_alias="out")


class Counts(BaseModel):
    camera: str
    rule: str | None
    bucket: str
    start_ms: int
    end_ms: int
    rows: list[CountOut]
    total_in: int
    total_out: int
    occupancy: dict[str, int] = Field(description="per counting line: in − out since the local day began")
    maximum: dict[str, int] = Field(description="per counting line: the occupancy alarm's maximum (0: none)")


class HeatOut(BaseModel):
    camera: str
    start_ms: int
    end_ms: int
    rows: int
    cols: int
    cells: list[list[float]] = Field(description="seconds of human presence per cell, top row first")
    hottest: list[int] | None = Field(description="[row, column] of the hottest cell")
    seconds: float


@router.get("/{camera_id}/counts", response_model=Counts, response_model_by_alias=True,
            responses={200: {"content": {"text/csv": {}}}})
def counts(camera_id: str, request: Request, start: str | None = None, end: str | None = None,
           bucket: Literal["5m", "1h", "1d"] = "1h", rule: str | None = Query(None, description="one counting line"),
           format: Literal["json", "csv"] = "json") -> Any:
    """In/out counts of the camera's counting lines per bucket (default: the last 24 h per hour)."""
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    store = CountStore(vigil.catalog)
    rows = aggregate(store.buckets(camera_id, rule, t0, t1), bucket)
    lines = {s.id: s.max_occupancy for s in vigil.rules(camera_id) if s.kind == "counter"}
    if rule and rule not in lines:
        raise HTTPException(404, f"camera {camera_id!r} has no counting line {rule!r}")
    if format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["start_ms", "start_local", "in", "out"])
        for r in rows:
            w.writerow([r.start_ms, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.start_ms / 1000)),
                        r.in_count, r.out_count])
        name = f"{camera_id}-counts-{bucket}.csv"
        return Response(buf.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    day = local_day_start(now_ms())
    analysis = vigil.analyses.get(camera_id)
    occupancy = {}
    for rid in lines:
        live = analysis.occupancy(rid) if analysis is not None else None
        occupancy[rid] = live if live is not None else max(0, store.net_since(camera_id, rid, day))
    return Counts(camera=camera_id, rule=rule, bucket=bucket, start_ms=t0, end_ms=t1,
                  rows=[CountOut(start_ms=r.start_ms, in_count=r.in_count, out_count=r.out_count) for r in rows],
                  total_in=sum(r.in_count for r in rows), total_out=sum(r.out_count for r in rows),
                  occupancy=occupancy, maximum=lines)


def _heat(request: Request, camera_id: str, start: str | None, end: str | None) -> tuple[Any, int, int, Any]:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    t0, t1 = time_window(start, end, now_ms())
    grid = CountStore(vigil.catalog).heat(camera_id, t0, t1)
    analysis = vigil.analyses.get(camera_id)
    if analysis is not None:  # the last seconds, not yet in the catalog
        for hour, live in dict(analysis.heat.grids).items():
            if t0 - 3_600_000 < hour < t1:
                grid = live.copy() if grid is None else grid + live
    return vigil, t0, t1, grid


@router.get("/{camera_id}/heatmap", response_model=HeatOut)
def heatmap(camera_id: str, request: Request, start: str | None = None, end: str | None = None) -> HeatOut:
    """Where humans were (seconds of presence per cell of an 18 × 32 grid), default: the last 24 h."""
    _, t0, t1, grid = _heat(request, camera_id, start, end)
    if grid is None:
        return HeatOut(camera=camera_id, start_ms=t0, end_ms=t1, rows=0, cols=0, cells=[], hottest=None, seconds=0)
    return HeatOut(camera=camera_id, start_ms=t0, end_ms=t1, rows=grid.shape[0], cols=grid.shape[1],
                   cells=[[round(float(v), 2) for v in row] for row in grid], hottest=list(hottest(grid)),
                   seconds=round(float(grid.sum()), 1))


@router.get("/{camera_id}/heatmap.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def heatmap_png(camera_id: str, request: Request, start: str | None = None, end: str | None = None,
                      background: bool = Query(True, description="over a recorded picture of the scene "
                                               "(else transparent where nobody was)")) -> Response:
    """The heat map as a colour overlay (blue: little presence, red: the most)."""
    vigil, _, t1, grid = _heat(request, camera_id, start, end)
    if grid is None:
        raise HTTPException(404, f"nobody was seen by camera {camera_id!r} in that time (heat maps count humans "
                            "on analysed cameras)")

    def draw() -> bytes:
        bg = None
        if background:
            found = picture_at(vigil.catalog, vigil.files, camera_id, None, t1) or \
                picture_at(vigil.catalog, vigil.files, camera_id, None, now_ms())
            bg = found[0] if found else None
        ok, png = cv2.imencode(".png", render(grid, bg))
        if not ok:
            raise HTTPException(500, "could not encode the heat map")
        return bytes(png.tobytes())

    return Response(await run_in_threadpool(draw), media_type="image/png")
