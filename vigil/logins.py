"""Login throttling, and the one guard every password check passes (web, API, RTSP).

After too many failed logins for an account, or from one address, further attempts wait a growing time (30 s,
then doubling up to 15 min) — enough to stop password guessing, short enough that a user who mistyped is not
locked out for long. `LoginThrottle` is pure (the caller passes the clock, in wall-clock
seconds); `SharedThrottle` applies the same rules to failures kept in the catalog, for a cluster's nodes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.catalog import login_failures
from vigil.catalog.audit import AuditLog
from vigil.catalog.store import Catalog
from vigil.log import get_logger

log = get_logger(__name__)
WINDOW_S = 900.0  # failures older than this are forgotten


@dataclass
class LoginThrottle:
    max_per_account: int = 5
    max_per_address: int = 20  # higher: a whole office may log in from behind one address
    lock_s: float = 30.0
    max_lock_s: float = 900.0
    _fails: dict[str, deque[float]] = field(default_factory=dict)

    def _limit(self, key: str) -> int:
        return self.max_per_account if key.startswith("user:") else self.max_per_address

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and now - q[0] > WINDOW_S:
            q.popleft()
        if not q:
            del self._fails[key]
        return q

    def wait(self, keys: list[str], now: float) -> tuple[float, str | None]:
        """(seconds to wait, the key that is locked) — (0, None) when a login may be tried now."""
        worst: tuple[float, str | None] = (0.0, None)
        for key in keys:
            q = self._recent(key, now)
            over = len(q) - self._limit(key)
            if over < 0:
                continue
            lock = min(self.max_lock_s, self.lock_s * 2 ** over)
            left = q[-1] + lock - now
            if left > worst[0]:
                worst = (left, key)
        return worst

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            self._fails.setdefault(key, deque()).append(now)
        if len(self._fails) > 10_000:  # made-up user names must not grow this without end
            for key in list(self._fails):
                self._recent(key, now)

    def succeeded(self, key: str) -> None:
        """A good password clears the account's count (not the address's: guessing other accounts goes on)."""
        self._fails.pop(key, None)


class SharedThrottle:
    """LoginThrottle's rules over the catalog's failures: guessing spread over the nodes is counted as one."""

    def __init__(self, catalog: Catalog, rules: LoginThrottle) -> None:
        self.catalog = catalog
        self.rules = rules

    def wait(self, keys: list[str], now: float) -> tuple[float, str | None]:
        seen = login_failures.recent(self.catalog, keys, int((now - WINDOW_S) * 1000))
        view = LoginThrottle(self.rules.max_per_account, self.rules.max_per_address, self.rules.lock_s,
                             self.rules.max_lock_s, {k: deque(t / 1000 for t in ts) for k, ts in seen.items()})
        return view.wait(keys, now)

    def failed(self, keys: list[str], now: float) -> None:
        login_failures.add(self.catalog, keys, int(now * 1000), int((now - WINDOW_S) * 1000))

    def succeeded(self, key: str) -> None:
        login_failures.clear(self.catalog, key)


Throttle = LoginThrottle | SharedThrottle
Audit = Callable[[str, str | None, str, dict[str, Any]], None]


def audit_to(catalog: Catalog) -> Audit:
    """Login audit rows into the catalog's audit log; a failure to write one is logged, never raised (a full disk
    must not turn a refused login into a crash)."""
    def write(action: str, username: str | None, address: str, details: dict[str, Any]) -> None:
        try:
            AuditLog(catalog).add(action, username, address, None, None, details)
        except Exception as err:
            log.error("audit_write_failed", action=action, error=repr(err))

    return write


class LoginGuard:
    """The one path every password check Vigil answers goes through (web and API logins, RTSP Digest): the
    same throttle for each account and client address, and the same audit rows with the client's address and
    the channel. A guess on RTSP counts against the web login and the other way round."""

    def __init__(self, throttle: Throttle, audit: Audit) -> None:
        self.throttle = throttle
        self._audit = audit

    @staticmethod
    def keys(username: str, address: str) -> list[str]:
        return [f"user:{username.lower()}", f"addr:{address or '?'}"]

    def wait(self, username: str, address: str, via: str) -> tuple[float, str]:
        """(seconds to wait, what is locked: 'this account' | 'this address') — (0, '') when a try may go on.
        A refusal is audited."""
        wait, key = self.throttle.wait(self.keys(username, address), time.time())
        if wait <= 0:
            return 0.0, ""
        self._audit("login_throttled", None, address, {"username": username[:64], "via": via})
        return wait, "this account" if key and key.startswith("user:") else "this address"

    def failed(self, username: str, address: str, via: str, action: str = "login_failed") -> None:
        self.throttle.failed(self.keys(username, address), time.time())
        self._audit(action, None, address, {"username": username[:64], "via": via})

    def succeeded(self, username: str) -> None:
        self.throttle.succeeded(self.keys(username, "")[0])
