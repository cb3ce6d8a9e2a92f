"""Security round 2 (issue 18): one regression test per finding of the outside probe, each through the real
server — HTTP, WebSocket and RTSP over loopback. RTSP is spoken raw where FFmpeg cannot express the attack."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
import websockets

from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for

PASSWORD = "probe-password-1"
REALM = "Vigil"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Sim]]:
    tmp = tmp_path_factory.mktemp("probe")
    sim = Sim(tmp, cameras=2, codecs="h264", size="640x360", sub="320x180", fps=10).start()
    cams = [{"id": f"cam{i}", "url": sim.url(i), "record": {"segment_seconds": 2}} for i in (1, 2)]
    server = Server(tmp, cams, api={"login_max_failures": 5, "login_max_failures_per_address": 1000,
                                    "login_lock_seconds": 60, "header_timeout_seconds": 2},
                    exports={"folders": [str(tmp / "exports")]}).start()
    with server.client() as admin:
        for name, role, cameras in (("victim", "viewer", None), ("replayer", "viewer", None),
                                    ("olga", "operator", ["cam2"]), ("vera", "viewer", ["cam1", "cam2"]),
                                    ("dora", "viewer", None)):
            admin.post("/api/users", json={"username": name, "password": PASSWORD, "role": role,
                                           **({"cameras": cameras} if cameras else {})}).raise_for_status()
    wait_for(lambda: all(c["state"] == "online" for c in server.get("/api/cameras")), 60, what="cameras online")
    try:
        yield server, sim
    finally:
        server.stop()
        sim.stop()


def token(server: Server, user: str) -> dict[str, str]:
    with httpx.Client(base_url=server.base) as c:
        r = c.post("/api/auth/login", json={"username": user, "password": PASSWORD})
        r.raise_for_status()
        return {"Authorization": f"Bearer {c.post('/api/auth/tokens', json={'name': 'probe'}).json()['token']}"}


def md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


def digest(method: str, uri: str, user: str, password: str, nonce: str, nc: int) -> str:
    ha1, ha2 = md5(f"{user}:{REALM}:{password}"), md5(f"{method}:{uri}")
    resp = md5(f"{ha1}:{nonce}:{nc:08x}:c0ffee:auth:{ha2}")
    return (f'Digest username="{user}", realm="{REALM}", nonce="{nonce}", uri="{uri}", response="{resp}", '
            f'qop=auth, nc={nc:08x}, cnonce="c0ffee"')


class RawRtsp:
    """RTSP requests written by hand, on one TCP connection."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.cseq = 0
        self.buf = b""

    def request(self, method: str, url: str, **headers: str) -> tuple[int, dict[str, str]]:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}"] + [f"{k.replace('_', '-')}: {v}"
                                                                     for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while True:
            while self.buf.startswith(b"$") and len(self.buf) >= 4:  # interleaved media: skip
                size = int.from_bytes(self.buf[2:4], "big")
                if len(self.buf) < 4 + size:
                    break
                self.buf = self.buf[4 + size:]
            if b"\r\n\r\n" in self.buf and not self.buf.startswith(b"$"):
                head, _, self.buf = self.buf.partition(b"\r\n\r\n")
                first, *rest = head.decode().split("\r\n")
                found = {k.strip().lower(): v.strip() for k, v in (r.split(":", 1) for r in rest if ":" in r)}
                length = int(found.get("content-length", "0"))
                while len(self.buf) < length:
                    self.buf += self.sock.recv(65536)
                self.buf = self.buf[length:]
                return int(first.split()[1]), found
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.buf += data

    def nonce(self, url: str) -> str:
        status, h = self.request("DESCRIBE", url)
        assert status == 401, status
        found = re.search(r'nonce="([^"]+)"', h["www-authenticate"])
        assert found is not None
        return found.group(1)

    def play(self, url: str, user: str) -> None:
        nonce = self.nonce(url)
        nc = iter(range(1, 100))
        assert self.request("DESCRIBE", url, Authorization=digest("DESCRIBE", url, user, PASSWORD, nonce,
                                                                     next(nc)))[0] == 200
        track = f"{url}/trackID=0"
        status, h = self.request("SETUP", track, Transport="RTP/AVP/TCP;unicast;interleaved=0-1",
                                 Authorization=digest("SETUP", track, user, PASSWORD, nonce, next(nc)))
        assert status == 200
        assert self.request("PLAY", url, Session=h["session"].split(";")[0],
                            Authorization=digest("PLAY", url, user, PASSWORD, nonce, next(nc)))[0] == 200

    def close(self) -> None:
        self.sock.close()


