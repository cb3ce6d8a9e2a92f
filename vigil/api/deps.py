"""Shared pieces of the routers: the Vigil instance, time parsing, the authenticated user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, WebSocket

from vigil import clock
from vigil.api.rights import check_rights, may_see
from vigil.catalog.accounts import User, resolve

if TYPE_CHECKING:
    from vigil.nvr import Vigil

SESSION_COOKIE = "vigil_session"


def get_vigil(request: Request) -> Vigil:
    vigil: Vigil = request.app.state.vigil
    return vigil


def parse_time(value: str | None, default: int | None, name: str = "time") -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC unless it says otherwise); 422 saying what to give."""
    if value is None or value == "":
        if default is None:
            raise HTTPException(422, f"{name} is required: epoch milliseconds or ISO-8601")
        return default
    try:
        return clock.parse_time(value, name)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


def time_window(start: str | None, end: str | None, now: int, default_span_ms: int = 86_400_000) -> tuple[int, int]:
    t1 = parse_time(end, now, "end")
    t0 = parse_time(start, t1 - default_span_ms, "start")
    if t0 >= t1:
        raise HTTPException(422, f"start ({t0}) must be before end ({t1})")
    return t0, t1


# What an account whose password must be changed may still do.
PASSWORD_CHANGE_PATHS = frozenset({"/api/auth/password", "/api/auth/logout", "/api/auth/me", "/api/auth/session"})


def current_user(request: Request) -> User:
    """The user behind a bearer token or a session cookie (401 otherwise), allowed by their role and cameras to
    use this route (403 / 404 otherwise, see api/rights.py)."""
    known: User | None = getattr(request.state, "user", None)
    if known is not None:
        return known
    vigil = get_vigil(request)
    auth = request.headers.get("authorization", "")
    user = None
    if auth.lower().startswith("bearer "):
        user = resolve(vigil.catalog, auth[7:].strip(), "token")
    elif SESSION_COOKIE in request.cookies:
        user = resolve(vigil.catalog, request.cookies[SESSION_COOKIE], "session")
    if user is None:
        raise HTTPException(401, "authentication required: log in, or send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise HTTPException(403, "change the first-start password first: POST /api/auth/password "
                                 "{current_password, new_password} (the web UI asks for it at login)")
    request.state.user = user  # before the rights check: a refused attempt is audited too
    check_rights(request, user)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
# A catalog row id in a path: bounded to what the database stores, so a huge number is a 422, not a crash.
RowId = Annotated[int, Path(ge=0, le=2**63 - 1, description="a catalog id")]


def require_camera(vigil: Vigil, camera_id: str) -> None:
    if camera_id not in vigil.cameras:
        raise HTTPException(404, f"no camera {camera_id!r}; GET /api/cameras lists them")


def require_visible(request: Request, camera_id: str | None) -> None:
    """A camera named in a request body: it exists and the user may see it (404 either way)."""
    user: User | None = getattr(request.state, "user", None)
    if camera_id is not None and (camera_id not in get_vigil(request).cameras
                                  or (user is not None and not may_see(user, camera_id))):
        raise HTTPException(404, f"no camera {camera_id!r}; GET /api/cameras lists them")


def seen(request: Request, camera_id: str | None) -> bool:
    user: User | None = getattr(request.state, "user", None)
    return user is None or may_see(user, camera_id)


async def ws_user(ws: WebSocket) -> User | None:
    """The user of a WebSocket: the session cookie (browsers) or ?token= (scripts)."""
    vigil = ws.app.state.vigil
    user = None
    if secret := ws.cookies.get(SESSION_COOKIE):
        user = await asyncio.to_thread(resolve, vigil.catalog, secret, "session")
    elif token := ws.query_params.get("token"):
        user = await asyncio.to_thread(resolve, vigil.catalog, token, "token")
    return None if user is None or user.must_change_password else user


RECHECK_S = 1.0  # how often an open stream's right to go on is checked again


async def while_allowed(ws: WebSocket, work: Coroutine[Any, Any, None], camera_id: str | None = None,
                        update: Callable[[User], None] | None = None) -> None:
    """Runs `work` (a stream to this WebSocket) while its user may go on. Every second the session or token is
    looked up again: a revoked session, a deleted or disabled account, or a camera taken from the user closes the
    socket (4401 / 4404) at once. `update` gets the user as they are now (a changed camera set)."""
    vigil = ws.app.state.vigil
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=RECHECK_S)
            if done:
                task.result()
                return
            user = await ws_user(ws)
            if user is None:
                code, reason = 4401, "signed out: the session ended or the account was disabled"
            elif camera_id is not None and (camera_id not in vigil.cameras or not may_see(user, camera_id)):
                code, reason = 4404, f"no camera {camera_id!r}"
            else:
                if update is not None:
                    update(user)
                continue
            task.cancel()
            await ws.close(code=code, reason=reason)
            return
    finally:
        # Awaited, not only cancelled: on Python 3.11 a cancel can lose to a send that was about to run, and
        # the stream's "cannot send once closed" would otherwise surface as an unretrieved task exception.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
