"""Web hardening for every HTTP answer: a strict Content-Security-Policy (the UI is plain same-origin ES modules:
no inline script, no other origin), no MIME sniffing, no framing, no referrer; and a cross-site request check —
a state-changing request that rides on the session cookie must come from Vigil's own pages (its Origin, or
Referer, is this host). Bearer-token clients (scripts) are not browsers and are not checked. WebSocket upgrades
from another site's page are refused; request bodies are limited before they are read (api/body_limit.py).

A plain ASGI middleware, so streamed answers (MP4, HLS, exports) pass through unbuffered.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from vigil.api.asgi import (
    SAFE_METHODS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    foreign_source,
    has_session_cookie,
    header,
    uses_token,
)
from vigil.api.body_limit import counting, declared_too_large, limit_for
from vigil.ipfilter import IpFilter

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
# The API explorer (Swagger UI) is the one page with an inline script and a CDN; it holds no data of its own.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' "
            "'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
            "frame-ancestors 'none'")


def cross_site(scope: Scope, session_cookie: str) -> str | None:
    """Why a request must be refused as cross-site, or None."""
    if scope.get("method", "GET") in SAFE_METHODS:
        return None
    if not has_session_cookie(scope, session_cookie) or uses_token(scope):
        return None
    source = header(scope, b"origin") or header(scope, b"referer")
    if source is None:
        return None
    if source == "null":
        return "a request from an opaque origin"
    if foreign_source(scope, source):
        return f"a request from another site ({urlsplit(source).netloc or source}) with your session"
    return None


def same_origin(scope: Scope) -> str | None:
    """Why a WebSocket upgrade must be refused as coming from another site's page, or None. Browsers always send
    Origin on an upgrade and let any page open a socket to any host, cookies included; scripts send none."""
    origin = header(scope, b"origin")
    if origin is None:
        return None
    if foreign_source(scope, origin):
        return f"a WebSocket from another site ({origin})"
    return None


def _security_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]


async def _problem(send: Send, status: int, detail: str) -> None:
    """An answer made here (refusals, the last-resort 500), with the same security headers as every other."""
    body = json.dumps({"detail": detail, "status": status}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        *_security_headers(CSP)]})
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
                await _problem(send, 403, f"{client[0]} may not connect to this Vigil (api.ip_allow / ip_block)")
            return
        if scope["type"] != "http":
            if same_origin(scope) is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        why = cross_site(scope, self.session_cookie)
        if why is not None:
            await _problem(send, 403, f"refused {why}: use Vigil's own pages, or an API token")
            return
        limit = limit_for(scope, self.session_cookie)
        if (too_large := declared_too_large(scope, limit)) is not None:
            await _problem(send, 413, too_large)  # before a byte of the body is read
            return
        csp = DOCS_CSP if scope.get("path") == "/api/docs" else CSP
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_security_headers(csp)]
            await send(message)

        try:
            await self.app(scope, counting(receive, limit), with_headers)
        except Exception:
            # Starlette's last-resort 500 is made outside every middleware, without these headers: answer here,
            # and let the error go on to be logged.
            if not started:
                await _problem(send, 500, "internal error: the server log has the details")
            raise