def audit(server: Server, action: str) -> list[dict[str, Any]]:
    return list(server.get("/api/audit", action=action, limit=1000))


def test_rtsp_password_guessing_is_throttled_like_the_web_login_and_audited(site: tuple[Server, Sim]) -> None:
    server, _ = site
    url = f"rtsp://127.0.0.1:{server.rtsp_port}/cam1"
    raw = RawRtsp(server.rtsp_port)
    try:
        nonce = raw.nonce(url)
        for nc in range(1, 6):
            status, _ = raw.request("DESCRIBE", url, Authorization=digest("DESCRIBE", url, "victim", "guess", nonce,
                                                                           nc))
            assert status == 401
        # The right password now waits, as the web login does.
        status, h = raw.request("DESCRIBE", url, Authorization=digest("DESCRIBE", url, "victim", PASSWORD, nonce, 6))
        assert status == 429 and int(h["retry-after"]) > 0, (status, h)
    finally:
        raw.close()
    web = httpx.post(server.base + "/api/auth/login", json={"username": "victim", "password": PASSWORD})
    assert web.status_code == 429, "a guess on RTSP counts against the web login too"
    failed = [r for r in audit(server, "login_failed") if r["details"].get("username") == "victim"]
    assert len(failed) == 5 and all(r["address"] == "127.0.0.1" and r["details"]["via"] == "rtsp" for r in failed)
    assert any(r["address"] == "127.0.0.1" for r in audit(server, "login_throttled"))


def test_a_captured_digest_header_cannot_be_replayed(site: tuple[Server, Sim]) -> None:
    server, _ = site
    cam1, cam2 = (f"rtsp://127.0.0.1:{server.rtsp_port}/cam{i}" for i in (1, 2))
    a, b = RawRtsp(server.rtsp_port), RawRtsp(server.rtsp_port)
    try:
        nonce = a.nonce(cam1)
        captured = digest("DESCRIBE", cam1, "replayer", PASSWORD, nonce, 1)
        assert a.request("DESCRIBE", cam1, Authorization=captured)[0] == 200
        assert a.request("DESCRIBE", cam1, Authorization=captured)[0] == 401, "the same nc twice"
        assert a.request("DESCRIBE", cam2, Authorization=digest("DESCRIBE", cam1, "replayer", PASSWORD, nonce,
                                                                   2))[0] == 401, "a header made for another path"
        status, h = b.request("DESCRIBE", cam1, Authorization=digest("DESCRIBE", cam1, "replayer", PASSWORD, nonce,
                                                                        7))
        assert status == 401 and "stale=true" in h["www-authenticate"], "another connection's nonce"
    finally:
        a.close()
        b.close()
    # FFmpeg, which answers the challenges as a camera client does, still plays.
    c = av.open(f"rtsp://replayer:{PASSWORD}@127.0.0.1:{server.rtsp_port}/cam1", options={"rtsp_transport": "tcp"},
                timeout=10)
    try:
        assert next(c.demux(c.streams.video[0])) is not None
    finally:
        c.close()


