"""The `vigil` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from vigil.config import Config, load_config
from vigil.errors import VigilError
from vigil.log import setup_logging

app = typer.Typer(help="Vigil: an open-source AI network video recorder.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
catalog_app = typer.Typer(help="Maintain the catalog (the index of recordings).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
users_app = typer.Typer(help="Manage the users who may log in.", no_args_is_help=True)
app.add_typer(users_app, name="users")
faces_app = typer.Typer(help="Face databases: list, create, import photos.", no_args_is_help=True)
app.add_typer(faces_app, name="faces")
camera_app = typer.Typer(help="Find ONVIF cameras and add them.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")
models_app = typer.Typer(help="Detection models: build the INT8 model.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="vigil.yml (default: $VIGIL_CONFIG, else built-in defaults)")
]


def _fail(err: Exception) -> None:
    typer.echo(f"vigil: error: {err}", err=True)
    raise typer.Exit(2)


def _load(path: Path | None) -> Config:
    if path is None and os.environ.get("VIGIL_CONFIG"):
        path = Path(os.environ["VIGIL_CONFIG"])
    try:
        return load_config(path)
    except VigilError as err:
        _fail(err)
        raise AssertionError from None


@app.command()
def serve(config: ConfigOpt = None) -> None:
    """Record the configured cameras and serve the API and web UI."""
    from vigil.app import serve as run

    cfg = _load(config)
    setup_logging(cfg.log_level)
    try:
        asyncio.run(run(cfg))
    except VigilError as err:
        _fail(err)
    except KeyboardInterrupt:
        pass


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Validate a config file, the storage path and the detector settings, then exit."""
    from vigil.analytics.engines import check_engine
    from vigil.storage import check_storage

    cfg = _load(config)
    try:
        check_storage(cfg.storage.path)
        check_engine(cfg.analytics)
    except VigilError as err:
        _fail(err)
    typer.echo(f"config OK: {len(cfg.cameras)} camera(s), storage {cfg.storage.path}")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give WIDTHxHEIGHT, e.g. 1920x1080") from None


