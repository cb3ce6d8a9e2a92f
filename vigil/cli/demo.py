"""`vigil sim` (simulated cameras) and `vigil demo` (the sim and Vigil with the demo's rules, faces and plates)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from vigil.cli.common import _faces, _fail, _load, app
from vigil.cli.serve import serve
from vigil.errors import VigilError
from vigil.log import setup_logging


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
