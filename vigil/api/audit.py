"""The audit log: a middleware that records every change an authenticated user makes (any method but
GET/HEAD/OPTIONS) and every recording they watch or download, with the outcome; logins are recorded by the
login route, live viewing by the live WebSocket. Request bodies are never logged (they carry passwords).
Admins read it at GET /api/audit and on the Settings page."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from vigil.api.asgi import SAFE_METHODS, ASGIApp, Message, Receive, Scope, Send
from vigil.api.deps import CurrentUser, current_user, get_vigil, parse_time
from vigil.catalog.audit import AuditLog, AuditRow
from vigil.clock import now_ms
from vigil.log import get_logger

log = get_logger(__name__)
WATCH_ROUTES = frozenset({"/api/cameras/{camera_id}/playlist.m3u8", "/api/cameras/{camera_id}/playback.mp4",
                          "/api/segments/{seg_id}.mp4", "/api/tags/{tag_id}/playlist.m3u8"})


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def record(catalog: Any, action: str, username: str | None, address: str, camera_id: str | None = None,
           status: int | None = None, details: dict[str, Any] | None = None) -> None:
    """One audit row; a failure to write it is logged, never raised into the request."""
    try:
        AuditLog(catalog).add(action, username, address, camera_id, status, details)
    except Exception as err:
        log.error("audit_write_failed", action=action, error=repr(err))


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, capture)
        user = (scope.get("state") or {}).get("user")
        route = getattr(scope.get("route"), "path", None)
        method = scope.get("method", "GET")
        if user is None or route is None or (method in SAFE_METHODS and route not in WATCH_ROUTES):
            return
        params = dict(scope.get("path_params") or {})
        query = {k: v for k, v in _query(scope).items() if k != "token"}
        vigil = scope["app"].state.vigil
        await asyncio.to_thread(record, vigil.catalog, f"{method} {route}", user.username, client_address(scope),
                                params.get("camera_id"), status[0] if status else None,
                                {"params": params, "query": query} if params or query else {})


def _query(scope: Scope) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


router = APIRouter(tags=["audit"], dependencies=[Depends(current_user)])


@router.get("/api/audit", response_model=list[AuditRow])
def audit(request: Request, user: CurrentUser, start: str | None = None, end: str | None = None,
          username: str | None = Query(None, alias="user"), action: str | None = None, camera: str | None = None,
          limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000)) -> list[AuditRow]:
    """Who logged in (and failed to), from where; who watched, exported or changed what — newest first (admins)."""
    if user.role != "admin":
        raise HTTPException(403, "only an admin can read the audit log")
    t1 = parse_time(end, now_ms() + 1, "end")
    t0 = parse_time(start, 0, "start")
    return AuditLog(get_vigil(request).catalog).query(t0, t1, username, action, camera, limit, offset)