def _rate(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        return int(float(text.rstrip("km")) * mult)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give bits per second, e.g. 4M or 800k") from None


@app.command()
def sim(
    cameras: Annotated[int, typer.Option(min=1, max=512, help="number of cameras")] = 1,
    codec: Annotated[str, typer.Option(help="h264, hevc, or a list cycled over the cameras: h264,hevc")] = "h264",
    size: Annotated[str, typer.Option(help="main stream WIDTHxHEIGHT")] = "1920x1080",
    fps: Annotated[int, typer.Option(min=1, max=120)] = 25,
    gop: Annotated[float, typer.Option(help="seconds between keyframes")] = 2.0,
    bitrate: Annotated[str, typer.Option(help="main stream bits per second")] = "4M",
    sub_size: Annotated[str, typer.Option(help="sub-stream WIDTHxHEIGHT, or 'none'")] = "640x360",
    live: Annotated[str, typer.Option(help="encode live (wall clock on screen): none | sub | all")] = "sub",
    loop_seconds: Annotated[float, typer.Option(help="length of the replayed main-stream clip")] = 10.0,
    scene: Annotated[list[str] | None, typer.Option(
        help="camera N shows the Nth scripted scene: crossing, loiter, distractors, distractors-person, faces, people",
    )] = None,
    scene_fps: Annotated[int, typer.Option(min=1, max=30, help="frame rate of scripted scenes")] = 10,
    audio: Annotated[bool, typer.Option(help="scripted-scene cameras also send sound (AAC)")] = False,
    scene_start: Annotated[float, typer.Option(
        help="epoch seconds at which scripted scenes begin a cycle (default: cycles follow the clock)")] = 0.0,
    host: str = "127.0.0.1",
    rtsp_port: int = 8564,
    http_port: int = 8565,
    onvif_port: Annotated[int, typer.Option(help="camera N answers ONVIF on this port + N - 1 (0: no ONVIF)")] = 0,
    onvif_user: str = "admin",
    onvif_password: str = "sim-pass",
    discovery_port: Annotated[int, typer.Option(help="answer WS-Discovery probes on this UDP port (3702; 0: no)")
                              ] = 0,
    ptz: Annotated[int, typer.Option(help="the last N cameras are PTZ cameras whose view ONVIF moves")] = 0,
    state_dir: Annotated[Path | None, typer.Option(help="where the sim keeps PTZ presets across restarts")] = None,
) -> None:
    """Serve simulated cameras over RTSP, HTTP-MJPEG and (with --onvif-port) ONVIF on loopback."""
    from vigil.sim.encode import StreamSpec
    from vigil.sim.server import SimConfig, run_sim

    codecs = [c.strip() for c in codec.split(",")]
    for c in codecs:
        if c not in ("h264", "hevc", "h265"):
            raise typer.BadParameter(f"codec {c!r}: use h264 or hevc")
    if live not in ("none", "sub", "all"):
        raise typer.BadParameter(f"--live {live!r}: use none, sub or all")
    w, h = _size(size)
    main = StreamSpec(w, h, fps, gop, codecs[0], _rate(bitrate))
    sub = None
    if sub_size != "none":
        sw, sh = _size(sub_size)
        sub = StreamSpec(sw, sh, fps, gop, codecs[0], 600_000)
    from vigil.sim.scripted import SCRIPTS

    for name in scene or []:
        if name not in SCRIPTS:
            raise typer.BadParameter(f"scene {name!r}: use one of {', '.join(SCRIPTS)}")
    cfg = SimConfig(cameras, host, rtsp_port, http_port, codecs, main, sub, live, loop_seconds, scenes=scene or [],
                    scene_spec=StreamSpec(640, 360, scene_fps, 2.0, "h264", 800_000), audio=audio,
                    scene_epoch=scene_start, onvif_port=onvif_port, onvif_user=onvif_user,
                    onvif_password=onvif_password, discovery_port=discovery_port, ptz=ptz, state_dir=state_dir)
    setup_logging("WARNING")
    try:
        asyncio.run(run_sim(cfg))
    except KeyboardInterrupt:
        pass
    except OSError as err:
        _fail(VigilError(f"sim: cannot listen on {host}:{rtsp_port}/{http_port}: {err.strerror}"))


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo keeps config and recordings")] = Path(
        ".demo"
    ),
    port: int = 8080,
    cameras: int = 2,
) -> None:
    """Start the simulated cameras and Vigil recording them, on embedded defaults."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    cfg_path = directory / "vigil.yml"
    from vigil.sim import face_photos
    from vigil.sim.actors import photos_available

    # With Debian's darknet photographs at hand, scripted sim cameras come first: a yard where a person and a car
    # cross (tripwires drawn for the demo), a shop door with a counting line, and a car park with ANPR; with the
    # packaged face photographs also a door camera where an enrolled person, a blocklisted one and a stranger
    # walk past. The others are the plain 1080p sim.
    scene = photos_available()
    faces = scene and face_photos.available()
    osd = [[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]
    rec = {"segment_seconds": 10, "max_days": 1}
    scripted: list[tuple[str, dict[str, Any]]] = []
    if scene:
        scripted.append(("crossing", {"id": "gate", "name": "Gate (AI demo)",
                                      "analytics": {"enabled": True, "motion_masks": [osd]}}))
    if faces:
        scripted.append(("faces", {"id": "door", "name": "Door (faces demo)", "analytics": {
            "enabled": True, "motion_masks": [osd], "faces": True, "motion_events": False}}))
    if scene:
        scripted.append(("people", {"id": "shop", "name": "Shop (counting demo)", "analytics": {
            "enabled": True, "motion_masks": [osd], "motion_events": False}}))
        scripted.append(("plates", {"id": "parking", "name": "Car park (ANPR demo)", "analytics": {
            "enabled": True, "motion_masks": [osd], "motion_events": False, "plates": True}}))
    scenes = [name for name, _ in scripted]
    first = len(scenes) + 1
    cams: list[dict[str, Any]] = [
        {**cam, "url": f"rtsp://127.0.0.1:8564/cam{i}", "record": rec} for i, (_, cam) in enumerate(scripted, 1)]
    cams += [
        {"id": f"cam{i}", "name": f"Simulated camera {i}", "url": f"rtsp://127.0.0.1:8564/cam{i + first - 1}",
         "sub_url": f"rtsp://127.0.0.1:8564/cam{i + first - 1}/sub", "record": rec}
        for i in range(1, cameras + 1)
    ]
    # The last sim camera is a PTZ camera that also answers ONVIF (PTZ, presets, its own motion events).
    ptz = len(scripted) + cameras + 1
    cams.append({"id": "ptz1", "name": "Simulated PTZ camera (ONVIF)", "url": f"rtsp://127.0.0.1:8564/cam{ptz}",
                 "sub_url": f"rtsp://127.0.0.1:8564/cam{ptz}/sub", "record": rec,
                 "onvif": {"host": "127.0.0.1", "port": 8570 + ptz - 1, "username": "admin",
                           "password": "sim-pass"}})
    cams.append({"id": "mjpeg1", "name": "Simulated MJPEG camera", "url": "http://127.0.0.1:8565/cam1.mjpg",
                 "record": {"segment_seconds": 10, "max_days": 1}})
    cfg_path.write_text(yaml.safe_dump({
        "storage": {"path": "recordings", "min_free_gb": 1},
        "api": {"listen": f"127.0.0.1:{port}"},
        "rtsp_out": {"listen": "127.0.0.1:8554"},
        "cameras": cams,
    }, sort_keys=False))
    if scene:
        _demo_rules(cfg_path)
        _demo_plates(cfg_path)
    if faces:
        typer.echo("Enrolling the demo's face databases…")
        _demo_faces(cfg_path)
    typer.echo("Starting simulated cameras (first start encodes the clips: ~20 s)…")
    sim_args = ["--cameras", str(cameras + len(scenes) + 1), "--ptz", "1", "--onvif-port", "8570",
                "--discovery-port", "3702", "--state-dir", str(directory / "sim-state")]
    sim_args += [a for name in scenes for a in ("--scene", name)]
    sim_proc = subprocess.Popen([sys.executable, "-m", "vigil.cli", "sim", *sim_args], stdout=subprocess.PIPE,
                                text=True)
    try:
        assert sim_proc.stdout is not None
        line = sim_proc.stdout.readline()
        if "ready" not in line:
            _fail(VigilError("the simulated cameras did not start; see the messages above"))
        typer.echo(line.strip())
        typer.echo(f"\nVigil is recording. Open http://127.0.0.1:{port}/  (API docs: http://127.0.0.1:{port}/api/docs)")
        typer.echo("RTSP out: rtsp://127.0.0.1:8554/<camera>[/sub] (your Vigil user and password)")
        typer.echo(f"Config: {cfg_path}   Recordings: {directory / 'recordings'}   Stop: Ctrl-C\n")
        serve(cfg_path)
    finally:
        sim_proc.send_signal(signal.SIGINT)
        try:
            sim_proc.wait(5)
        except subprocess.TimeoutExpired:
            sim_proc.kill()


def _demo_faces(cfg_path: Path) -> None:
    """Face databases for the demo's door camera, unless the user has made their own."""
    from vigil.sim import face_photos as fp

    service = _faces(cfg_path)
    try:
        if service.databases():
            return
        staff = service.create_database("staff", "allow", "demo: people who work here")
        banned = service.create_database("banned", "block", "demo: matches raise an alarm")
        obama = service.add_person(staff.id, "Barack Obama", {"gender": "male", "country": "US"})
        biden = service.add_person(banned.id, "Joe Biden", {"gender": "male", "country": "US"})
        for person, photo in ((obama, fp.PHOTOS[0]), (obama, fp.PHOTOS[1]), (biden, fp.PHOTOS[3])):
            service.enrol(person.id, fp.crop(photo), source="demo")
    finally:
        service.store.catalog.close()


