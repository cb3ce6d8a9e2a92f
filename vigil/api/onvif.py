"""ONVIF: discover cameras on the network, look into one, add it without typing a stream URL; PTZ."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from ipaddress import IPv4Address
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import AfterValidator, BaseModel, Field

from vigil.api.cameras import camera_out
from vigil.api.deps import current_user, get_vigil, require_camera
from vigil.api.schemas import CameraOut
from vigil.config import CAMERA_ID, CameraConfig, OnvifSettings, check_host
from vigil.errors import ConfigError, OnvifError
from vigil.onvif.device import OnvifDevice, needs_credentials, pick_streams
from vigil.onvif.discovery import discover

router = APIRouter(tags=["onvif"], dependencies=[Depends(current_user)])


class DiscoverRequest(BaseModel):
    timeout_seconds: float = Field(2.0, ge=0.2, le=15)
    interfaces: list[IPv4Address] | None = Field(None, max_length=64, description="local IPv4 addresses to probe "
                                                 "from (default: the default route's interface and loopback)")
    addresses: list[Annotated[str, AfterValidator(check_host)]] = Field(
        default_factory=list, max_length=256,
        description="camera addresses to probe directly (routed networks that multicast does not reach)")
    port: int = Field(3702, ge=1, le=65535, description="the WS-Discovery port (3702)")


class DiscoveredOut(BaseModel):
    address: str
    host: str
    port: int
    xaddr: str
    vendor: str
    model: str
    name: str
    needs_credentials: bool | None = Field(description="true: the camera refused to answer without a user name "
                                           "and password; null: could not tell")
    camera_id: str | None = Field(None, description="the Vigil camera already using this device, if any")


class DeviceRequest(BaseModel):
    host: Annotated[str, AfterValidator(check_host)] = Field(min_length=1, max_length=253)
    port: int = Field(80, ge=1, le=65535)
    username: str = ""
    password: str = ""


class ProfileOut(BaseModel):
    token: str
    name: str
    width: int
    height: int
    encoding: str
    ptz: bool


class DeviceOut(BaseModel):
    manufacturer: str
    model: str
    firmware: str
    serial: str
    profiles: list[ProfileOut]
    main: str = Field(description="the profile Vigil records (the largest picture)")
    sub: str | None = Field(description="the profile Vigil analyses and shows in grids (the smallest), if any")


class AddOnvifCamera(DeviceRequest):
    id: str = Field(description="the new camera's id, e.g. front-door")
    name: str = ""
    events: bool = Field(True, description="take the camera's own analytics events (AI by camera)")
    record: dict[str, Any] | None = None
    analytics: dict[str, Any] | None = None


@router.post("/api/onvif/discover", response_model=list[DiscoveredOut])
async def discover_cameras(body: DiscoverRequest, request: Request) -> list[DiscoveredOut]:
    """WS-Discovery: the ONVIF cameras that answer a probe within the timeout, and whether each needs a login."""
    vigil = get_vigil(request)
    try:
        found = await discover(body.timeout_seconds, [str(i) for i in body.interfaces or []] or None,
                               body.addresses, body.port)
    except OSError as err:  # an interface address that is not this machine's, say: the request's fault
        raise HTTPException(422, f"cannot probe from those interfaces or to those addresses: {err.strerror or err}"
                            ) from None
    creds = await asyncio.gather(*(needs_credentials(d.host, d.port) for d in found))
    used = {(c.onvif.host, c.onvif.port): c.id for c in vigil.cameras.values() if c.onvif is not None}
    return [DiscoveredOut(address=d.address, host=d.host, port=d.port, xaddr=d.xaddr, vendor=d.vendor,
                          model=d.model, name=d.name, needs_credentials=c, camera_id=used.get((d.host, d.port)))
            for d, c in zip(found, creds, strict=True)]


async def _inspect(body: DeviceRequest) -> tuple[DeviceOut, OnvifDevice]:
    dev = OnvifDevice(body.host, body.port, body.username, body.password)
    try:
        await dev.connect()
        info = await dev.info()
        profiles = await dev.profiles()
        main, sub = pick_streams(profiles)
    except OnvifError as err:
        await dev.close()
        # The address or login in this request does not work: the request's fault, not Vigil's (422, not 502).
        raise HTTPException(422, str(err)) from None
    out = DeviceOut(manufacturer=info.manufacturer, model=info.model, firmware=info.firmware, serial=info.serial,
                    profiles=[ProfileOut(token=p.token, name=p.name, width=p.width, height=p.height,
                                         encoding=p.encoding, ptz=p.ptz) for p in profiles],
                    main=main.token, sub=sub.token if sub else None)
    return out, dev


@router.post("/api/onvif/probe", response_model=DeviceOut)
async def probe_device(body: DeviceRequest) -> DeviceOut:
    """Logs in to an ONVIF camera and shows what it offers: vendor, model, media profiles, the streams Vigil
    would take. Nothing is stored."""
    out, dev = await _inspect(body)
    await dev.close()
    return out


@router.post("/api/onvif/cameras", response_model=CameraOut, status_code=201)
async def add_onvif_camera(body: AddOnvifCamera, request: Request) -> CameraOut:
    """Adds an ONVIF camera by address and credentials: its main (largest) and sub (smallest) stream addresses
    come from the camera; recording starts at once."""
    vigil = get_vigil(request)
    if not CAMERA_ID.match(body.id):
        raise ConfigError(f"camera id {body.id!r}: use 1-63 lower-case letters, digits, '-' or '_'")
    out, dev = await _inspect(body)
    try:
        profiles = {p.token: p for p in await dev.profiles()}
    finally:
        await dev.close()
    data: dict[str, Any] = {
        "id": body.id, "name": body.name or f"{out.manufacturer} {out.model}".strip(),
        "url": profiles[out.main].uri, "sub_url": profiles[out.sub].uri if out.sub else None,
        "onvif": OnvifSettings(host=body.host, port=body.port, username=body.username, password=body.password,
                               events=body.events).model_dump()}
    if body.record is not None:
        data["record"] = body.record
    if body.analytics is not None:
        data["analytics"] = body.analytics
    cam = CameraConfig.model_validate(data)
    await run_in_threadpool(vigil.add_camera, cam)
    return camera_out(request, cam.id)


# PTZ
class Move(BaseModel):
    pan: float = Field(0.0, ge=-1, le=1, description="speed: -1 (left) … 1 (right)")
    tilt: float = Field(0.0, ge=-1, le=1, description="speed: -1 (down) … 1 (up)")
    zoom: float = Field(0.0, ge=-1, le=1, description="speed: -1 (out) … 1 (in)")
    seconds: float = Field(1.0, gt=0, le=60, description="the camera stops by itself after this")


class PresetIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)


class PresetOut(BaseModel):
    token: str
    name: str
    pan: float | None = None
    tilt: float | None = None
    zoom: float | None = None


class PtzStatus(BaseModel):
    pan: float
    tilt: float
    zoom: float


@contextlib.asynccontextmanager
async def _ptz(request: Request, camera_id: str) -> AsyncIterator[OnvifDevice]:
    """The camera's device; one that fails is dropped, so the next call connects afresh (camera rebooted)."""
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    try:
        yield await vigil.onvif.device(camera_id)
    except OnvifError:
        await vigil.onvif.forget(camera_id)
        raise


