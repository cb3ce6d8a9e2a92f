"""System routes: the arm switch, storage status, users, and the camera URL test."""

from __future__ import annotations

import asyncio
import base64
import shutil
from typing import Any

import av
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from vigil.api.deps import CurrentUser, current_user, get_vigil, seen
from vigil.catalog.accounts import add_user, delete_user, list_users, set_user
from vigil.clock import now_ms
from vigil.config import check_stream_url
from vigil.errors import ConfigError
from vigil.media.snapshot import to_jpeg
from vigil.media.source import describe_error
from vigil.procstat import process_figures

router = APIRouter(tags=["system"], dependencies=[Depends(current_user)])


class ArmState(BaseModel):
    armed: bool


class StorageCamera(BaseModel):
    camera: str
    segments: int
    bytes: int
    oldest_ms: int
    newest_ms: int
    days_kept: float


class StorageStatus(BaseModel):
    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    recordings_bytes: int
    cameras: list[StorageCamera]


class ProcessStatus(BaseModel):
    """What `vigil serve` holds now: flat over days of camera faults, or something leaks."""
    pid: int
    uptime_s: float
    rss_bytes: int
    open_fds: int
    threads: int
    tasks: int = Field(description="asyncio tasks of the server's event loop")


class UrlTest(BaseModel):
    url: str = Field(description="rtsp://, http(s):// or a file path")


class NewUser(BaseModel):
    username: str
    password: str
    role: str = "viewer"
    cameras: list[str] | None = Field(None, description="the only cameras this user sees; null: all")


class UserChange(BaseModel):
    role: str | None = None
    cameras: list[str] | None = Field(None, description="the only cameras this user sees")
    all_cameras: bool = Field(False, description="true: no camera limit")
    disabled: bool | None = Field(None, description="true: the account can no longer log in; its sessions, "
                                                    "tokens and open streams end at once (false: enabled again)")


@router.get("/api/system/arm", response_model=ArmState)
def get_arm(request: Request) -> ArmState:
    return ArmState(armed=bool(get_vigil(request).catalog.get_setting("armed", False)))


@router.put("/api/system/arm", response_model=ArmState)
def set_arm(body: ArmState, request: Request) -> ArmState:
    """One-click arm/disarm: while disarmed, linkage sends nothing but disk and video-loss alarms."""
    get_vigil(request).catalog.set_setting("armed", body.armed)
    return body


@router.get("/api/storage", response_model=StorageStatus)
def storage(request: Request) -> StorageStatus:
    return storage_status(request)


def storage_status(request: Request) -> StorageStatus:
    """The disk and what each camera the caller may see keeps on it."""
    vigil = get_vigil(request)
    usage = shutil.disk_usage(vigil.storage)
    rows = vigil.catalog.storage_summary()
    return StorageStatus(
        path=str(vigil.storage), total_bytes=usage.total, used_bytes=usage.used, free_bytes=usage.free,
        recordings_bytes=sum(r[2] for r in rows),
        cameras=[StorageCamera(camera=c, segments=n, bytes=b, oldest_ms=a, newest_ms=z,
                               days_kept=round((z - a) / 86_400_000, 2)) for c, n, b, a, z in rows if seen(request, c)],
    )


class ReloadOut(BaseModel):
    added: list[str]
    removed: list[str]
    restarted: list[str]
    updated: list[str] = Field(description="changed in place (name, retention): still recording")
    linkage: bool = Field(description="the config's linkage rules changed (from the next event)")
    needs_restart: list[str] = Field(description="sections changed that apply at the next restart")
    summary: str


@router.post("/api/system/reload", response_model=ReloadOut)
async def reload_config(request: Request) -> ReloadOut:
    """Applies a changed vigil.yml (as SIGHUP does): cameras added, removed or changed start, stop or restart; the
    others keep recording. An invalid file is refused (409, the message `vigil serve` would give) and nothing
    changes."""
    plan = await run_in_threadpool(get_vigil(request).reload_config)
    return ReloadOut(**vars(plan), summary=plan.summary())


@router.get("/api/system/process", response_model=ProcessStatus)
async def process_status() -> ProcessStatus:
    """Memory, open files, threads and tasks of this process (admins), for soak tests and monitoring."""
    return ProcessStatus(**process_figures(), tasks=len(asyncio.all_tasks()))


