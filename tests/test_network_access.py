"""Network access: HTTPS (a self-signed certificate made on first start, Secure cookies, a plain HTTP listener
that only redirects) and the IP filter on the API, its WebSockets and RTSP out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from cryptography import x509

from tests.helpers import ADMIN_PASSWORD, Server, free_port, running


def test_https_self_signed_secure_cookie_and_redirect(tmp_path: Path) -> None:
    plain = free_port()
    srv = Server(tmp_path, [], api={"tls": {"enabled": True, "redirect_http": f"127.0.0.1:{plain}"}})
    with running(srv):
        cert_path = tmp_path / "tls" / "vigil-selfsigned.crt"
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
        assert (tmp_path / "tls" / "vigil-selfsigned.key").stat().st_mode & 0o077 == 0
        # The certificate a client receives is that one, and it verifies when the client trusts it.
        ctx = ssl.create_default_context(cafile=str(cert_path))
        with httpx.Client(base_url=srv.base, verify=ctx) as c:
            assert c.get("/api/health").status_code == 200
            r = c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
            assert r.status_code == 200
            cookie = r.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie
        r = httpx.get(f"http://127.0.0.1:{plain}/api/cameras?x=1", follow_redirects=False)
        assert r.status_code == 308 and r.headers["location"] == f"https://127.0.0.1:{srv.port}/api/cameras?x=1"
        # Plain HTTP on the TLS port gets nothing useful.
        try:
            bad = httpx.get(f"http://127.0.0.1:{srv.port}/api/health", timeout=5)
            assert bad.status_code >= 400
        except httpx.HTTPError:
            pass


def test_ip_filter_rules() -> None:
    from vigil.ipfilter import IpFilter

    assert IpFilter().allows("203.0.113.9") and IpFilter().allows(None)
    f = IpFilter(allow=["192.168.1.0/24", "10.0.0.7", "fd00::/8"], block=["192.168.1.66"])
    assert f.allows("192.168.1.20") and f.allows("10.0.0.7") and f.allows("fd00::1")
    assert not f.allows("192.168.1.66") and not f.allows("10.0.0.8") and not f.allows("8.8.8.8")
    assert f.allows("::ffff:192.168.1.20")  # an IPv4 client on a dual-stack socket
    assert not f.allows("testclient") and not f.allows(None)  # filtering on: no address, no entry
    assert not IpFilter(block=["0.0.0.0/0"]).allows("127.0.0.1")
    with pytest.raises(ValueError, match="not an address or network"):
        IpFilter(allow=["192.168.1.300/24"])


def test_ip_filter_closes_api_websocket_and_rtsp(tmp_path: Path) -> None:
    srv = Server(tmp_path, [], api={"ip_allow": ["10.0.0.0/8"]})
    # The helper's start logs in from 127.0.0.1, which this filter refuses: start the process by hand.
    log = (tmp_path / "serve.log").open("ab")
    srv.proc = subprocess.Popen([sys.executable, "-m", "vigil.cli", "serve", "--config", str(srv.config)],
                                stdout=log, stderr=log, env={**os.environ, "VIGIL_ADMIN_PASSWORD": ADMIN_PASSWORD})
    try:
        deadline = time.monotonic() + 60
        r = None
        while r is None and time.monotonic() < deadline:
            try:
                r = httpx.get(srv.base + "/api/health", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert r is not None and r.status_code == 403 and "api.ip_allow" in r.json()["detail"]
        login = httpx.post(srv.base + "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 403

        async def ws() -> int | None:
            try:
                async with websockets.connect(f"ws://127.0.0.1:{srv.port}/api/events/live?token=x") as c:
                    await c.recv()
            except websockets.exceptions.InvalidStatus as err:
                return int(err.response.status_code)
            except websockets.exceptions.ConnectionClosed as err:
                return err.rcvd.code if err.rcvd else None
            return None

        assert asyncio.run(ws()) in (403, 1008)
        with socket.create_connection(("127.0.0.1", srv.rtsp_port), timeout=5) as sock:
            sock.sendall(b"OPTIONS rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(100) == b""  # closed without a word
    finally:
        srv.stop()
