"""`vigil sim`: N synthetic cameras over RTSP (main + sub stream) and HTTP-MJPEG, on loopback.

Main streams replay a pre-encoded clip (so dozens of 1080p cameras cost little CPU);
sub-streams are encoded live with the wall clock burned in, unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import av
import cv2
import numpy as np

from vigil.log import get_logger
from vigil.media.rtp import parameter_sets
from vigil.media.rtsp_broadcast import AccessUnit, AudioTrack, Broadcaster
from vigil.media.rtsp_server import RtspServer
from vigil.sim import effects, prepacked
from vigil.sim.discovery import start_discovery
from vigil.sim.encode import Drawable, StreamSpec, encode_frames, loop_clip
from vigil.sim.onvif import OnvifDevice
from vigil.sim.ptz import PtzHead, PtzScene
from vigil.sim.scene import Scene
from vigil.sim.scripted import SCRIPTS, ScriptedScene

log = get_logger(__name__)


@dataclass
class SimConfig:
    cameras: int = 1
    host: str = "127.0.0.1"
    rtsp_port: int = 8564  # 8554 is Vigil's own RTSP out
    http_port: int = 8565
    codecs: list[str] = field(default_factory=lambda: ["h264"])
    main: StreamSpec = field(default_factory=StreamSpec)
    sub: StreamSpec | None = field(default_factory=lambda: StreamSpec(640, 360, 25, 2.0, "h264", 600_000))
    live: str = "sub"  # which streams are encoded live: none | sub | all
    loop_seconds: float = 10.0
    mjpeg_fps: int = 10
    # Camera i shows scripted scene scenes[i-1] (see sim.scripted) on one live stream, also served as its /sub.
    scenes: list[str] = field(default_factory=list)
    scene_spec: StreamSpec = field(default_factory=lambda: StreamSpec(640, 360, 10, 2.0, "h264", 800_000))
    audio: bool = False  # scripted-scene cameras also send sound (AAC): quiet room noise, a tone on effect "tone"
    scene_epoch: float = 0.0  # scripted scenes start their cycles at this wall-clock instant (epoch seconds)
    # ONVIF: camera i answers on onvif_port + i - 1 (0: no ONVIF), and WS-Discovery on discovery_port (0: none).
    onvif_port: int = 0
    onvif_user: str = "admin"
    onvif_password: str = "sim-pass"
    discovery_port: int = 0
    ptz: int = 0  # the last N cameras are PTZ cameras: both streams encoded live, showing the view ONVIF moves
    state_dir: Path | None = None  # where PTZ presets persist across restarts

    def urls(self) -> list[str]:
        out = []
        for i in range(1, self.cameras + 1):
            out.append(f"rtsp://{self.host}:{self.rtsp_port}/cam{i}")
            if self.sub is not None:
                out.append(f"rtsp://{self.host}:{self.rtsp_port}/cam{i}/sub")
            out.append(f"http://{self.host}:{self.http_port}/cam{i}.mjpg")
            if self.onvif_port:
                out.append(f"http://{self.host}:{self.onvif_port + i - 1}/onvif/device_service")
        return out


async def _play_loop(streams: list[Broadcaster], units: list[prepacked.PrepackedUnit], fps: int,
                     phases: int = 8) -> None:
    """Plays a prepacked clip on a loop to every camera that shows it, staggered over `phases` instants of a
    picture's interval as unsynchronised cameras are (all at one instant would wake every reader at once), on
    one timer: a wake-up per camera and picture cost the sim more than sending the pictures."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    step = 90_000 // fps
    groups = [streams[g::phases] for g in range(phases)]
    rate = fps * phases
    k = 0  # ticks: picture k // phases of group k % phases
    n = len(units)
    while True:
        delay = t0 + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            t0 = loop.time() - k / rate
        i = k // phases
        unit = units[i % n]
        for b in groups[k % phases]:
            prepacked.publish(b, unit, i * step)
        k += 1


