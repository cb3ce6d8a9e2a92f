"""FastAPI application: health, cameras and their recordings."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from vigil import __version__
from vigil.catalog.store import now_ms
from vigil.config import redact_url
from vigil.errors import VigilError
from vigil.recorder.ranges import merge_ranges

if TYPE_CHECKING:
    from vigil.app import Vigil


def parse_time(value: str | None, default: int) -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC unless it says otherwise)."""
    if value is None or value == "":
        return default
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            422, f"bad time {value!r}: give epoch milliseconds or ISO-8601, e.g. 2026-11-25T21:00:00Z"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)


def create_app(vigil: Vigil) -> FastAPI:
    app = FastAPI(title="Vigil", version=__version__, description="Open-source AI network video recorder")

    @app.exception_handler(VigilError)
    async def _vigil_error(_req: Request, err: VigilError) -> JSONResponse:
        return JSONResponse(
            {"type": "about:blank", "title": type(err).__name__, "detail": str(err)},
            status_code=400, media_type="application/problem+json",
        )

    def camera_json(cam_id: str) -> dict[str, Any]:
        cfg = next((c for c in vigil.cfg.cameras if c.id == cam_id), None)
        if cfg is None:
            raise HTTPException(404, f"no camera {cam_id!r}; GET /api/cameras lists them")
        rec = vigil.recorders.get(cam_id)
        status = rec.status if rec else None
        return {
            "id": cfg.id,
            "name": cfg.name,
            "url": redact_url(cfg.url),
            "sub_url": redact_url(cfg.sub_url) if cfg.sub_url else None,
            "enabled": cfg.enabled,
            "recording": bool(rec and cfg.record.enabled),
            "state": status.state if status else "disabled",
            "last_error": status.last_error if status else None,
            "state_since_ms": status.since_ms if status else None,
            "stream": status.stream if status else "",
            "segments_written": status.segments_written if status else 0,
        }

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        states = [r.status.state for r in vigil.recorders.values()]
        return {
            "status": "ok",
            "version": __version__,
            "time_ms": now_ms(),
            "cameras": len(vigil.cfg.cameras),
            "online": states.count("online"),
        }

    @app.get("/api/cameras")
    def cameras() -> list[dict[str, Any]]:
        return [camera_json(c.id) for c in vigil.cfg.cameras]

    @app.get("/api/cameras/{camera_id}")
    def camera(camera_id: str) -> dict[str, Any]:
        return camera_json(camera_id)

    @app.get("/api/cameras/{camera_id}/recordings")
    def recordings(
        camera_id: str,
        start: str | None = Query(None, description="epoch ms or ISO-8601; default 24 h ago"),
        end: str | None = Query(None, description="epoch ms or ISO-8601; default now"),
    ) -> dict[str, Any]:
        camera_json(camera_id)
        now = now_ms()
        t1 = parse_time(end, now)
        t0 = parse_time(start, t1 - 86_400_000)
        if t0 > t1:
            raise HTTPException(422, f"start ({t0}) is after end ({t1})")
        segs = vigil.catalog.segments(camera_id, t0, t1)
        return {
            "camera": camera_id,
            "start_ms": t0,
            "end_ms": t1,
            "segments": [
                {
                    "id": s.id, "start_ms": s.start_ms, "end_ms": s.end_ms, "bytes": s.bytes,
                    "codec": s.codec, "width": s.width, "height": s.height, "status": s.status,
                    "url": f"/api/segments/{s.id}.mp4",
                }
                for s in segs
            ],
            "ranges": [{"start_ms": a, "end_ms": b} for a, b in merge_ranges(s for s in segs if s.status == "closed")],
        }

    @app.get("/api/segments/{seg_id}.mp4")
    def segment_file(seg_id: int) -> FileResponse:
        seg = next(iter(vigil.catalog.segments_by_id([seg_id])), None)
        if seg is None:
            raise HTTPException(404, f"no segment {seg_id}")
        path = (vigil.storage / seg.path).resolve()
        if vigil.storage.resolve() not in path.parents or not path.exists():
            raise HTTPException(404, f"segment {seg_id} has no file on disk")
        return FileResponse(path, media_type="video/mp4")

    @app.get("/api/events")
    def events(type: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        return [e.__dict__ for e in vigil.catalog.events(type, limit)]

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (resources.files("vigil.web") / "index.html").read_text()

    return app
