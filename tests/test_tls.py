"""HTTPS: `vigil serve` on TLS with a self-signed certificate made on first start, Secure cookies, and a plain
HTTP listener that only redirects."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
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
