"""The composition root: builds Vigil from the config, serves its API and RTSP out, stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn

from vigil.api.app import create_app
from vigil.api.http_protocol import with_header_timeout
from vigil.api.tls import certificate_files, redirect_app
from vigil.catalog.accounts import RTSP_REALM, rtsp_user
from vigil.config import ApiConfig, Config
from vigil.errors import ConfigError
from vigil.events.actions import LinkageRunner
from vigil.ipfilter import IpFilter
from vigil.log import get_logger
from vigil.media.rtsp_auth import DigestAuth
from vigil.media.rtsp_server import RtspServer
from vigil.nvr import Vigil

log = get_logger(__name__)


def proxy_settings(trusted: list[str]) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For from loopback by default: anyone on the box (or a proxy passing the
    header on) could then pick the address the login limits, the audit log and the IP filter see. Only the
    proxies named in api.trusted_proxies are believed."""
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": ",".join(trusted) if trusted else None}


def http_settings(api: ApiConfig) -> dict[str, Any]:
    """uvicorn's settings that bound what one client can hold: header deadline, forwarded headers."""
    return {"http": with_header_timeout(api.header_timeout_seconds), **proxy_settings(api.trusted_proxies)}


async def serve(cfg: Config, config_path: Path | None = None) -> None:
    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after serving, which would skip closing the open segments.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    vigil = Vigil(cfg)
    vigil.config_path = config_path
    # Before the cameras start, so the recorders' relays know the loop; a taken port stops start-up here.
    rtsp = await _start_rtsp_out(vigil) if cfg.rtsp_out.enabled else None
    vigil.start()
    tls = cfg.api.tls
    ssl: dict[str, str] = {}
    if tls.enabled:
        cert, key = certificate_files(tls.cert_file, tls.key_file, cfg.storage.path.parent / "tls", cfg.api.host)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    server = _Server(
        uvicorn.Config(create_app(vigil), host=cfg.api.host, port=cfg.api.port, log_level="warning",
                       lifespan="off", **http_settings(cfg.api), **ssl)  # type: ignore[arg-type]
    )
    redirect = None
    if tls.enabled and tls.redirect_http:
        host, _, port = tls.redirect_http.rpartition(":")
        redirect = _Server(uvicorn.Config(redirect_app(cfg.api.port), host=host, port=int(port),
                                          log_level="warning", lifespan="off"))
    loop = asyncio.get_running_loop()

    def _exit() -> None:
        for s in (server, redirect):
            if s is not None:
                s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _exit)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(vigil))
    redirecting = asyncio.create_task(redirect.serve()) if redirect is not None else None
    retention = asyncio.create_task(vigil.retention.loop(cfg.storage.retention_interval_seconds))
    tiering = asyncio.create_task(vigil.tiering.loop()) if vigil.tiering is not None else None
    keeper = asyncio.create_task(vigil.keeper.run()) if vigil.keeper is not None else None
    if vigil.relay_events is not None:
        vigil.relay_events.start()
    onvif = asyncio.create_task(vigil.onvif.run())
    # Always running: linkage rules can be made in the UI at any time (MQTT alone still announces the cameras
    # to Home Assistant).
    vigil.linkage = LinkageRunner(cfg.alarms, vigil.bus, vigil.files,
                                  lambda: bool(vigil.catalog.get_setting("armed", False)),
                                  lambda: list(vigil.cameras), cfg.analytics.snapshot_quality,
                                  vigil.record_for, vigil.goto_preset, vigil.linkage_rules.rules)
    linkage = asyncio.create_task(vigil.linkage.run())
    log.info("serving", url=f"{'https' if tls.enabled else 'http'}://{cfg.api.listen}/")
    try:
        await server.serve()
    finally:
        if redirect is not None:
            redirect.should_exit = True
        for task in (retention, linkage, onvif, redirecting, tiering, keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if rtsp is not None:
            await rtsp.close()
        await asyncio.to_thread(vigil.stop)


def _reload(vigil: Vigil) -> None:
    """SIGHUP: vigil.yml again, in a thread (stopping a camera waits for its segment to close)."""

    def run() -> None:
        try:
            vigil.reload_config()
        except ConfigError as err:
            log.error("config_reload_refused", error=str(err), fix="correct vigil.yml and send SIGHUP again")

    asyncio.get_running_loop().run_in_executor(None, run)


async def _start_rtsp_out(vigil: Vigil) -> RtspServer:
    cfg = vigil.cfg.rtsp_out

    ip_filter = IpFilter(vigil.cfg.api.ip_allow, vigil.cfg.api.ip_block)
    auth = DigestAuth(RTSP_REALM, partial(rtsp_user, vigil.catalog))
    server = RtspServer(cfg.host, cfg.port, resolve=vigil.streams.rtsp_stream, auth=auth, allow=ip_filter.allows,
                        guard=vigil.logins, still_allowed=vigil.streams.rtsp_allowed,
                        locate=vigil.streams.rtsp_elsewhere)
    try:
        await server.start()
    except OSError as err:
        raise ConfigError(f"rtsp_out: cannot listen on {cfg.listen}: {err.strerror} — another program (an RTSP "
                          "server, the sim?) has that port; set rtsp_out.listen to a free one, or "
                          "rtsp_out.enabled: false") from None
    vigil.streams.serve_relays(asyncio.get_running_loop())
    log.info("rtsp_out", url=f"rtsp://{cfg.listen}/<camera>")
    return server
