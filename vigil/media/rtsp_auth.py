"""HTTP Digest authentication (RFC 2617, MD5, qop=auth or none) for RTSP, as cameras and VMSs speak it.

Nonces are stateless (a time stamp and the connection they were issued on, signed with a per-process key) and
live 10 minutes. What makes a captured `Authorization` header worthless to someone else:
- a nonce is good only on the connection it was issued on: on another connection (a replay) it is answered
  with a fresh challenge, as a stale one is (`stale=true`: a real client answers it without asking its user);
- the digest covers the request's URI, and `uri` must name the URL of the request it comes with;
- with qop=auth, each request's `nc` must be higher than the last one on the connection.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote, urlsplit

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


def same_target(uri: str, url: str) -> bool:
    """Whether Digest's `uri` names the request's URL (absolute or as a path; trailing slashes aside)."""
    a, b = urlsplit(uri), urlsplit(url)
    return (unquote(a.path).rstrip("/"), a.query) == (unquote(b.path).rstrip("/"), b.query)


@dataclass(frozen=True)
class Verdict(Generic[P]):
    user: P | None = None  # whom the lookup found, when the response is right
    stale: bool = False  # answer with a fresh challenge marked stale: the client knows the password
    failed: bool = False  # a wrong password, an unknown user or a replay: counts towards the login limits
    username: str = ""


class DigestAuth(Generic[P]):
    def __init__(self, realm: str, lookup: Callable[[str], tuple[str, P] | None]) -> None:
        """`lookup(username)` gives the user's HA1 = MD5(user:realm:password) and whom the name stands for (handed
        on to whoever serves the request, so it is looked up once), or None."""
        self.realm = realm
        self.lookup = lookup
        self._key = secrets.token_bytes(32)

    def _nonce(self, t: int | None = None, bound: str = "") -> str:
        t = int(time.time()) if t is None else t
        sig = hmac.new(self._key, f"{t}:{bound}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"{t:x}{sig}"

    def _nonce_state(self, nonce: str, bound: str) -> str:
        """valid | stale | bad (not issued here, or on another connection)"""
        t_hex, sig = nonce[:-24], nonce[-24:]
        try:
            t = int(t_hex, 16)
        except ValueError:
            return "bad"
        if not hmac.compare_digest(self._nonce(t, bound)[-24:], sig):
            return "bad"
        return "valid" if time.time() - t < NONCE_TTL_S else "stale"

    def challenge(self, stale: bool = False, bound: str = "") -> str:
        """A challenge whose nonce is good on the connection `bound` names only."""
        return (f'Digest realm="{self.realm}", nonce="{self._nonce(bound=bound)}", algorithm=MD5, qop="auth"'
                + (", stale=true" if stale else ""))

    @staticmethod
    def username(header: str | None) -> str | None:
        p = parse_authorization(header or "")
        return p.get("username") if p else None

    def check(self, method: str, url: str, header: str | None, bound: str = "",
              counts: dict[str, int] | None = None) -> Verdict[P]:
        """The verdict on a request's `Authorization` header. `bound` names the connection; `counts` is that
        connection's highest `nc` per nonce (updated here)."""
        p = parse_authorization(header or "")
        if p is None or not all(k in p for k in ("username", "nonce", "uri", "response")):
            return Verdict()
        name = p["username"]
        state = self._nonce_state(p["nonce"], bound)
        if state == "stale":
            return Verdict(stale=True, username=name)
        found = self.lookup(name)
        if found is None:
            return Verdict(failed=True, username=name)
        ha1, who = found
        ha2 = _md5(f"{method}:{p['uri']}")
        if p.get("qop"):
            expected = _md5(f"{ha1}:{p['nonce']}:{p.get('nc', '')}:{p.get('cnonce', '')}:{p['qop']}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
        right = hmac.compare_digest(expected, p["response"].lower())
        if not right:
            return Verdict(failed=True, username=name)
        if state == "bad":
            # The right digest for a nonce not issued on this connection: another node's challenge (before its
            # redirect here), or a header captured and replayed. Either way the client must answer a fresh
            # challenge, which only one who knows the password can.
            return Verdict(stale=True, username=name)
        if not same_target(p["uri"], url):
            return Verdict(failed=True, username=name)  # a digest made for another path
        if p.get("qop") and counts is not None:
            try:
                nc = int(p.get("nc", ""), 16)
            except ValueError:
                return Verdict(failed=True, username=name)
            if nc <= counts.get(p["nonce"], 0):
                return Verdict(failed=True, username=name)  # the same request again: a replay
            counts[p["nonce"]] = nc
        return Verdict(user=who, username=name)