def _live_thread(
    b: Broadcaster, spec: StreamSpec, scene: Drawable, loop: asyncio.AbstractEventLoop,
    stop: threading.Event,
) -> None:
    # A camera stamps each picture with the instant it captured it, so the RTP clock follows the picture's own
    # time even when a busy machine makes this thread drop frames (a frame counter would drift from the wall
    # clock the scripted scenes are drawn at, and from the scenes' ground truth).
    name = threading.current_thread().name
    first: float | None = None
    for frame in encode_frames(spec, scene, 0, live=True):
        if stop.is_set():
            return
        first = frame.captured if first is None else first
        if effects.effect_of(name) != "stop":  # "stop": the camera sends nothing (video loss)
            ts = round((frame.captured - first) * 90_000)
            loop.call_soon_threadsafe(b.publish, AccessUnit(frame.nals, frame.keyframe, ts))


def _first_keyframe_params(spec: StreamSpec, scene: Drawable) -> dict[str, bytes]:
    first = next(iter(encode_frames(spec, scene, 1)))
    return parameter_sets(spec.norm_codec, first.nals)


async def _live_broadcaster(spec: StreamSpec, scene: Drawable, path: str,
                            loop: asyncio.AbstractEventLoop, stop: threading.Event) -> Broadcaster:
    params = await asyncio.to_thread(_first_keyframe_params, spec, scene)
    b = Broadcaster(spec.norm_codec, params)
    threading.Thread(target=_live_thread, args=(b, spec, scene, loop, stop), daemon=True, name=path).start()
    return b


AUDIO_RATE = 16_000
AUDIO_FRAME = 1024  # samples per AAC frame (64 ms)


