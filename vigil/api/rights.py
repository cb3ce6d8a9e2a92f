"""Roles and per-camera rights, checked once for every route.

- `admin`: everything. `operator`: live, playback, export, acknowledge, arm/disarm, tags, PTZ steering, external
  alarms, face search. `viewer`: live and playback (reading what the cameras recorded), nothing that changes
  anything but their own password and sessions.
- A user limited to some cameras (`users.cameras`) does not see the others at all: any route naming one answers
  404 as for a camera that does not exist; lists leave them out (see `visible` and the routers that use it).

`minimum_role` is pure (a route template and a method in, a role out), so the whole table is tested without a
server; `check_rights` applies it and the camera rule to each request.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from vigil.api.asgi import SAFE_METHODS
from vigil.catalog.accounts import User

RANK = {"viewer": 0, "operator": 1, "admin": 2}

# Changes an operator may make; every other change is an admin's.
OPERATOR_CHANGES = frozenset({
    "POST /api/exports", "POST /api/events/{event_id}/ack", "PUT /api/system/arm", "POST /api/tags",
    "DELETE /api/tags/{tag_id}", "POST /api/cameras/{camera_id}/ptz/move", "POST /api/cameras/{camera_id}/ptz/stop",
    "POST /api/cameras/{camera_id}/ptz/presets/{token}/goto", "POST /api/alarms/external", "POST /api/faces/search",
})
# One's own account: any role.
OWN_ACCOUNT = frozenset({"POST /api/auth/logout", "POST /api/auth/password", "POST /api/auth/tokens",
                         "DELETE /api/auth/sessions/{session_id}"})
# Reading these is more than watching: face databases (personal data), plate lists, users, the audit log.
READ_OPERATOR = ("/api/faces/", "/api/plates")
READ_ADMIN = ("/api/users", "/api/audit", "/api/onvif/", "/api/system/process", "/api/system/nodes",
              "/api/alarms/linkage", "/metrics")


def minimum_role(method: str, route: str) -> str:
    if method in SAFE_METHODS:
        if route.startswith(READ_ADMIN):
            return "admin"
        if route.startswith(READ_OPERATOR):
            return "operator"
        return "viewer"
    key = f"{method} {route}"
    if key in OWN_ACCOUNT:
        return "viewer"
    if key in OPERATOR_CHANGES:
        return "operator"
    return "admin"


def may_see(user: User, camera_id: str | None) -> bool:
    """Whether the user may see this camera (events without a camera: only users with every camera)."""
    if user.cameras is None:
        return True
    return camera_id is not None and camera_id in user.cameras


def visible(user: User, cameras: list[str]) -> list[str]:
    return cameras if user.cameras is None else [c for c in cameras if c in user.cameras]


def not_found(camera_id: str) -> HTTPException:
    return HTTPException(404, f"no camera {camera_id!r}; GET /api/cameras lists them")


def check_rights(request: Request, user: User) -> None:
    """The role the route needs, and the camera it names (404 for a camera outside the user's set)."""
    route = getattr(request.scope.get("route"), "path", request.url.path)
    need = minimum_role(request.method, route)
    if RANK.get(user.role, 0) < RANK[need]:
        raise HTTPException(403, f"your role ({user.role}) may not do this: it needs {need}")
    camera_id = request.path_params.get("camera_id")
    if camera_id is not None and not may_see(user, camera_id):
        raise not_found(camera_id)
    for name in ("camera",):  # query filters that name cameras
        for value in request.query_params.getlist(name):
            for cam in value.split(","):
                if cam.strip() and not may_see(user, cam.strip()):
                    raise not_found(cam.strip())
