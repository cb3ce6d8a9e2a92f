"""Vigil's ONVIF side at run time: one connected device per camera for PTZ (kept, since connecting costs a few
round trips), and one event listener per camera whose `onvif.events` is on, started and stopped as cameras
come and go."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from vigil.clock import now_ms
from vigil.config import CameraConfig, OnvifSettings
from vigil.errors import ConfigError, NotFoundError
from vigil.log import get_logger
from vigil.onvif.camera_side import CameraSideEvents
from vigil.onvif.device import OnvifDevice, OnvifError
from vigil.onvif.events import CameraEventListener, CameraSignal

log = get_logger(__name__)
RECONCILE_SECONDS = 2.0


def _key(s: OnvifSettings) -> tuple[str, int, str, str]:
    return s.host, s.port, s.username, s.password


class OnvifHub:
    def __init__(self, cameras: Callable[[], dict[str, CameraConfig]], sink: CameraSideEvents,
                 ours: Callable[[str], bool] = lambda _camera: True) -> None:
        """`ours`: whether this node subscribes to a camera's events (in a cluster, the node that records it)."""
        self.cameras = cameras
        self.ours = ours
        self.sink = sink
        self._devices: dict[str, tuple[tuple[str, int, str, str], OnvifDevice]] = {}
        self._listeners: dict[str, tuple[tuple[str, int, str, str], CameraEventListener, asyncio.Task[None]]] = {}
        self._writer = ThreadPoolExecutor(1, "onvif-events")  # one thread: a start is stored before its end
        self._loop: asyncio.AbstractEventLoop | None = None

    def settings(self, camera_id: str) -> OnvifSettings:
        cam = self.cameras().get(camera_id)
        if cam is None:
            raise NotFoundError(f"no camera {camera_id!r}; GET /api/cameras lists them")
        if cam.onvif is None:
            raise ConfigError(f"camera {camera_id!r} has no ONVIF settings (add it with POST /api/onvif/cameras, "
                             "or give it an onvif: block in vigil.yml)")
        return cam.onvif

    async def device(self, camera_id: str) -> OnvifDevice:
        """The camera's connected ONVIF device (reconnected when its settings changed or it failed before)."""
        s = self.settings(camera_id)
        cached = self._devices.get(camera_id)
        if cached is not None and cached[0] == _key(s):
            return cached[1]
        if cached is not None:
            await cached[1].close()
        dev = OnvifDevice(s.host, s.port, s.username, s.password)
        try:
            await dev.connect()
        except OnvifError:
            await dev.close()
            raise
        self._devices[camera_id] = (_key(s), dev)
        return dev

    async def forget(self, camera_id: str) -> None:
        """Drop a device that failed, so the next call connects afresh."""
        cached = self._devices.pop(camera_id, None)
        if cached is not None:
            await cached[1].close()

    def status(self) -> dict[str, dict[str, object]]:
        return {cid: {"events": listener.connected, "error": listener.error}
                for cid, (_, listener, _) in self._listeners.items()}

    def _on_signal(self, camera_id: str, sig: CameraSignal) -> None:
        if self._loop is not None:
            self._loop.run_in_executor(self._writer, self.sink.apply, camera_id, sig)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self._reconcile()
                await asyncio.sleep(RECONCILE_SECONDS)
        finally:
            for camera_id in list(self._listeners):
                await self._stop_listener(camera_id)
            for _, dev in self._devices.values():
                await dev.close()
            self._writer.shutdown(wait=True)

    async def _reconcile(self) -> None:
        wanted = {cid: c.onvif for cid, c in self.cameras().items()
                  if c.enabled and c.onvif is not None and c.onvif.events and self.ours(cid)}
        for camera_id in list(self._listeners):
            s = wanted.get(camera_id)
            if s is None or _key(s) != self._listeners[camera_id][0]:
                await self._stop_listener(camera_id)
        for camera_id, s in wanted.items():
            if camera_id not in self._listeners:
                listener = CameraEventListener(
                    camera_id, functools.partial(OnvifDevice, s.host, s.port, s.username, s.password),
                    self._on_signal)
                self._listeners[camera_id] = (_key(s), listener, asyncio.create_task(listener.run()))

    async def _stop_listener(self, camera_id: str) -> None:
        entry = self._listeners.pop(camera_id, None)
        if entry is None:
            return
        entry[2].cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await entry[2]
        if self._loop is not None:
            await self._loop.run_in_executor(self._writer, self.sink.close_camera, camera_id, now_ms())
