"""`GET /metrics` for Prometheus (admins: scrape with an admin's API token as the bearer), and the timing of every
API request. The facts are gathered here from Vigil's owners at scrape time; `services.metrics` formats them."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from vigil.api.asgi import ASGIApp, Message, Receive, Scope, Send
from vigil.api.deps import current_user, get_vigil
from vigil.catalog.nodes import nodes
from vigil.clock import now_ms
from vigil.services.metrics import CameraFacts, Facts, Metrics

if TYPE_CHECKING:
    from vigil.nvr import Vigil

router = APIRouter(tags=["system"], dependencies=[Depends(current_user)])


def facts_of(vigil: Vigil) -> Facts:
    now = now_ms()
    kept = {c: (b, a, z) for c, _n, b, a, z in vigil.catalog.storage_summary()}
    cams: list[CameraFacts] = []
    t = time.monotonic()
    for cam_id in sorted(vigil.cameras):
        state = vigil.camera_state(cam_id)
        rec, analysis = vigil.recorders.get(cam_id), vigil.analyses.get(cam_id)
        size, oldest, newest = kept.get(cam_id, (0, 0, 0))
        bps, fps = rec.rate.rates(t) if rec is not None else (0.0, 0.0)
        st = rec.status if rec is not None else None
        a = analysis.status if analysis is not None else None
        cams.append(CameraFacts(
            camera=cam_id, state=state.state, recording=state.recording,
            bytes_received=st.bytes_received if st else 0, frames=st.frames if st else 0,
            bits_per_second=bps, fps=fps, segments_written=st.segments_written if st else 0,
            dropped_packets=st.dropped_packets if st else 0, last_segment_end_ms=newest or None,
            analysed=a is not None, analysed_fps=a.analysed_fps if a else 0.0,
            analysis_dropped_ratio=a.dropped_percent / 100 if a else 0.0, analysed_frames=a.frames if a else 0,
            analysis_dropped_frames=a.dropped if a else 0, recordings_bytes=size,
            days_kept=(newest - oldest) / 86_400_000 if newest else 0.0,
            lease_held=cam_id in vigil.recorders if vigil.keeper is not None else None))
    usage = shutil.disk_usage(vigil.storage)
    keeper, linkage = vigil.keeper, vigil.linkage
    alive = (sum(n.seen_ms > now - keeper.lease_ms for n in nodes(vigil.catalog)) if keeper is not None else 0)
    return Facts(now_ms=now, cameras=cams, disk_total=usage.total, disk_used=usage.used, disk_free=usage.free,
                 linkage_sent=dict(linkage.sent) if linkage else {},
                 linkage_failed=dict(linkage.failed) if linkage else {},
                 cluster=keeper is not None, nodes_alive=alive, fenced=bool(keeper and keeper.fenced))


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    vigil = get_vigil(request)
    return Response(vigil.metrics.render(facts_of(vigil)), media_type=CONTENT_TYPE_LATEST)


class RequestTimer:
    """Times each HTTP request to its answer's last byte, labelled by the route template (never the raw path: an
    attacker's random paths must not grow the metrics without bound)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.api_seconds.labels(scope["method"], route, str(status or 500)).observe(
                time.perf_counter() - t0)
