"""Web hardening for every HTTP answer: a strict Content-Security-Policy (the UI is plain same-origin ES modules:
no inline script, no other origin), no MIME sniffing, no framing, no referrer; and a cross-site request check —
a state-changing request that rides on the session cookie must come from Vigil's own pages (its Origin, or
Referer, is this host). Bearer-token clients (scripts) are not browsers and are not checked.

A plain ASGI middleware, so streamed answers (MP4, HLS, exports) pass through unbuffered.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from vigil.ipfilter import IpFilter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
# The API explorer (Swagger UI) is the one page with an inline script and a CDN; it holds no data of its own.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' "
            "'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "frame-ancestors 'none'")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


def cross_site(scope: Scope, session_cookie: str) -> str | None:
    """Why a request must be refused as cross-site, or None."""
    if scope.get("method", "GET") in SAFE_METHODS:
        return None
    cookies = _header(scope, b"cookie") or ""
    if f"{session_cookie}=" not in cookies or (_header(scope, b"authorization") or "").lower().startswith("bearer "):
        return None
    host = _header(scope, b"host") or ""
    source = _header(scope, b"origin") or _header(scope, b"referer")
    if source is None or source == "null":
        return None if source is None else "a request from an opaque origin"
    if urlsplit(source).netloc != host:
        return f"a request from another site ({urlsplit(source).netloc or source}) with your session"
    return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail, "status": 403}).encode()
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class Hardening:
    def __init__(self, app: ASGIApp, session_cookie: str, ip_filter: IpFilter | None = None) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.ip_filter = ip_filter or IpFilter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or (None, 0)
        if not self.ip_filter.allows(client[0]):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _refuse(send, f"{client[0]} may not connect to this Vigil (api.ip_allow / ip_block)")
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        why = cross_site(scope, self.session_cookie)
        if why is not None:
            await _refuse(send, f"refused {why}: use Vigil's own pages, or an API token")
            return
        csp = DOCS_CSP if scope.get("path") == "/api/docs" else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
