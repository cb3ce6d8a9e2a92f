"""Request-size limits, enforced before a body is read: a request that says it is too large (Content-Length) is
answered 413 at once; a body that arrives without a length is counted as it comes and cut off at the limit.

Limits depend on who asks and where: a request with no credentials at all may only log in (a few hundred
bytes), so it gets 64 KB — an attacker without a password cannot make the server read megabytes; photo uploads
(face enrolment and search) may carry 20 MB; everything else is JSON and gets 1 MB.
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException

from vigil.api.asgi import Message, Receive, Scope, has_session_cookie, header, uses_token

ANONYMOUS_BYTES = 64 * 1024
DEFAULT_BYTES = 1024 * 1024
PHOTO_BYTES = 20 * 1024 * 1024
PHOTO_ROUTES = re.compile(r"^/api/faces/(persons/\d+/images|search)$")


def limit_for(scope: Scope, session_cookie: str) -> int:
    """The most bytes this request's body may have (pure: the scope's path and headers decide)."""
    if not (has_session_cookie(scope, session_cookie) or uses_token(scope)):
        return ANONYMOUS_BYTES
    return PHOTO_BYTES if PHOTO_ROUTES.match(scope.get("path", "")) else DEFAULT_BYTES


def _too_large(limit: int) -> str:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"the request body is larger than {size}, the most this request may carry"


def declared_too_large(scope: Scope, limit: int) -> str | None:
    """The refusal when the request says (Content-Length) it is larger than `limit`, else None."""
    declared = header(scope, b"content-length") or ""
    return _too_large(limit) if declared.isdigit() and int(declared) > limit else None


def counting(receive: Receive, limit: int) -> Receive:
    """`receive` that refuses (413) once more than `limit` body bytes have come."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # An HTTPException passes FastAPI's body parsing unchanged (anything else becomes a 400).
                raise HTTPException(413, _too_large(limit))
        return message

    return counted
