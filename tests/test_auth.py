"""Every route but health and login needs a user; login, cookies and bearer tokens work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from vigil.api.app import PUBLIC_PATHS, create_app
from vigil.catalog.accounts import add_user, set_password
from vigil.config import parse_config
from vigil.nvr import Vigil

PASSWORD = "correct-horse-battery"


@pytest.fixture
def app_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Vigil]]:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", PASSWORD)
    cfg = parse_config({"storage": {"path": str(tmp_path / "rec")}}, environ={})
    vigil = Vigil(cfg)
    vigil.start()
    with TestClient(create_app(vigil)) as client:
        yield client, vigil
    vigil.stop()


def all_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, through included routers (FastAPI wraps them since 0.16x)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods)
        elif hasattr(route, "original_router"):
            inner = prefix + getattr(route.include_context, "prefix", "")
            yield from all_routes(route.original_router.routes, inner)
        elif hasattr(route, "path") and hasattr(route, "methods") and route.methods:
            yield prefix + route.path, set(route.methods)


def test_every_route_is_protected(app_client: tuple[TestClient, Vigil]) -> None:
    client, _ = app_client
    checked = 0
    routes = list(all_routes(client.app.routes))  # type: ignore[attr-defined]
    # The walk must see the documented routes at least: a broken walk must not pass as "all protected".
    documented = {p for p in client.app.openapi()["paths"]}  # type: ignore[attr-defined]
    assert documented <= {p for p, _ in routes}
    for route_path, methods in routes:
        path = re.sub(r"\{(\w+)\}", lambda m: "0" if m.group(1) in ("seg_id", "index", "tag_id") else "x", route_path)
        for method in methods - {"HEAD"}:
            r = client.request(method, path)
            if route_path in PUBLIC_PATHS:
                assert r.status_code != 401, route_path
            else:
                assert r.status_code == 401, f"{method} {route_path} answered {r.status_code} without a login"
                checked += 1
    assert checked >= 20


def test_login_cookie_token_and_wrong_passwords(app_client: tuple[TestClient, Vigil]) -> None:
    client, vigil = app_client
    bad_user = client.post("/api/auth/login", json={"username": "nobody", "password": PASSWORD})
    bad_pass = client.post("/api/auth/login", json={"username": "admin", "password": "wrong-password"})
    assert bad_user.status_code == bad_pass.status_code == 401
    assert bad_user.json()["detail"] == bad_pass.json()["detail"]  # no hint which part was wrong
    r = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/cameras").status_code == 200
    token = client.post("/api/auth/tokens", json={"name": "script"}).json()["token"]
    client.post("/api/auth/logout")
    client.cookies.clear()
    assert client.get("/api/cameras").status_code == 401
    assert client.get("/api/cameras", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/cameras", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/docs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    spec = client.get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    assert "/api/cameras/{camera_id}/playlist.m3u8" in spec["paths"]
    # A new password ends browser sessions.
    client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert client.get("/api/auth/me").status_code == 200
    set_password(vigil.catalog, "admin", "another-password")
    assert client.get("/api/auth/me").status_code == 401


def test_users_rules(app_client: tuple[TestClient, Vigil]) -> None:
    from vigil.errors import ConfigError

    _, vigil = app_client
    with pytest.raises(ConfigError, match="8 characters"):
        add_user(vigil.catalog, "bob", "short")
    with pytest.raises(ConfigError, match="exists already"):
        add_user(vigil.catalog, "admin", "long-enough-pw")
    with pytest.raises(ConfigError, match="role"):
        add_user(vigil.catalog, "eve", "long-enough-pw", role="root")


def test_users_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "vigil.yml"
    cfg.write_text(f"storage:\n  path: {tmp_path / 'rec'}\n")

    def vigil(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vigil.cli", "users", *args, "--config", str(cfg)],
                              capture_output=True, text=True, timeout=60)

    assert vigil("add", "alice", "--role", "operator", "--password", "alice-password").returncode == 0
    listed = vigil("list")
    assert listed.returncode == 0 and "alice\toperator" in listed.stdout
    dup = vigil("add", "alice", "--password", "alice-password")
    assert dup.returncode != 0 and "exists already" in dup.stderr
    assert vigil("passwd", "alice", "--password", "new-alice-password").returncode == 0
    missing = vigil("passwd", "bob", "--password", "whatever-long")
    assert missing.returncode != 0 and "no user 'bob'" in missing.stderr


def test_login_throttle_grows_and_forgets() -> None:
    from vigil.logins import LoginThrottle

    t = LoginThrottle(max_per_account=3, max_per_address=5, lock_s=30, max_lock_s=120)
    keys = ["user:alice", "addr:10.0.0.1"]
    for i in range(3):
        assert t.wait(keys, 100 + i) == (0.0, None)
        t.failed(keys, 100 + i)
    wait, key = t.wait(keys, 102)
    assert key == "user:alice" and wait == 30
    assert t.wait(["user:bob", "addr:10.0.0.2"], 102) == (0.0, None)  # others are not affected
    t.failed(keys, 133)  # one more after the lock: twice as long
    assert t.wait(keys, 133) == (60.0, "user:alice")
    t.failed(keys, 194)
    t.failed(keys, 315)
    assert t.wait(keys, 315)[0] == 120  # capped
    t.succeeded("user:alice")
    wait, key = t.wait(keys, 316)
    assert key == "addr:10.0.0.1" and wait > 0  # the address keeps its count: guessing other accounts
    assert t.wait(keys, 315 + 901) == (0.0, None)  # failures older than 15 min are forgotten


def test_lockout_password_change_and_sessions(app_client: tuple[TestClient, Vigil]) -> None:
    client, _ = app_client
    for _ in range(5):
        assert client.post("/api/auth/login", json={"username": "admin", "password": "wrong!"}).status_code == 401
    locked = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429 and "this account" in locked.json()["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= 31
    client.app.state.vigil.logins.succeeded("admin")  # type: ignore[attr-defined]  # (the 30 s passed)

    other = TestClient(client.app)
    assert other.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    assert client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    mine = client.get("/api/auth/sessions").json()
    assert len([s for s in mine if s["kind"] == "session"]) == 2 and sum(s["current"] for s in mine) == 1
    assert "token_hash" not in mine[0]
    wrong = client.post("/api/auth/password", json={"current_password": "nope-nope", "new_password": "new-pass-123"})
    assert wrong.status_code == 403
    r = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "new-pass-123"})
    assert r.status_code == 200
    assert client.get("/api/cameras").status_code == 200  # this browser goes on …
    assert other.get("/api/cameras").status_code == 401  # … the other session has ended
    same = client.post("/api/auth/password", json={"current_password": "new-pass-123", "new_password": "new-pass-123"})
    assert same.status_code == 409 and "differ" in same.json()["detail"]
    token = client.post("/api/auth/tokens", json={"name": "cron"}).json()["token"]
    row = next(s for s in client.get("/api/auth/sessions").json() if s["kind"] == "token")
    assert client.delete(f"/api/auth/sessions/{row['id']}").status_code == 204
    assert client.get("/api/cameras", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.delete("/api/auth/sessions/nope").status_code == 404


def test_first_start_password_must_be_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("VIGIL_ADMIN_PASSWORD", raising=False)
    cfg = parse_config({"storage": {"path": str(tmp_path / "rec")}}, environ={})
    vigil = Vigil(cfg)
    vigil.start()
    try:
        printed = capsys.readouterr().out
        password = printed.split("with password:")[1].split()[0]
        with TestClient(create_app(vigil)) as client:
            login = client.post("/api/auth/login", json={"username": "admin", "password": password})
            assert login.status_code == 200 and login.json()["must_change_password"] is True
            blocked = client.get("/api/cameras")
            assert blocked.status_code == 403 and "POST /api/auth/password" in blocked.json()["detail"]
            assert client.get("/api/auth/me").json()["must_change_password"] is True
            short = client.post("/api/auth/password", json={"current_password": password, "new_password": "short"})
            assert short.status_code == 422
            r = client.post("/api/auth/password", json={"current_password": password, "new_password": "my-own-pw-1"})
            assert r.status_code == 200 and r.json()["must_change_password"] is False
            assert client.get("/api/cameras").status_code == 200
    finally:
        vigil.stop()


def test_csp_headers_and_cross_site_requests(app_client: tuple[TestClient, Vigil]) -> None:
    client, _ = app_client
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    # The session cookie riding on a request from another site is refused; from Vigil's own page it works.
    evil = client.put("/api/system/arm", json={"armed": True}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "another site" in evil.json()["detail"]
    own = client.put("/api/system/arm", json={"armed": True}, headers={"Origin": "http://testserver"})
    assert own.status_code == 200
    referer = client.put("/api/system/arm", json={"armed": False}, headers={"Referer": "http://evil.example/x"})
    assert referer.status_code == 403
    token = client.post("/api/auth/tokens", json={"name": "t"}, headers={"Origin": "http://testserver"}).json()["token"]
    client.cookies.clear()  # a script with a token is no browser: no origin check
    r = client.put("/api/system/arm", json={"armed": False},
                   headers={"Authorization": f"Bearer {token}", "Origin": "https://elsewhere.example"})
    assert r.status_code == 200


def test_no_path_traversal_through_file_routes(app_client: tuple[TestClient, Vigil], tmp_path: Path) -> None:
    client, _ = app_client
    client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    # Files are served by catalog id (integers) or from the web folder; nothing a request names reaches the disk.
    for path in ("/web/..%2f..%2fpyproject.toml", "/web/../app.py", "/web/%2e%2e/api/app.py",
                 "/api/segments/..%2f..%2fvigil.db.mp4", "/api/events/..%2f1/snapshot.jpg",
                 "/api/faces/images/..%2f..%2fvigil.db.jpg"):
        r = client.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        assert b"[project]" not in r.content and b"import" not in r.content[:200]


def test_audit_log_records_logins_changes_and_watching(app_client: tuple[TestClient, Vigil]) -> None:
    client, vigil = app_client
    assert client.post("/api/auth/login", json={"username": "admin", "password": "wrong-one"}).status_code == 401
    assert client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
    client.put("/api/system/arm", json={"armed": True})
    client.post("/api/cameras", json={"id": "door", "url": "rtsp://u:topsecret@127.0.0.1:9/x", "enabled": False})
    client.get("/api/cameras/door/playback.mp4", params={"start": 0, "end": 1000})  # watching (404: nothing yet)
    client.get("/api/cameras")  # reading lists is not audited
    add_user(vigil.catalog, "olga", "operator-pw", role="operator")
    rows = client.get("/api/audit").json()
    actions = [r["action"] for r in rows]
    assert actions[:5] == ["GET /api/cameras/{camera_id}/playback.mp4", "POST /api/cameras",
                           "PUT /api/system/arm", "login", "login_failed"]
    assert all(r["username"] == "admin" for r in rows[:4]) and rows[4]["username"] is None
    assert rows[4]["details"]["username"] == "admin" and rows[0]["camera_id"] == "door" and rows[0]["status"] == 404
    assert rows[1]["status"] == 201 and "topsecret" not in str(rows)  # bodies are never logged
    assert "GET /api/cameras" not in actions
    assert [r["action"] for r in client.get("/api/audit", params={"action": "login"}).json()] == [
        "login", "login_failed"]
    # Only admins read it.
    olga = TestClient(client.app)
    olga.post("/api/auth/login", json={"username": "olga", "password": "operator-pw"})
    assert olga.get("/api/audit").status_code == 403