def test_bad_interleaved_channels_are_refused_and_other_clients_play_on(site: tuple[Server, Sim]) -> None:
    server, _ = site
    url = f"rtsp://127.0.0.1:{server.rtsp_port}/cam1"
    got: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        c = av.open(f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{server.rtsp_port}/cam1",
                    options={"rtsp_transport": "tcp"}, timeout=10)
        try:
            for _ in c.demux(c.streams.video[0]):
                got.append(time.monotonic())
                if stop.is_set():
                    break
        finally:
            c.close()

    viewer = threading.Thread(target=watch, daemon=True)
    viewer.start()
    wait_for(lambda: len(got) > 5, 20, what="the first viewer's packets")
    raw = RawRtsp(server.rtsp_port)
    try:
        nonce = raw.nonce(url)
        assert raw.request("DESCRIBE", url, Authorization=digest("DESCRIBE", url, "admin", ADMIN_PASSWORD, nonce,
                                                                    1))[0] == 200
        track = f"{url}/trackID=0"
        for n, transport in enumerate(("RTP/AVP/TCP;unicast;interleaved=300-301",
                                       "RTP/AVP/TCP;unicast;interleaved=x-y",
                                       "RTP/AVP/TCP;unicast;interleaved=255-256"), start=2):
            status, _ = raw.request("SETUP", track, Transport=transport,
                                    Authorization=digest("SETUP", track, "admin", ADMIN_PASSWORD, nonce, n))
            assert status == 461, (transport, status)
    finally:
        raw.close()
    since = time.monotonic()
    wait_for(lambda: sum(t > since for t in got) >= 20, 20, what="the other viewer to go on receiving")
    stop.set()
    viewer.join(10)


async def _closed_within(ws: Any, seconds: float) -> int:
    """The close code once the server closes the socket (fails after `seconds`)."""
    end = time.monotonic() + seconds
    while True:
        try:
            await asyncio.wait_for(ws.recv(), max(0.01, end - time.monotonic()))
        except websockets.ConnectionClosed as closed:
            return int(closed.rcvd.code) if closed.rcvd else -1
        except TimeoutError:
            raise AssertionError(f"the stream is still open {seconds} s later") from None


def test_open_streams_end_when_rights_are_taken_away(site: tuple[Server, Sim]) -> None:
    server, _ = site
    vera = token(server, "vera")["Authorization"].split()[1]
    ws_base = f"ws://127.0.0.1:{server.port}"

    async def live() -> None:
        async with websockets.connect(f"{ws_base}/api/cameras/cam1/live?token={vera}") as ws:
            await asyncio.wait_for(ws.recv(), 10)
            with server.client() as admin:
                admin.put("/api/users/vera", json={"cameras": ["cam2"]}).raise_for_status()
            assert await _closed_within(ws, 2.5) == 4404
        async with websockets.connect(f"{ws_base}/api/cameras/cam2/live?token={vera}") as ws, \
                websockets.connect(f"{ws_base}/api/events/live?token={vera}") as events:
            await asyncio.wait_for(ws.recv(), 10)
            with server.client() as admin:
                mine = [s for s in admin.get("/api/auth/sessions", params={"all_users": "true"}).json()
                        if s["username"] == "vera" and s["kind"] == "token"]
                for s in mine:
                    admin.delete(f"/api/auth/sessions/{s['id']}").raise_for_status()
            assert await _closed_within(ws, 2.5) == 4401
            assert await _closed_within(events, 2.5) == 4401

    asyncio.run(live())
    # RTSP out: a disabled account's stream ends within 2 s.
    raw = RawRtsp(server.rtsp_port)
    raw.sock.settimeout(5)
    try:
        raw.play(f"rtsp://127.0.0.1:{server.rtsp_port}/cam2", "vera")
        assert raw.sock.recv(65536)
        with server.client() as admin:
            admin.put("/api/users/vera", json={"disabled": True}).raise_for_status()
        t0 = time.monotonic()
        with pytest.raises((ConnectionError, OSError)):
            while time.monotonic() - t0 < 4:
                if not raw.sock.recv(65536):
                    raise ConnectionError("closed")
        assert time.monotonic() - t0 < 2.5
    finally:
        raw.close()
        with server.client() as admin:
            admin.put("/api/users/vera", json={"disabled": False, "cameras": ["cam1", "cam2"]})


def test_an_operator_cannot_acknowledge_another_cameras_event(site: tuple[Server, Sim]) -> None:
    server, _ = site
    with server.client() as admin:
        event = admin.post("/api/alarms/external", json={"source": "pir", "camera": "cam1"}).json()
    r = httpx.post(f"{server.base}/api/events/{event['id']}/ack", headers=token(server, "olga"))
    assert r.status_code == 404 and "pir" not in r.text
    assert "ack" not in server.get(f"/api/events/{event['id']}")["details"]