def _start_audio(b: Broadcaster, name: str, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
    """A microphone: quiet room noise (about -50 dBFS), or an 880 Hz tone at -8 dBFS while the effect is "tone";
    AAC frames paced in real time."""
    enc = av.CodecContext.create("aac", "w")
    enc.sample_rate, enc.layout, enc.format = AUDIO_RATE, "mono", "fltp"
    enc.time_base = Fraction(1, AUDIO_RATE)
    enc.open()
    b.audio = AudioTrack(AUDIO_RATE, 1, bytes(enc.extradata or b""))

    def run() -> None:
        rng = np.random.default_rng()
        t0, n = time.monotonic(), 0
        while not stop.is_set():
            if effects.effect_of(name) == "tone":
                k = np.arange(n, n + AUDIO_FRAME)
                pcm = (0.56 * np.sin(k * 2 * np.pi * 880 / AUDIO_RATE)).astype(np.float32)
            else:
                pcm = rng.normal(0, 0.003, AUDIO_FRAME).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(pcm[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, n, Fraction(1, AUDIO_RATE)
            for pkt in enc.encode(frame):
                loop.call_soon_threadsafe(b.publish_audio, bytes(pkt), int(pkt.pts or n))
            n += AUDIO_FRAME
            delay = t0 + n / AUDIO_RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    threading.Thread(target=run, daemon=True, name=f"{name}-audio").start()


class SimCameras:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.streams: dict[str, Broadcaster] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = threading.Event()
        self._rtsp: RtspServer | None = None
        self._http: asyncio.Server | None = None
        self.onvif: dict[str, OnvifDevice] = {}
        self._discovery: asyncio.DatagramTransport | None = None

    def _is_ptz(self, i: int) -> bool:
        return i > max(len(self.cfg.scenes), self.cfg.cameras - self.cfg.ptz)

    def _main_spec(self, i: int) -> StreamSpec:
        cfg = self.cfg
        if i <= len(cfg.scenes):
            return cfg.scene_spec
        if self._is_ptz(i):  # encoded live: 720p at the sub-stream's rate keeps a PTZ camera cheap
            fps = min(cfg.sub.fps, 15) if cfg.sub is not None else 10
            return StreamSpec(min(cfg.main.width, 1280), min(cfg.main.height, 720), fps, cfg.main.gop_seconds,
                              cfg.main.codec, 1_500_000)
        return cfg.main

    def _head(self, i: int) -> PtzHead:
        d = self.cfg.state_dir
        return PtzHead(d / f"ptz-cam{i}.json" if d is not None else None)

    async def start(self) -> None:
        cfg = self.cfg
        loop = asyncio.get_running_loop()
        heads = {i: self._head(i) for i in range(1, cfg.cameras + 1)}
        # a shared clip: its parameter sets, prepacked pictures, rate, and the cameras that play it
        clips: dict[str, tuple[dict[str, bytes], list[prepacked.PrepackedUnit], int, list[Broadcaster]]] = {}
        for i in range(1, cfg.cameras + 1):
            codec = cfg.codecs[(i - 1) % len(cfg.codecs)]
            if i <= len(cfg.scenes):
                spec = StreamSpec(**{**cfg.scene_spec.__dict__, "codec": codec})
                scene = await asyncio.to_thread(
                    ScriptedScene, spec.width, spec.height, f"CAM{i}", SCRIPTS[cfg.scenes[i - 1]], 7, cfg.scene_epoch)
                b = await _live_broadcaster(spec, scene, f"cam{i}", loop, self._stop)
                if cfg.audio:
                    _start_audio(b, f"cam{i}", loop, self._stop)
                self.streams[f"cam{i}"] = self.streams[f"cam{i}/sub"] = b
                continue
            specs = [("", StreamSpec(**{**self._main_spec(i).__dict__, "codec": codec}))]
            if cfg.sub is not None:
                specs.append(("/sub", StreamSpec(**{**cfg.sub.__dict__, "codec": codec})))
            ptz = self._is_ptz(i)
            for suffix, spec in specs:
                path = f"cam{i}{suffix}"
                live = ptz or cfg.live == "all" or (cfg.live == "sub" and suffix == "/sub")
                label = f"CAM{i}{suffix.upper().replace('/', ' ')}"
                if live:
                    drawable: Drawable = (PtzScene(spec.width, spec.height, label, heads[i]) if ptz
                                          else Scene(spec.width, spec.height, label, noise=False))
                    b = await _live_broadcaster(spec, drawable, path, loop, self._stop)
                else:
                    # One shared clip per stream kind: 64 cameras cost one encode and one packetisation, not 64.
                    clip_label = f"SIM {spec.norm_codec.upper()}{suffix.upper().replace('/', ' ')}"
                    kind = f"{clip_label} {spec!r}"
                    if kind not in clips:
                        clip = await asyncio.to_thread(loop_clip, spec, cfg.loop_seconds, clip_label)
                        units = prepacked.prepack(spec.norm_codec, [(f.nals, f.keyframe) for f in clip.frames])
                        clips[kind] = (clip.params, units, spec.fps, [])
                    params, _, _, players = clips[kind]
                    b = Broadcaster(spec.norm_codec, params)
                    players.append(b)
                self.streams[path] = b
        for _, units, fps, players in clips.values():
            self._tasks.append(asyncio.create_task(_play_loop(players, units, fps)))
        self._rtsp = RtspServer(cfg.host, cfg.rtsp_port, self.streams)
        await self._rtsp.start()
        self._http = await asyncio.start_server(self._mjpeg, cfg.host, cfg.http_port, reuse_address=True)
        if cfg.onvif_port:
            await self._start_onvif(heads)

    async def _start_onvif(self, heads: dict[int, PtzHead]) -> None:
        cfg = self.cfg
        if cfg.state_dir is not None:
            cfg.state_dir.mkdir(parents=True, exist_ok=True)
        for i in range(1, cfg.cameras + 1):
            scripted = i <= len(cfg.scenes)
            main = self._main_spec(i)
            sub = None if scripted or cfg.sub is None else cfg.sub
            codec = cfg.codecs[(i - 1) % len(cfg.codecs)]
            dev = OnvifDevice(
                f"cam{i}", cfg.host, cfg.onvif_port + i - 1, f"rtsp://{cfg.host}:{cfg.rtsp_port}/cam{i}",
                f"rtsp://{cfg.host}:{cfg.rtsp_port}/cam{i}/sub" if sub is not None else None,
                (main.width, main.height), (sub.width, sub.height) if sub is not None else None,
                "H265" if codec in ("hevc", "h265") else "H264", cfg.onvif_user, cfg.onvif_password, heads[i],
                ptz=self._is_ptz(i))
            await dev.start()
            self.onvif[f"cam{i}"] = dev
        if cfg.discovery_port:
            self._discovery = await start_discovery(list(self.onvif.values()), cfg.host, cfg.discovery_port)

    async def close(self) -> None:
        self._stop.set()
        for t in self._tasks:
            t.cancel()
        if self._rtsp is not None:
            await self._rtsp.close()
        if self._http is not None:
            self._http.close()
        if self._discovery is not None:
            self._discovery.close()
        for dev in self.onvif.values():
            await dev.close()

    async def _control(self, path: str, writer: asyncio.StreamWriter) -> None:
        """`GET /control/cam1?effect=blank`: the fault camera 1 shows from now on (see sim/effects.py);
        `?event=motion[&value=false]`: an analytics event the camera raises over ONVIF (see sim/onvif.py)."""
        parts = urlsplit(path)
        camera = parts.path.removeprefix("/control/")
        query = parse_qs(parts.query)
        try:
            if "event" in query:
                dev = self.onvif.get(camera)
                if dev is None:
                    raise ValueError(f"{camera} has no ONVIF service (start the sim with --onvif-port)")
                event = query["event"][0]
                dev.raise_event(event, query.get("value", [None])[0])
                status, body = "200 OK", f'{{"camera": "{camera}", "event": "{event}"}}'
            else:
                effect = query.get("effect", ["none"])[0]
                effects.set_effect(camera, effect)
                status, body = "200 OK", f'{{"camera": "{camera}", "effect": "{effect}"}}'
        except ValueError as err:
            status, body = "400 Bad Request", f'{{"detail": "{err}"}}'
        writer.write(f"HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                     f"{body}".encode())
        await writer.drain()

    async def _mjpeg(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP multipart/x-mixed-replace, as IP cameras serve MJPEG."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1].decode()
            if path.startswith("/control/"):
                await self._control(path, writer)
                return
            if path == "/sessions":  # how many RTSP clients play each path: what a camera would count
                counts = {name: len(b.clients) for name, b in (self._rtsp.streams if self._rtsp else {}).items()}
                body = json.dumps(counts)
                writer.write(f"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                             f"\r\n\r\n{body}".encode())
                await writer.drain()
                return
            name = path.strip("/").removesuffix(".mjpg")
            if not name.startswith("cam") or name[3:] not in {str(i) for i in range(1, self.cfg.cameras + 1)}:
                writer.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            boundary = "vigilframe"
            writer.write(
                f"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary={boundary}\r\n"
                "Cache-Control: no-cache\r\n\r\n".encode()
            )
            scene = Scene(640, 360, name.upper() + " MJPEG", noise=False)
            fps = self.cfg.mjpeg_fps
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            i = 0
            while True:
                img = scene.draw(i, fps, time.time())
                _, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
                data = jpg.tobytes()
                writer.write(
                    f"--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )
                await writer.drain()
                i += 1
                await asyncio.sleep(max(0.0, t0 + i / fps - loop.time()))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def run_sim(cfg: SimConfig) -> None:
    sim = SimCameras(cfg)
    await sim.start()
    print("vigil sim ready: " + " ".join(cfg.urls()), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.close()
