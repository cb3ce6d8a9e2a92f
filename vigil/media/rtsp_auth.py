"""HTTP Digest authentication (RFC 2617, MD5, qop=auth or none) for RTSP, as cameras and VMSs speak it.

Nonces are stateless (a time stamp signed with a per-process key) and live 10 minutes; a stale one gets a
new challenge with `stale=true`, so a client re-authenticates without asking its user.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Generic, TypeVar

NONCE_TTL_S = 600
P = TypeVar("P")  # whoever a user name stands for (the catalog's User)
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


def _md5(s: str) -> str:
    return hashlib.md5(s.encode(), usedforsecurity=False).hexdigest()


def parse_authorization(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(rest)}


class DigestAuth(Generic[P]):
    def __init__(self, realm: str, lookup: Callable[[str], tuple[str, P] | None]) -> None:
        """`lookup(username)` gives the user's HA1 = MD5(user:realm:password) and whom the name stands for (handed
        on to whoever serves the request, so it is looked up once), or None."""
        self.realm = realm
        self.lookup = lookup
        self._key = secrets.token_bytes(32)

    def _nonce(self, t: int | None = None) -> str:
        t = int(time.time()) if t is None else t
        sig = hmac.new(self._key, str(t).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{t:x}{sig}"

    def _nonce_state(self, nonce: str) -> str:
        """valid | stale | bad"""
        t_hex, sig = nonce[:-24], nonce[-24:]
        try:
            t = int(t_hex, 16)
        except ValueError:
            return "bad"
        if not hmac.compare_digest(self._nonce(t)[-24:], sig):
            return "bad"
        return "valid" if time.time() - t < NONCE_TTL_S else "stale"

    def challenge(self, stale: bool = False) -> str:
        return (f'Digest realm="{self.realm}", nonce="{self._nonce()}", algorithm=MD5, qop="auth"'
                + (", stale=true" if stale else ""))

    def check(self, method: str, header: str | None) -> tuple[P | None, bool]:
        """(the authenticated user as `lookup` gave them, or None; whether the nonce was merely stale)."""
        p = parse_authorization(header or "")
        if p is None or not all(k in p for k in ("username", "nonce", "uri", "response")):
            return None, False
        state = self._nonce_state(p["nonce"])
        if state == "stale":
            return None, True
        found = self.lookup(p["username"])
        if found is None:
            return None, False
        ha1, who = found
        ha2 = _md5(f"{method}:{p['uri']}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        right = hmac.compare_digest(expected, p["response"].lower())
        if state == "bad":
            # A nonce we did not issue but the right digest: the client knows the password and answers another
            # server's challenge (another node's, which redirected it here). RFC 2617's stale=true makes it
            # answer ours without asking its user; a client that gives up on a plain 401 (FFmpeg) would fail.
            return None, right
        return (who if right else None), False