class NodeOut(BaseModel):
    id: str
    url: str
    alive: bool = Field(description="heard from within the lease time")
    started_ms: int
    seen_ms: int
    cameras: list[str] = Field(description="the cameras it holds a lease on (records)")
    online: int = Field(0, description="of those, how many are streaming")
    uploaded: int = Field(0, description="segments it moved to the bucket since it started")


@router.get("/api/system/nodes", response_model=list[NodeOut])
def cluster_nodes(request: Request) -> list[NodeOut]:
    """The nodes of a scale-out cluster, their cameras and load (empty for a single Vigil)."""
    from vigil.catalog.nodes import leases, nodes

    vigil = get_vigil(request)
    if vigil.keeper is None:
        return []
    now = now_ms()
    held: dict[str, list[str]] = {}
    for lease in leases(vigil.catalog):
        if lease.expires_ms > now:
            held.setdefault(lease.node_id, []).append(lease.camera_id)
    lease_ms = vigil.keeper.lease_ms
    return [NodeOut(id=n.id, url=n.url, alive=n.seen_ms > now - lease_ms, started_ms=n.started_ms,
                    seen_ms=n.seen_ms, cameras=sorted(held.get(n.id, [])), online=int(n.details.get("online", 0)),
                    uploaded=int(n.details.get("uploaded", 0))) for n in nodes(vigil.catalog)]


@router.get("/api/users", response_model=list[dict[str, Any]])
def users(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    if user.role != "admin":
        raise HTTPException(403, "only an admin can see users")
    return [{"username": u.username, "role": u.role, "cameras": u.cameras, "disabled": u.disabled}
            for u in list_users(get_vigil(request).catalog)]


@router.post("/api/users", status_code=201)
def create_user(body: NewUser, request: Request, user: CurrentUser) -> dict[str, Any]:
    if user.role != "admin":
        raise HTTPException(403, "only an admin can add users")
    try:
        add_user(get_vigil(request).catalog, body.username, body.password, body.role, cameras=body.cameras)
    except ConfigError as err:
        raise HTTPException(422, str(err)) from None
    return {"username": body.username, "role": body.role, "cameras": body.cameras}


@router.put("/api/users/{username}")
def change_user(username: str, body: UserChange, request: Request) -> dict[str, Any]:
    """A user's role and camera set (admins)."""
    try:
        u = set_user(get_vigil(request).catalog, username, body.role, body.cameras, body.all_cameras, body.disabled)
    except ConfigError as err:
        raise HTTPException(422, str(err)) from None
    return {"username": u.username, "role": u.role, "cameras": u.cameras, "disabled": u.disabled}


@router.delete("/api/users/{username}", status_code=204)
def remove_user(username: str, request: Request) -> None:
    """Deletes an account (admins): its sessions, tokens and open streams end at once; its audit rows stay."""
    try:
        delete_user(get_vigil(request).catalog, username)
    except ConfigError as err:
        raise HTTPException(422, str(err)) from None


def _grab(url: str, timeout: float) -> bytes:
    with av.open(url, options={"rtsp_transport": "tcp"} if url.startswith("rtsp") else {},
                 timeout=(timeout, timeout)) as c:
        for frame in c.decode(video=0):
            return to_jpeg(frame.to_ndarray(format="bgr24"), 640)
    raise ValueError("the stream ended before a picture")


class UrlTestResult(BaseModel):
    ok: bool
    error: str | None = None
    snapshot: str | None = Field(default=None, description="data: URL of a JPEG of the first picture")


@router.post("/api/cameras/test", response_model=UrlTestResult)
async def test_url(body: UrlTest, request: Request) -> UrlTestResult:
    """Try a camera URL: its first picture, or the reason it cannot be read (a result, not an HTTP error)."""
    try:
        check_stream_url(body.url)
    except ValueError as err:
        return UrlTestResult(ok=False, error=str(err))
    try:
        data = await run_in_threadpool(_grab, body.url, get_vigil(request).cfg.source.open_timeout_seconds)
    except (av.FFmpegError, OSError, ValueError) as err:
        return UrlTestResult(ok=False, error=describe_error(body.url, err))
    return UrlTestResult(ok=True, snapshot="data:image/jpeg;base64," + base64.b64encode(data).decode())