def test_forwarded_headers_from_loopback_are_not_believed(site: tuple[Server, Sim]) -> None:
    server, _ = site
    r = httpx.post(server.base + "/api/auth/login", json={"username": "nobody-xff", "password": "wrong-one"},
                   headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401
    rows = [a for a in audit(server, "login_failed") if a["details"].get("username") == "nobody-xff"]
    assert [a["address"] for a in rows] == ["127.0.0.1"]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_request_bodies_are_limited_before_they_are_read(site: tuple[Server, Sim]) -> None:
    server, _ = site
    assert server.proc is not None
    before = _rss_kb(server.proc.pid)
    # A 200 MB body announced, not one byte of it sent: the answer comes at once.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 209715200\r\n\r\n")
        head = s.recv(65536).decode()
    assert head.startswith("HTTP/1.1 413"), head
    assert "content-security-policy" in head.lower() and "nosniff" in head.lower()
    # 200 MB sent without a length (chunked), and no credentials: refused long before the end.
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % 65536 + b"[" * 65536 + b"\r\n"
        answer = b""
        s.settimeout(0.05)
        while sent < 200 * 1024 * 1024:
            try:
                s.sendall(chunk)
                sent += 65536
            except OSError:
                break
            try:
                answer = s.recv(65536)
                if answer:
                    break
            except TimeoutError:
                continue
        s.settimeout(5)
        answer = answer or s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 50 * 1024 * 1024, f"{sent} bytes went in before the refusal"
    # A logged-in user's photo upload may be bigger, up to 20 MB.
    r = httpx.post(server.base + "/api/faces/search", content=b"\xff" * (21 * 1024 * 1024),
                   headers={**server.headers, "Content-Type": "image/jpeg"})
    assert r.status_code == 413
    assert _rss_kb(server.proc.pid) - before < 20 * 1024


def test_refusals_carry_the_security_headers(site: tuple[Server, Sim]) -> None:
    server, _ = site
    with httpx.Client(base_url=server.base) as c:
        c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).raise_for_status()
        r = c.post("/api/system/arm", json={"armed": True}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert r.headers["x-content-type-options"] == "nosniff" and "default-src 'self'" in r.headers[
        "content-security-policy"]


def test_websockets_from_another_site_are_refused(site: tuple[Server, Sim]) -> None:
    server, _ = site
    tok = server.headers["Authorization"].split()[1]
    url = f"ws://127.0.0.1:{server.port}/api/events/live?token={tok}"

    async def connect(origin: str) -> None:
        async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send("hello")

    with pytest.raises(websockets.InvalidStatus):
        asyncio.run(connect("http://evil.example"))
    asyncio.run(connect(f"http://127.0.0.1:{server.port}"))


def test_operators_export_only_to_the_configured_places(site: tuple[Server, Sim]) -> None:
    server, _ = site
    olga = token(server, "olga")
    now = int(time.time() * 1000)
    window = {"cameras": ["cam2"], "start": str(now - 60_000), "end": str(now)}
    elsewhere = server.tmp / "elsewhere" / "x"
    r = httpx.post(server.base + "/api/exports", headers=olga,
                   json={**window, "target": {"type": "folder", "path": str(elsewhere)}})
    assert r.status_code == 403 and not elsewhere.parent.exists()
    r = httpx.post(server.base + "/api/exports", headers=olga,
                   json={**window, "target": {"type": "folder", "path": str(server.tmp / "exports" / "../elsewhere")}})
    assert r.status_code == 403
    r = httpx.post(server.base + "/api/exports", headers=olga, json={
        **window, "target": {"type": "s3", "bucket": "b", "endpoint_url": f"http://127.0.0.1:{server.port}"}})
    assert r.status_code == 403
    r = httpx.post(server.base + "/api/exports", headers=olga,
                   json={**window, "target": {"type": "folder", "path": str(server.tmp / "exports" / "olga")}})
    assert r.status_code == 202, r.text


def test_person_search_needs_the_whole_name_and_the_right_role(site: tuple[Server, Sim]) -> None:
    server, _ = site
    with server.client() as admin:
        db = admin.post("/api/faces/databases", json={"name": "staff"}).json()
        admin.post(f"/api/faces/databases/{db['id']}/persons", json={"name": "Alice Smith"}).raise_for_status()
    viewer, operator = token(server, "dora"), token(server, "olga")
    assert httpx.get(server.base + "/api/search", params={"person": "Alice Smith"}, headers=viewer).status_code == 403
    for guess in ("Alice", "%", "_lice Smith"):
        r = httpx.get(server.base + "/api/search", params={"person": guess}, headers=operator)
        assert r.status_code == 422, (guess, r.status_code)
    assert httpx.get(server.base + "/api/search", params={"person": "alice smith"},
                     headers=operator).status_code == 200


def test_bad_input_is_a_4xx_not_a_500(site: tuple[Server, Sim]) -> None:
    server, sim = site
    for body in (b'{"username": "\\ud800", "password": "x"}', b'{"username": "admin", "password": "\\ud800"}'):
        r = httpx.post(server.base + "/api/auth/login", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text
    seg = wait_for(lambda: server.get("/api/cameras/cam1/recordings")["segments"], 30, what="a segment")[0]
    r = httpx.get(f"{server.base}/api/segments/{seg['id']}/fragments/0.m4s",
                  params={"origin": "-9223372036854775808"}, headers=server.headers)
    assert r.status_code == 422, r.text
    for port in (server.port, sim.http_port):  # web servers that are not ONVIF devices
        r = httpx.post(server.base + "/api/onvif/probe", headers=server.headers, timeout=30,
                       json={"host": "127.0.0.1", "port": port, "username": "a", "password": "b"})
        assert 400 <= r.status_code < 500, r.text
    assert "Unclosed client session" not in server.log_text()
    assert "Traceback" not in server.log_text()


def test_users_can_be_disabled_and_deleted(site: tuple[Server, Sim]) -> None:
    server, _ = site
    dora = token(server, "dora")
    with server.client() as admin:
        assert admin.put("/api/users/dora", json={"disabled": True}).json()["disabled"] is True
        assert httpx.get(server.base + "/api/auth/me", headers=dora).status_code == 401, "tokens end at once"
        assert httpx.post(server.base + "/api/auth/login",
                          json={"username": "dora", "password": PASSWORD}).status_code == 401
        assert any(u["username"] == "dora" and u["disabled"] for u in admin.get("/api/users").json())
        admin.put("/api/users/dora", json={"disabled": False}).raise_for_status()
        assert httpx.post(server.base + "/api/auth/login",
                          json={"username": "dora", "password": PASSWORD}).status_code == 200
        assert admin.delete("/api/users/dora").status_code == 204
        assert all(u["username"] != "dora" for u in admin.get("/api/users").json())
        assert any(a["username"] == "dora" for a in audit(server, "login")), "the audit trail stays"
        r = admin.delete("/api/users/admin")
        assert r.status_code == 422 and "last enabled admin" in r.json()["detail"]
    cli = [sys.executable, "-m", "vigil.cli", "users"]
    done = subprocess.run([*cli, "disable", "olga", "--config", str(server.config)], capture_output=True, text=True,
                          cwd=server.tmp)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*cli, "list", "--config", str(server.config)], capture_output=True, text=True,
                            cwd=server.tmp)
    assert "olga\toperator\tdisabled" in listed.stdout
    subprocess.run([*cli, "enable", "olga", "--config", str(server.config)], check=True, capture_output=True,
                   cwd=server.tmp)
    assert json.loads(httpx.post(server.base + "/api/auth/login",
                                 json={"username": "olga", "password": PASSWORD}).text)["username"] == "olga"


def test_slow_request_headers_time_out(site: tuple[Server, Sim]) -> None:
    server, _ = site
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 6:
            try:
                s.sendall(b"X")  # a header that never ends, a byte at a time
                s.settimeout(0.5)
                if s.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - t0 < 4, "the connection should close 2 s after the request began"
    assert httpx.get(server.base + "/api/health").status_code == 200
