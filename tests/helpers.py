"""Starting the real sim and a real `vigil serve` as processes, on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "test-admin-password"


def _port_range() -> tuple[int, int]:
    """Listening ports for this pytest process. Under pytest-xdist each worker takes its own range below Linux's
    ephemeral ports (32768+), so two workers never pick the same port and no outgoing connection takes one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        n = int(worker[2:])
        return 12000 + n * 5000, 12000 + (n + 1) * 5000 - 1
    return 0, 0


def free_port() -> int:
    low, high = _port_range()
    if not low:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {low}-{high}")


def free_block(n: int) -> int:
    """The first of n consecutive free loopback ports."""
    for _ in range(50):
        first = free_port()
        socks = []
        try:
            for p in range(first, first + n):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", p))
            return first
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError(f"no {n} consecutive free ports")


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (httpx.HTTPError, OSError):
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Sim:
    def __init__(self, tmp: Path, cameras: int = 2, codecs: str = "h264,hevc", size: str = "1920x1080",
                 sub: str = "640x360", loop_seconds: float = 4.0, rtsp_port: int = 0, http_port: int = 0,
                 live: str = "none", fps: int = 25, scenes: tuple[str, ...] = (), audio: bool = False,
                 scene_start: float = 0.0, onvif: bool = False, ptz: int = 0, discovery_port: int = 0,
                 state_dir: Path | None = None, onvif_port: int = 0, gop: float = 2.0) -> None:
        self.rtsp_port = rtsp_port or free_port()
        self.http_port = http_port or free_port()
        # ONVIF: camera i on onvif_port + i - 1 (a free block of ports)
        self.onvif_port = (onvif_port or free_block(cameras)) if onvif else 0
        self.args = [
            sys.executable, "-m", "vigil.cli", "sim", "--cameras", str(cameras), "--codec", codecs,
            "--size", size, "--sub-size", sub, "--live", live, "--loop-seconds", str(loop_seconds), "--fps", str(fps),
            "--rtsp-port", str(self.rtsp_port), "--http-port", str(self.http_port), "--gop", str(gop),
        ]
        for scene in scenes:
            self.args += ["--scene", scene]
        if audio:
            self.args.append("--audio")
        if scene_start:
            self.args += ["--scene-start", str(scene_start)]
        if onvif:
            self.args += ["--onvif-port", str(self.onvif_port), "--ptz", str(ptz),
                          "--discovery-port", str(discovery_port)]
            if state_dir is not None:
                self.args += ["--state-dir", str(state_dir)]
        self.env = {**os.environ, "VIGIL_SIM_CACHE": str(sim_cache())}
        self.log = tmp / f"sim-{self.rtsp_port}.log"
        self.proc: subprocess.Popen[str] | None = None

    def url(self, cam: int, sub: bool = False) -> str:
        return f"rtsp://127.0.0.1:{self.rtsp_port}/cam{cam}" + ("/sub" if sub else "")

    def control(self, cam: int, **query: str) -> None:
        httpx.get(f"http://127.0.0.1:{self.http_port}/control/cam{cam}", params=query, timeout=5).raise_for_status()

    def mjpeg_url(self, cam: int) -> str:
        return f"http://127.0.0.1:{self.http_port}/cam{cam}.mjpg"

    def start(self, timeout: float = 180) -> Sim:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log.open("a"), text=True,
                                     env=self.env)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and "ready" not in line:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError(f"sim exited: {self.log.read_text()[-2000:]}")
        assert "ready" in line, "sim did not become ready"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def sim_cache() -> Path:
    path = Path(os.environ.get("VIGIL_TEST_SIM_CACHE", ROOT / ".venv" / "sim-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class Server:
    """`vigil serve` in a subprocess, with its own config, storage and port."""

    def __init__(self, tmp: Path, cameras: list[dict[str, Any]], **extra: Any) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.rtsp_port = free_port()  # RTSP out
        self.config = tmp / "vigil.yml"
        data: dict[str, Any] = {
            "storage": {"path": "rec", "min_free_gb": 0, "retention_interval_seconds": 1},
            "api": {"listen": f"127.0.0.1:{self.port}"},
            "source": {"read_timeout_seconds": 2, "backoff_max_seconds": 1},
            "rtsp_out": {"listen": f"127.0.0.1:{self.rtsp_port}"},
            "cameras": cameras,
        }
        for key, value in extra.items():
            data.setdefault(key, {}).update(value) if isinstance(value, dict) else data.__setitem__(key, value)
        self.config.write_text(yaml.safe_dump(data))
        self.storage = tmp / "rec"
        self.db = tmp / "vigil.db"
        self.proc: subprocess.Popen[bytes] | None = None
        # With api.tls on, the self-signed certificate is not one httpx trusts: these calls skip the check.
        self.tls = bool(data["api"].get("tls", {}).get("enabled"))
        self.base = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}

    def start(self) -> Server:
        log = (self.tmp / "serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil.cli", "serve", "--config", str(self.config)], stdout=log, stderr=log,
            env={**os.environ, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD},
        )
        proc = self.proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError("vigil serve exited before it answered")
            return httpx.get(self.base + "/api/health", verify=not self.tls).status_code == 200

        try:
            wait_for(answers, 60, what="vigil serve to answer")
        except AssertionError as e:
            # The log's tail says why (a crash, a lock, a slow migration): CI keeps only what the test prints.
            tail = (self.tmp / "serve.log").read_text(errors="replace")[-3000:]
            state = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
            raise AssertionError(f"{e}; the server is {state}; its log ends:\n{tail}") from None
        self.login()
        return self

    def login(self) -> None:
        """Log in as the first-start admin and take an API token for the test's calls."""
        with httpx.Client(base_url=self.base, verify=not self.tls) as c:
            r = c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
            r.raise_for_status()
            token = c.post("/api/auth/tokens", json={"name": "tests"}).json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=self.headers, timeout=30, verify=not self.tls)

    def get(self, path: str, **params: Any) -> Any:
        # params=None, not {}: httpx replaces a query written in `path` with the params given, even none.
        r = httpx.get(self.base + path, params=params or None, headers=self.headers, timeout=10, verify=not self.tls)
        r.raise_for_status()
        return r.json()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log_text(self) -> str:
        return (self.tmp / "serve.log").read_text(errors="replace")


def listen_events(server: Server, seconds: float) -> list[dict[str, Any]]:
    """Every message of the live event WebSocket ({"kind": "new"|"update", "event": …}) for `seconds`. In a
    thread of its own: Playwright's session (the e2e tests) keeps an event loop on the main thread."""
    import asyncio
    import json
    import threading

    import websockets

    out: list[dict[str, Any]] = []

    async def listen() -> None:
        token = server.headers["Authorization"].split()[1]
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/api/events/live?token={token}") as ws:
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    break
                if msg["kind"] != "ping":
                    out.append(msg)

    listener = threading.Thread(target=asyncio.run, args=(listen(),))
    listener.start()
    listener.join()
    return out


@contextlib.contextmanager
def running(obj: Any) -> Iterator[Any]:
    try:
        yield obj.start()
    finally:
        obj.stop()