def _demo_rules(cfg_path: Path) -> None:
    """A tripwire for the demo's gate camera, unless the user has drawn rules of their own."""
    from vigil.analytics.rulespec import RuleSpec
    from vigil.catalog.rules import load_rules, save_rules
    from vigil.catalog.store import Catalog

    cfg = _load(cfg_path)
    cfg.storage.path.mkdir(parents=True, exist_ok=True)
    cat = Catalog(cfg.catalog_url)
    try:
        cat.migrate()
        if not load_rules(cat, "shop"):
            door = RuleSpec(id="door", name="Shop door", kind="counter", points=[(0.5, 0.4), (0.5, 1.0)],
                            direction="a_to_b", max_occupancy=5)
            save_rules(cat, "shop", [door.model_dump()])
        if not load_rules(cat, "gate"):
            rules = [RuleSpec(id="gate-in", name="Gate, inwards", kind="tripwire", points=[(0.5, 0.3), (0.5, 1.0)],
                              targets="human", direction="a_to_b"),
                     RuleSpec(id="cars", name="Cars", kind="tripwire", points=[(0.5, 0.3), (0.5, 1.0)],
                              targets="vehicle")]
            save_rules(cat, "gate", [r.model_dump() for r in rules])
    finally:
        cat.close()


def _demo_plates(cfg_path: Path) -> None:
    """The demo car park's lists: the first car's plate is blocked (an alarm), the second one's allowed."""
    from vigil.catalog.plates import PlateLists
    from vigil.catalog.store import Catalog

    cat = Catalog(_load(cfg_path).catalog_url)
    try:
        cat.migrate()
        lists = PlateLists(cat)
        if not lists.entries():
            lists.put("KX19ABC", "block", "demo: reported stolen")
            lists.put("BD51SMR", "allow", "demo: staff car")
    finally:
        cat.close()


