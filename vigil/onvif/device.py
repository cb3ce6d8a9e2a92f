"""One ONVIF camera seen from Vigil: device information, media profiles and their RTSP addresses, PTZ.

A thin, typed layer over onvif-zeep-async (the ONVIF client Home Assistant uses) that turns its SOAP faults
and network errors into `OnvifError`s saying what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import httpx
import zeep.exceptions
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError as _LibError

from vigil.errors import OnvifAuthError, OnvifError

TIMEOUT_SECONDS = 10.0
__all__ = ["OnvifAuthError", "OnvifDevice", "OnvifError", "StreamProfile", "pick_streams", "with_credentials"]


@dataclass
class DeviceInfo:
    manufacturer: str
    model: str
    firmware: str
    serial: str


@dataclass
class StreamProfile:
    token: str
    name: str
    width: int
    height: int
    encoding: str
    uri: str = ""
    ptz: bool = False


@dataclass
class PtzPreset:
    token: str
    name: str
    pan: float | None = None
    tilt: float | None = None
    zoom: float | None = None


def with_credentials(uri: str, user: str, password: str) -> str:
    """The RTSP address with the camera's credentials in it (ONVIF's stream URIs carry none)."""
    parts = urlsplit(uri)
    if not user or parts.username:
        return uri
    host = parts.hostname or ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def pick_streams(profiles: list[StreamProfile]) -> tuple[StreamProfile, StreamProfile | None]:
    """Main = the largest picture, sub = the smallest (when it is a different, smaller one)."""
    usable = [p for p in profiles if p.uri]
    if not usable:
        raise OnvifError("the camera offers no media profile with an RTSP stream")
    by_size = sorted(usable, key=lambda p: p.width * p.height)
    main, sub = by_size[-1], by_size[0]
    return main, (sub if sub.width * sub.height < main.width * main.height else None)


def _describe(where: str, err: BaseException) -> OnvifError:
    text = str(err) or type(err).__name__
    if isinstance(err, zeep.exceptions.Fault):
        # Each subcode by its text: a list's str() shows lxml QNames as "<… object at 0x…401…>", and an
        # address holding "401" made a missing preset read as a refused password.
        subcodes = " ".join(str(q) for q in getattr(err, "subcodes", None) or [])
        sub = " ".join(str(getattr(err, k, "") or "") for k in ("code", "message")) + " " + subcodes
        if "NotAuthorized" in sub or "not authorized" in sub.lower() or "401" in sub:
            return OnvifAuthError(f"{where}: the camera refused the user name or password — check them")
        return OnvifError(f"{where}: the camera answered with an error: {err.message}")
    if isinstance(err, (aiohttp.ClientConnectorError, ConnectionRefusedError, httpx.ConnectError)):
        return OnvifError(f"{where}: cannot connect — is the camera on, and is this its ONVIF port? ({text})")
    if isinstance(err, (asyncio.TimeoutError, TimeoutError, httpx.TimeoutException)):
        return OnvifError(f"{where}: no answer in time — the camera is off or the address is wrong")
    if "401" in text or "Unauthorized" in text or "NotAuthorized" in text:
        return OnvifAuthError(f"{where}: the camera refused the user name or password — check them")
    return OnvifError(f"{where}: {text}")


class OnvifDevice:
    """Opened with `connect()`; close with `close()`. Every call raises `OnvifError` with a readable message."""

    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.where = f"ONVIF {host}:{port}"
        self._cam = ONVIFCamera(host, port, user, password, adjust_time=True)  # "" logs in as nobody
        self._profiles: list[StreamProfile] | None = None

    async def _call(self, what: Any) -> Any:
        try:
            return await asyncio.wait_for(what, TIMEOUT_SECONDS)
        except (TimeoutError, zeep.exceptions.Error, _LibError, aiohttp.ClientError, httpx.HTTPError, OSError) as err:
            raise _describe(self.where, err) from err
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            # A web server that is not an ONVIF device answers something the ONVIF library cannot walk.
            raise OnvifError(f"{self.where}: the answer is not ONVIF ({type(err).__name__}: {err}) — is this the "
                             "camera's ONVIF port? (often 80, 8000 or 8080)") from err

    async def connect(self) -> None:
        await self._call(self._cam.update_xaddrs())

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._cam.close()

    async def info(self) -> DeviceInfo:
        dm = await self._call(self._cam.create_devicemgmt_service())
        r = await self._call(dm.GetDeviceInformation())
        return DeviceInfo(str(r.Manufacturer or ""), str(r.Model or ""), str(r.FirmwareVersion or ""),
                          str(r.SerialNumber or ""))

    async def profiles(self) -> list[StreamProfile]:
        """The media profiles, each with its RTSP address (credentials added)."""
        if self._profiles is not None:
            return self._profiles
        media = await self._call(self._cam.create_media_service())
        out = []
        for p in await self._call(media.GetProfiles()) or []:
            vec = p.VideoEncoderConfiguration
            if vec is None or vec.Resolution is None:
                continue  # audio-only or metadata profile
            sp = StreamProfile(str(p.token), str(p.Name or p.token), int(vec.Resolution.Width),
                               int(vec.Resolution.Height), str(vec.Encoding or ""), ptz=p.PTZConfiguration is not None)
            r = await self._call(media.GetStreamUri({
                "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}, "ProfileToken": sp.token}))
            sp.uri = with_credentials(str(r.Uri), self.user, self.password)
            out.append(sp)
        self._profiles = out
        return out

    async def _ptz(self) -> tuple[Any, str]:
        profiles = await self.profiles()
        token = next((p.token for p in profiles if p.ptz), None)
        if token is None:
            raise OnvifError(f"{self.where}: this camera has no PTZ")
        if "http://www.onvif.org/ver20/ptz/wsdl" not in self._cam.xaddrs:
            raise OnvifError(f"{self.where}: this camera offers no PTZ service")
        return await self._call(self._cam.create_ptz_service()), token

    async def move(self, pan: float, tilt: float, zoom: float, seconds: float = 1.0) -> None:
        """Continuous move at these speeds (-1..1) for at most `seconds` (the camera stops by itself)."""
        ptz, token = await self._ptz()
        await self._call(ptz.ContinuousMove({
            "ProfileToken": token, "Velocity": {"PanTilt": {"x": pan, "y": tilt}, "Zoom": {"x": zoom}},
            "Timeout": dt.timedelta(seconds=seconds)}))

    async def stop(self) -> None:
        ptz, token = await self._ptz()
        await self._call(ptz.Stop({"ProfileToken": token, "PanTilt": True, "Zoom": True}))

    async def presets(self) -> list[PtzPreset]:
        ptz, token = await self._ptz()
        out = []
        for p in await self._call(ptz.GetPresets({"ProfileToken": token})) or []:
            pos = p.PTZPosition
            pt = pos.PanTilt if pos is not None else None
            z = pos.Zoom if pos is not None else None
            out.append(PtzPreset(str(p.token), str(p.Name or p.token), float(pt.x) if pt is not None else None,
                                 float(pt.y) if pt is not None else None, float(z.x) if z is not None else None))
        return out

    async def set_preset(self, name: str, token: str | None = None) -> str:
        ptz, profile = await self._ptz()
        req: dict[str, Any] = {"ProfileToken": profile, "PresetName": name}
        if token:
            req["PresetToken"] = token
        return str(await self._call(ptz.SetPreset(req)))

    async def goto_preset(self, token: str) -> None:
        ptz, profile = await self._ptz()
        await self._call(ptz.GotoPreset({"ProfileToken": profile, "PresetToken": token}))

    async def remove_preset(self, token: str) -> None:
        ptz, profile = await self._ptz()
        await self._call(ptz.RemovePreset({"ProfileToken": profile, "PresetToken": token}))

    async def status(self) -> tuple[float, float, float]:
        ptz, profile = await self._ptz()
        s = await self._call(ptz.GetStatus({"ProfileToken": profile}))
        return float(s.Position.PanTilt.x), float(s.Position.PanTilt.y), float(s.Position.Zoom.x)

    @property
    def camera(self) -> ONVIFCamera:
        return self._cam


async def needs_credentials(host: str, port: int, timeout: float = 4.0) -> bool | None:
    """Whether the camera refuses to describe itself without a login (None: could not tell)."""
    dev = OnvifDevice(host, port, "", "")
    try:
        await asyncio.wait_for(dev.connect(), timeout)
        await asyncio.wait_for(dev.info(), timeout)
        return False
    except OnvifAuthError:
        return True
    except (TimeoutError, OnvifError):
        return None
    finally:
        await dev.close()
