"""`vigil demo` (what `make demo` runs): sim + Vigil on embedded defaults, playable recordings within 30 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import httpx

from tests.helpers import free_port, sim_cache, wait_for
from vigil.sim import face_photos
from vigil.sim.actors import photos_available


def test_demo_records_playable_segments(tmp: Path) -> None:
    port = free_port()
    env = {**os.environ, "VIGIL_SIM_CACHE": str(sim_cache())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "demo", "--dir", str(tmp / "demo"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 240
        seen_url, password = False, None
        while not (seen_url and password):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "demo exited early"
            assert time.monotonic() < deadline, "demo did not print its web address and first-start password"
            seen_url = seen_url or f"http://127.0.0.1:{port}/" in line
            if "with password:" in line:
                password = line.rsplit(":", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(base + "/api/health").status_code == 200, 30, what="the API")
        t0 = time.monotonic()
        client = httpx.Client(base_url=base)
        assert client.get("/api/cameras").status_code == 401
        login = client.post("/api/auth/login", json={"username": "admin", "password": password})
        assert login.status_code == 200 and login.json()["must_change_password"] is True
        # The printed first-start password opens nothing until it is changed.
        blocked = client.get("/api/cameras")
        assert blocked.status_code == 403 and "/api/auth/password" in blocked.json()["detail"]
        r = client.post("/api/auth/password", json={"current_password": password, "new_password": "demo-password-2"})
        assert r.status_code == 200 and r.json()["must_change_password"] is False

        def playable() -> list[dict[str, object]]:
            out = []
            for cam in client.get("/api/cameras").json():
                segs = client.get(f"/api/cameras/{cam['id']}/recordings").json()["segments"]
                out += [s for s in segs if s["status"] == "closed"]
            return out

        segs = wait_for(playable, 30, interval=1, what="closed segments")
        assert time.monotonic() - t0 <= 30
        if photos_available():  # the AI demo camera, analysed, with its tripwires drawn
            gate = client.get("/api/cameras/gate").json()
            assert gate["analytics"] is True
            assert [r["id"] for r in client.get("/api/cameras/gate/rules").json()] == ["gate-in", "cars"]
            # Counting and ANPR demo cameras, with the counting line and the plate lists set up.
            assert [r["kind"] for r in client.get("/api/cameras/shop/rules").json()] == ["counter"]
            assert {p["plate"]: p["list"] for p in client.get("/api/plates").json()} == {
                "KX19ABC": "block", "BD51SMR": "allow"}
        if photos_available() and face_photos.available():
            # The faces demo: a door camera and two face databases with their people enrolled.
            assert client.get("/api/cameras/door").status_code == 200
            dbs = {d["name"]: d for d in client.get("/api/faces/databases").json()}
            assert dbs["staff"]["images"] == 2 and dbs["banned"]["kind"] == "block"
        # The PTZ demo camera, with its ONVIF service (the password never shown).
        ptz = client.get("/api/cameras/ptz1").json()
        assert ptz["onvif"]["username"] == "admin" and "password" not in ptz["onvif"]
        page = httpx.get(base + "/")
        assert page.status_code == 200 and "Vigil" in page.text
        data = client.get(str(segs[0]["url"])).content
        f = tmp / "seg.mp4"
        f.write_bytes(data)
        with av.open(str(f)) as c:
            assert sum(1 for _ in c.decode(video=0)) > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
