"""HTTPS for `vigil serve`: the configured certificate, or a self-signed one made on first start (kept, so
browsers that accepted it once keep accepting it), and an optional plain-HTTP listener that only redirects."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil.errors import ConfigError


def self_signed(cert: Path, key: Path, hosts: list[str]) -> None:
    """An EC P-256 certificate for `hosts` (names and IP addresses), valid ten years; the key file is 0600."""
    private = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vigil (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                   .add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    cert.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def certificate_files(cert_file: Path | None, key_file: Path | None, default_dir: Path, listen_host: str
                      ) -> tuple[Path, Path]:
    """The certificate and key to serve: the configured pair, or the self-signed pair (made when missing)."""
    if cert_file is not None or key_file is not None:
        if cert_file is None or key_file is None:
            raise ConfigError("api.tls: give both cert_file and key_file (PEM), or neither for a self-signed one")
        for p in (cert_file, key_file):
            if not p.is_file():
                raise ConfigError(f"api.tls: {p} does not exist or is not a file")
        return cert_file, key_file
    cert, key = default_dir / "vigil-selfsigned.crt", default_dir / "vigil-selfsigned.key"
    if not (cert.exists() and key.exists()):
        hosts = ["localhost", "127.0.0.1", socket.gethostname()]
        if listen_host not in ("0.0.0.0", "::", ""):
            hosts.insert(0, listen_host)
        self_signed(cert, key, hosts)
    return cert, key


Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def redirect_app(https_port: int) -> Callable[[Scope, Any, Send], Awaitable[None]]:
    """An ASGI app that sends every HTTP request to the same path over HTTPS (308 keeps the method)."""

    async def app(scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        host = next((bytes(v).decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "localhost")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"https://{name}:{https_port}{scope.get('path', '/')}" + (f"?{query}" if query else "")
        await send({"type": "http.response.start", "status": 308,
                    "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app