@catalog_app.command("rebuild")
def catalog_rebuild(config: ConfigOpt = None) -> None:
    """Recreate the segment index from the files on disk alone (Vigil must be stopped)."""
    from vigil.catalog.store import Catalog
    from vigil.recorder.recovery import rebuild

    cfg = _load(config)
    setup_logging("WARNING")
    cat = Catalog(cfg.catalog_url)
    try:
        cat.migrate()
        t = time.monotonic()
        n = rebuild(cat, cfg.storage.path)
    except VigilError as err:
        _fail(err)
        return
    typer.echo(f"indexed {n} segment(s) from {cfg.storage.path} in {time.monotonic() - t:.1f} s")


@models_app.command("build")
def models_build(
    out: Annotated[Path | None, typer.Option(help="where to write it (default: the models folder)")] = None,
    photos: Annotated[Path, typer.Option(help="calibration photographs (*.jpg)")] = Path("/usr/share/darknet/data"),
    video: Annotated[list[Path] | None, typer.Option(help="calibration footage (frames are sampled)")] = None,
) -> None:
    """Build the INT8 detector (ONNX Runtime static quantization, calibrated on real pictures)."""
    from vigil.analytics.quantize import build_int8, calibration_pictures

    try:
        pictures = calibration_pictures(sorted(photos.glob("*.jpg")), [v for v in video or [] if v.exists()])
        path = build_int8(pictures, out)
    except VigilError as err:
        _fail(err)
        return
    typer.echo(f"INT8 model: {path} (calibrated on {len(pictures)} pictures)")


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


def _catalog(config: Path | None) -> tuple[Config, Any]:
    from vigil.catalog.store import Catalog
    from vigil.secretbox import SecretBox

    cfg = _load(config)
    setup_logging("WARNING")
    try:
        cat = Catalog(cfg.catalog_url, SecretBox.load(cfg.key_file), cfg.node_id)
    except VigilError as err:
        _fail(err)
    try:
        cat.migrate()
    except VigilError as err:
        _fail(err)
    return cfg, cat


def _segment_files(cfg: Config, cat: Any) -> Any:
    """Segments as this node reads them: its own disk, and the bucket when storage.s3 is set."""
    from vigil.media.segment_files import SegmentFiles
    from vigil.objectstore import ObjectStore

    return SegmentFiles(cfg.storage.path, cat, ObjectStore(cfg.storage.s3) if cfg.storage.s3 else None)