@router.post("/api/cameras/{camera_id}/ptz/move", status_code=204)
async def ptz_move(camera_id: str, body: Move, request: Request) -> None:
    """Continuous move (pan, tilt, zoom speeds) for at most `seconds`; POST …/ptz/stop ends it sooner."""
    async with _ptz(request, camera_id) as dev:
        await dev.move(body.pan, body.tilt, body.zoom, body.seconds)


@router.post("/api/cameras/{camera_id}/ptz/stop", status_code=204)
async def ptz_stop(camera_id: str, request: Request) -> None:
    async with _ptz(request, camera_id) as dev:
        await dev.stop()


@router.get("/api/cameras/{camera_id}/ptz/status", response_model=PtzStatus)
async def ptz_status(camera_id: str, request: Request) -> PtzStatus:
    async with _ptz(request, camera_id) as dev:
        p, t, z = await dev.status()
    return PtzStatus(pan=p, tilt=t, zoom=z)


@router.get("/api/cameras/{camera_id}/ptz/presets", response_model=list[PresetOut])
async def ptz_presets(camera_id: str, request: Request) -> list[PresetOut]:
    """The presets the camera keeps (they live in the camera, so they survive restarts of either side)."""
    async with _ptz(request, camera_id) as dev:
        return [PresetOut(**p.__dict__) for p in await dev.presets()]


@router.post("/api/cameras/{camera_id}/ptz/presets", response_model=PresetOut, status_code=201)
async def ptz_set_preset(camera_id: str, body: PresetIn, request: Request) -> PresetOut:
    """Saves where the camera looks now as a preset (a preset of the same name is overwritten)."""
    async with _ptz(request, camera_id) as dev:
        same = next((p for p in await dev.presets() if p.name == body.name), None)
        token = await dev.set_preset(body.name, same.token if same else None)
    return PresetOut(token=token, name=body.name)


@router.post("/api/cameras/{camera_id}/ptz/presets/{token}/goto", status_code=204)
async def ptz_goto(camera_id: str, token: str, request: Request) -> None:
    async with _ptz(request, camera_id) as dev:
        await dev.goto_preset(token)


@router.delete("/api/cameras/{camera_id}/ptz/presets/{token}", status_code=204)
async def ptz_remove(camera_id: str, token: str, request: Request) -> None:
    async with _ptz(request, camera_id) as dev:
        await dev.remove_preset(token)
