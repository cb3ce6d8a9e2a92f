"""`vigil camera discover` and `vigil camera add-onvif`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from vigil.cli.common import ConfigOpt, _catalog, _fail, app
from vigil.errors import VigilError

camera_app = typer.Typer(help="Find ONVIF cameras and add them.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")


@camera_app.command("discover")
def camera_discover(
    timeout: Annotated[float, typer.Option(min=0.2, max=15, help="seconds to wait for answers")] = 2.0,
    interface: Annotated[list[str] | None, typer.Option(help="local IPv4 address to probe from (repeatable)")] = None,
    address: Annotated[list[str] | None, typer.Option(help="camera address to probe directly (repeatable)")] = None,
    port: Annotated[int, typer.Option(help="WS-Discovery port")] = 3702,
) -> None:
    """List the ONVIF cameras on the network (WS-Discovery): address, vendor, model."""
    from rich.console import Console
    from rich.table import Table

    from vigil.onvif.device import needs_credentials
    from vigil.onvif.discovery import discover

    async def look() -> list[tuple[Any, bool | None]]:
        found = await discover(timeout, interface, address, port)
        logins = await asyncio.gather(*(needs_credentials(d.host, d.port) for d in found))
        return list(zip(found, logins, strict=True))

    try:
        found = asyncio.run(look())
    except OSError as err:
        _fail(VigilError(str(err)))
    table = Table("address", "vendor", "model", "name", "login", "device service")
    for d, login in found:
        table.add_row(d.address, d.vendor, d.model, d.name, {True: "needed", False: "none", None: "?"}[login],
                      d.xaddr)
    Console().print(table)
    typer.echo(f"{len(found)} camera(s). Add one: vigil camera add-onvif ID --host HOST --port PORT --user U "
               "--password P")


@camera_app.command("add-onvif")
def camera_add_onvif(
    camera_id: Annotated[str, typer.Argument(help="the new camera's id, e.g. front-door")],
    host: Annotated[str, typer.Option(help="the camera's address")],
    port: Annotated[int, typer.Option(help="the camera's ONVIF (HTTP) port")] = 80,
    user: str = "",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, prompt_required=False)] = "",
    name: str = "",
    events: Annotated[bool, typer.Option(help="take the camera's own analytics events")] = True,
    config: ConfigOpt = None,
) -> None:
    """Add an ONVIF camera by address and credentials: its stream addresses come from the camera. A running
    `vigil serve` starts it on its next start (the web UI and POST /api/onvif/cameras add cameras live)."""
    from vigil.config import CameraConfig, OnvifSettings
    from vigil.onvif.device import OnvifDevice, pick_streams

    cfg, cat = _catalog(config)

    async def look() -> tuple[str, str, str | None]:
        dev = OnvifDevice(host, port, user, password)
        try:
            await dev.connect()
            info = await dev.info()
            main, sub = pick_streams(await dev.profiles())
            return f"{info.manufacturer} {info.model}".strip(), main.uri, sub.uri if sub else None
        finally:
            await dev.close()

    try:
        if camera_id in {c.id for c in cfg.cameras} or any(c["id"] == camera_id for c in cat.api_cameras()):
            raise VigilError(f"camera {camera_id!r} exists already; choose another id")
        model, url, sub_url = asyncio.run(look())
        cam = CameraConfig(id=camera_id, name=name or model, url=url, sub_url=sub_url, onvif=OnvifSettings(
            host=host, port=port, username=user, password=password, events=events))
        cat.save_camera(cam, "api")
    except (VigilError, ValueError) as err:
        _fail(err)
    finally:
        cat.close()
    from vigil.config import redact_url

    typer.echo(f"added {camera_id} ({model}): main {redact_url(url)}" + (f", sub {redact_url(sub_url)}" if sub_url
                                                                          else ""))