def _ask_password(password: str | None) -> str:
    if password:
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | operator | viewer")] = "admin",
    password: Annotated[str | None, typer.Option(help="asked for when omitted")] = None,
    camera: Annotated[list[str] | None, typer.Option(help="the only cameras the user sees (repeatable); "
                                                           "default: all")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user."""
    from vigil.catalog.accounts import add_user

    _, cat = _catalog(config)
    try:
        add_user(cat, username, _ask_password(password), role, cameras=camera or None)
    except VigilError as err:
        _fail(err)
    typer.echo(f"user {username!r} created ({role}{', cameras ' + ', '.join(camera) if camera else ''})")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(help="asked for when omitted")] = None,
    config: ConfigOpt = None,
) -> None:
    """Set a user's password (ends that user's browser sessions)."""
    from vigil.catalog.accounts import set_password

    _, cat = _catalog(config)
    try:
        set_password(cat, username, _ask_password(password))
    except VigilError as err:
        _fail(err)
    typer.echo(f"password of {username!r} changed")


@users_app.command("list")
def users_list(config: ConfigOpt = None) -> None:
    """List users and their roles."""
    from vigil.catalog.accounts import list_users

    _, cat = _catalog(config)
    for u in list_users(cat):
        typer.echo(f"{u.username}\t{u.role}" + ("\tdisabled" if u.disabled else ""))


def _set_disabled(username: str, disabled: bool, config: Path | None) -> None:
    from vigil.catalog.accounts import set_user

    _, cat = _catalog(config)
    try:
        set_user(cat, username, disabled=disabled)
    except VigilError as err:
        _fail(err)


@users_app.command("disable")
def users_disable(username: str, config: ConfigOpt = None) -> None:
    """Disable a user: no more logins; their sessions, tokens and open streams end (the account and its audit
    trail stay; `vigil users enable` undoes it)."""
    _set_disabled(username, True, config)
    typer.echo(f"user {username!r} disabled")


@users_app.command("enable")
def users_enable(username: str, config: ConfigOpt = None) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False, config)
    typer.echo(f"user {username!r} enabled")


@users_app.command("delete")
def users_delete(username: str, config: ConfigOpt = None) -> None:
    """Delete a user, their sessions and tokens (their audit rows stay)."""
    from vigil.catalog.accounts import delete_user

    _, cat = _catalog(config)
    try:
        delete_user(cat, username)
    except VigilError as err:
        _fail(err)
    typer.echo(f"user {username!r} deleted")


def _faces(config: Path | None) -> Any:
    from vigil.recognition import FaceService

    cfg, cat = _catalog(config)
    cfg.storage.path.mkdir(parents=True, exist_ok=True)
    service = FaceService(cat, cfg.storage.path, cfg.analytics.faces)
    service.load()
    return service


@faces_app.command("databases")
def faces_databases(config: ConfigOpt = None) -> None:
    """List the face databases."""
    for d in _faces(config).databases():
        typer.echo(f"{d.id}\t{d.name}\t{d.kind}\t{d.persons} persons\t{d.images} images")


@faces_app.command("create")
def faces_create(
    name: str,
    kind: Annotated[str, typer.Option(help="allow (VIP: matches are info events) | block (alarm) | info")] = "allow",
    description: str = "",
    config: ConfigOpt = None,
) -> None:
    """Create a face database."""
    try:
        d = _faces(config).create_database(name, kind, description)
    except VigilError as err:
        _fail(err)
    typer.echo(f"face database {d.name!r} created (id {d.id}, {d.kind})")


@faces_app.command("import")
def faces_import(
    folder: Annotated[Path, typer.Argument(help="one sub-folder per person, named after them, holding photos")],
    database: Annotated[str, typer.Option("--database", "-d", help="the face database's name")],
    kind: Annotated[str, typer.Option(help="the database's kind, if it has to be created")] = "allow",
    config: ConfigOpt = None,
) -> None:
    """Enrol a folder of photos; photos with no face or several faces are reported, not guessed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    service = _faces(config)
    try:
        db = service.store.database_by_name(database) or service.create_database(database, kind)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=not sys.stdout.isatty()) as bar:
            task = bar.add_task("enrolling", total=None)

            def step(done: int, total: int, name: str) -> None:
                bar.update(task, completed=done, total=total, description=f"enrolling {name}"[:60])

            report = service.import_folder(folder, db.id, step)
    except VigilError as err:
        _fail(err)
    typer.echo(f"enrolled {report.enrolled} image(s) of {report.persons} new person(s) into {db.name!r}")
    for file, problem in report.problems:
        typer.echo(f"  skipped {file}: {problem}")


