"""What the plain ASGI middlewares (api/hardening.py, api/body_limit.py) share: the ASGI types and the request
facts read from a scope's headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # reads: no change, no audit row, no cross-site check


def header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


def uses_token(scope: Scope) -> bool:
    """A bearer token: a script, not a browser."""
    return (header(scope, b"authorization") or "").lower().startswith("bearer ")


def has_session_cookie(scope: Scope, session_cookie: str) -> bool:
    return f"{session_cookie}=" in (header(scope, b"cookie") or "")


def foreign_source(scope: Scope, source: str) -> bool:
    """Whether an Origin or Referer names a site other than the Host this request came to."""
    return source == "null" or urlsplit(source).netloc != (header(scope, b"host") or "")
