"""The composition root: builds the services from config, runs them, stops them cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from vigil.catalog.store import Catalog
from vigil.config import Config
from vigil.log import get_logger
from vigil.recorder.camera import CameraRecorder
from vigil.recorder.recovery import recover
from vigil.recorder.retention import Retention
from vigil.storage import check_storage

log = get_logger(__name__)


class Vigil:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.storage = cfg.storage.path
        check_storage(self.storage)  # first: a missing disk is the error the user must see
        self.catalog = Catalog(cfg.catalog_url)
        self.recorders: dict[str, CameraRecorder] = {}
        self.retention = Retention(
            self.catalog, self.storage, cfg.cameras, cfg.storage.min_free_gb, cfg.storage.min_free_percent
        )

    def start(self) -> None:
        """Migrate, recover after a crash, then start recording."""
        self.catalog.migrate()
        self.catalog.sync_cameras(self.cfg.cameras)
        recovered = recover(self.catalog, self.storage)
        if recovered:
            log.info("recovery_done", segments=recovered)
        for cam in self.cfg.cameras:
            if not cam.enabled:
                self.catalog.set_camera_state(cam.id, "disabled")
                continue
            rec = CameraRecorder(
                cam, self.storage, self.catalog, self.cfg.source, self.cfg.storage.fsync, self._storage_alarm
            )
            self.recorders[cam.id] = rec
            rec.start()

    def _storage_alarm(self, camera_id: str, message: str) -> None:
        try:
            self.catalog.add_event("disk_error", message, camera_id=camera_id, severity="critical")
        except Exception as err:  # the alarm must not take the recorder down with it
            log.error("alarm_failed", error=repr(err))

    async def retention_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.retention.run_once)
            except Exception as err:
                log.error("retention_failed", error=repr(err))
            await asyncio.sleep(self.cfg.storage.retention_interval_seconds)

    def stop(self) -> None:
        for rec in self.recorders.values():
            rec.request_stop()
        for rec in self.recorders.values():
            rec.stop()
        self.catalog.close()


async def serve(cfg: Config) -> None:
    import uvicorn

    from vigil.api.app import create_app

    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after serving, which would skip closing the open segments.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    vigil = Vigil(cfg)
    vigil.start()
    server = _Server(
        uvicorn.Config(create_app(vigil), host=cfg.api.host, port=cfg.api.port, log_level="warning",
                       lifespan="off")
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    retention = asyncio.create_task(vigil.retention_loop())
    log.info("serving", url=f"http://{cfg.api.listen}/")
    try:
        await server.serve()
    finally:
        retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retention
        await asyncio.to_thread(vigil.stop)