def _when(text: str, now_ms: int) -> int:
    """"2h", "3d", "45m" ago, epoch ms, or ISO-8601 (UTC unless it says otherwise)."""
    from vigil.clock import parse_time

    units = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
    if text[:-1].isdigit() and text[-1:] in units:
        return now_ms - int(text[:-1]) * units[text[-1]]
    try:
        return parse_time(text)
    except ValueError as err:
        _fail(ValueError(f"{err} (or 2h / 3d / 45m ago)"))
        raise AssertionError from None


@app.command("search")
def search_cmd(
    config: ConfigOpt = None,
    since: Annotated[str, typer.Option(help="start: 2h / 3d ago, epoch ms or ISO-8601")] = "24h",
    until: Annotated[str | None, typer.Option(help="end (default: now)")] = None,
    camera: Annotated[list[str] | None, typer.Option(help="camera id (repeatable)")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="event type (repeatable)")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="rule id (repeatable)")] = None,
    cls: Annotated[str | None, typer.Option("--class", help="person, car, …, human or vehicle")] = None,
    upper: Annotated[str | None, typer.Option(help="upper-body colour")] = None,
    lower: Annotated[str | None, typer.Option(help="lower-body colour")] = None,
    body: Annotated[str | None, typer.Option(help="vehicle colour")] = None,
    color: Annotated[str | None, typer.Option(help="any colour")] = None,
    plate: Annotated[str | None, typer.Option(help="plate; * any run, ? one character")] = None,
    person: Annotated[str | None, typer.Option(help="recognised person (part of the name)")] = None,
    gender: Annotated[str | None, typer.Option(help="female or male")] = None,
    sort: Annotated[str, typer.Option(help="time or score")] = "time",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per hit")] = False,
) -> None:
    """Search events and targets (AI search), newest first."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vigil.analytics.colors import COLORS
    from vigil.analytics.rules import TARGETS
    from vigil.catalog.faces import FaceCatalog
    from vigil.catalog.search import SearchError, SearchQuery, search
    from vigil.clock import now_ms

    _, cat = _catalog(config)
    for name, value in (("upper", upper), ("lower", lower), ("body", body), ("color", color)):
        if value and value not in COLORS:
            _fail(ValueError(f"--{name} {value!r}: colours are {', '.join(COLORS)}"))
    now = now_ms()
    labels = tuple(sorted(TARGETS[cls])) if cls in TARGETS else ((cls,) if cls else ())
    persons: tuple[int, ...] = ()
    if person:
        persons = tuple(p.id for p in FaceCatalog(cat).persons(name=person))
        if not persons:
            _fail(ValueError(f"no person called {person!r} in any face database"))
    q = SearchQuery(_when(since, now), _when(until, now) if until else now, tuple(camera or ()), tuple(type_ or ()),
                    tuple(rule or ()), labels, upper, lower, body, color, plate, persons, gender,
                    sort="score" if sort == "score" else "time", limit=limit)
    try:
        page = search(cat, q)
    except SearchError as err:
        _fail(err)
        return
    if as_json:
        for h in page.hits:
            typer.echo(json.dumps({k: v for k, v in h.__dict__.items() if k != "details"}))
        return
    table = Table(title=f"{page.total}{'+' if page.total_capped else ''} events")
    for col in ("id", "time", "camera", "type", "class", "colours", "plate", "message"):
        table.add_column(col)
    for h in page.hits:
        colours = "/".join(c for c in (h.upper_color, h.lower_color, h.body_color) if c)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h.start_ms / 1000))
        table.add_row(str(h.id), when, h.camera_id or "", h.type, h.label or "", colours, h.plate or "", h.message)
    Console().print(table)


@app.command("export")
def export_cmd(
    camera: Annotated[list[str], typer.Option("--camera", help="camera id; repeat for several")],
    start: Annotated[str, typer.Option(help="epoch ms or ISO-8601")],
    end: Annotated[str, typer.Option(help="epoch ms or ISO-8601")],
    to: Annotated[str, typer.Option(help="a folder (e.g. a mounted USB drive) or s3://bucket/prefix")],
    endpoint_url: Annotated[str | None, typer.Option(help="S3-compatible endpoint, e.g. http://minio:9000")] = None,
    config: ConfigOpt = None,
) -> None:
    """Export a time range of cameras to MP4 files (no re-encoding), with a progress bar."""
    from fastapi import HTTPException
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from vigil.api.deps import time_window
    from vigil.clock import now_ms
    from vigil.media.export import Exporter, ExportJob, FolderTarget, S3Target, SegmentHolds, Target

    cfg, cat = _catalog(config)
    try:
        t0, t1 = time_window(start, end, now_ms())
    except HTTPException as err:
        _fail(VigilError(str(err.detail)))
        return
    target: Target
    if to.startswith("s3://"):
        bucket, _, prefix = to[5:].partition("/")
        target = S3Target(bucket, prefix, endpoint_url)
    else:
        target = FolderTarget(Path(to).resolve())
    with Progress(TextColumn("exporting"), BarColumn(), DownloadColumn(), TransferSpeedColumn()) as bar:
        task = bar.add_task("export", total=None)

        def progress(job: ExportJob) -> None:
            bar.update(task, total=job.bytes_total or None, completed=job.bytes_done)

        try:
            job = Exporter(cat, _segment_files(cfg, cat), SegmentHolds()).run(camera, t0, t1, target, progress)
        except VigilError as err:
            _fail(err)
            return
    if job.status != "done":
        _fail(VigilError(job.error or "export failed"))
    for f in job.files:
        typer.echo(f)


@app.command("nodes")
def nodes_cmd(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per node")] = False,
) -> None:
    """The nodes of a scale-out cluster: alive or not, their cameras and load (from the shared catalog)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vigil.catalog.nodes import leases, nodes, segments_written
    from vigil.clock import now_ms

    cfg, cat = _catalog(config)
    if not cfg.cluster.enabled:
        typer.echo("this Vigil is not a cluster node (cluster.enabled is false): it records all its cameras")
    now = now_ms()
    lease_ms = int(cfg.cluster.lease_seconds * 1000)
    held: dict[str, list[str]] = {}
    for lease in leases(cat):
        if lease.expires_ms > now:
            held.setdefault(lease.node_id, []).append(lease.camera_id)
    written = segments_written(cat, now - 60_000)
    out: list[dict[str, Any]] = []
    for n in nodes(cat):
        out.append({"id": n.id, "url": n.url, "alive": n.seen_ms > now - lease_ms,
                    "seen_s_ago": (now - n.seen_ms) / 1000, "cameras": sorted(held.get(n.id, [])),
                    "online": int(n.details.get("online", 0)), "segments_last_minute": written.get(n.id, 0),
                    "uploaded": int(n.details.get("uploaded", 0))})
    if as_json:
        for row in out:
            typer.echo(json.dumps(row))
        return
    table = Table(title=f"{sum(r['alive'] for r in out)} of {len(out)} nodes alive")
    for col in ("node", "state", "url", "cameras", "online", "segments/min", "uploaded"):
        table.add_column(col)
    for r in out:
        state = "alive" if r["alive"] else f"down ({r['seen_s_ago']:.0f} s)"
        table.add_row(r["id"], state, r["url"], f"{len(r['cameras'])}: {' '.join(r['cameras'])}", str(r["online"]),
                      str(r["segments_last_minute"]), str(r["uploaded"]))
    Console().print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

