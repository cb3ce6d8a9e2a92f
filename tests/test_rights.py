"""Roles and per-camera rights: a camera outside a user's set does not exist for them, in every route; each
role does what it may and nothing more."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.test_auth import all_routes
from vigil.api import rights
from vigil.api.app import PUBLIC_PATHS, create_app
from vigil.catalog.accounts import add_user
from vigil.config import parse_config
from vigil.nvr import Vigil

PASSWORD = "correct-horse-battery"


def test_the_role_table_names_real_routes_and_defaults_to_admin(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", PASSWORD)
    vigil = Vigil(parse_config({"storage": {"path": str(tmp_path / "rec")}}, environ={}))
    app = create_app(vigil)
    changes = {f"{m} {p}" for p, ms in all_routes(app.routes) for m in ms - {"GET", "HEAD", "OPTIONS"}}
    # Every name in the table is a route (a typo would silently make it admin-only).
    assert not rights.OPERATOR_CHANGES - changes and not rights.OWN_ACCOUNT - changes
    assert rights.minimum_role("DELETE", "/api/cameras/{camera_id}") == "admin"
    assert rights.minimum_role("POST", "/api/some/new/route") == "admin"  # unknown changes are an admin's
    assert rights.minimum_role("POST", "/api/exports") == "operator"
    assert rights.minimum_role("GET", "/api/cameras/{camera_id}/playlist.m3u8") == "viewer"
    assert rights.minimum_role("GET", "/api/audit") == "admin"
    assert rights.minimum_role("GET", "/api/faces/databases") == "operator"
    assert rights.minimum_role("POST", "/api/auth/password") == "viewer"
    vigil.catalog.close()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Vigil, TestClient]]:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", PASSWORD)
    cams = [{"id": c, "url": f"rtsp://127.0.0.1:9/{c}", "enabled": False} for c in ("yard", "vault")]
    vigil = Vigil(parse_config({"storage": {"path": str(tmp_path / "rec")}, "cameras": cams}, environ={}))
    vigil.start()
    add_user(vigil.catalog, "olga", "operator-pw-1", role="operator", cameras=["yard"])
    add_user(vigil.catalog, "vic", "viewer-pw-12", role="viewer")
    app = create_app(vigil)
    with TestClient(app) as admin:
        assert admin.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).status_code == 200
        yield vigil, admin
    vigil.stop()


def login(client: TestClient, user: str, password: str) -> TestClient:
    c = TestClient(client.app)
    assert c.post("/api/auth/login", json={"username": user, "password": password}).status_code == 200
    return c


def test_a_camera_outside_the_set_does_not_exist(site: tuple[Vigil, TestClient]) -> None:
    vigil, admin = site
    yard = vigil.bus.publish("external", "at the yard", camera_id="yard", severity="alarm")
    vault = vigil.bus.publish("external", "at the vault", camera_id="vault", severity="alarm")
    system = vigil.bus.publish("disk_low", "disk", severity="critical")
    olga = login(admin, "olga", "operator-pw-1")
    assert [c["id"] for c in olga.get("/api/cameras").json()] == ["yard"]
    for path in ("/api/cameras/vault", "/api/cameras/vault/timeline", "/api/cameras/vault/recordings",
                 "/api/cameras/vault/snapshot.jpg", "/api/cameras/vault/playlist.m3u8",
                 "/api/cameras/vault/counts", f"/api/events/{vault.id}", "/api/events?camera=vault",
                 "/api/search?camera=vault", "/api/cameras/vault/smart", "/api/cameras/vault/heatmap"):
        r = olga.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text)
    # The same 404 as a camera that does not exist at all: nothing tells them it is there.
    assert olga.get("/api/cameras/vault").json()["detail"] == olga.get("/api/cameras/nope").json()["detail"].replace(
        "nope", "vault")
    ids = {e["id"] for e in olga.get("/api/events").json()}
    assert yard.id in ids and vault.id not in ids and system.id not in ids
    hits = olga.get("/api/search", params={"start": 0}).json()["hits"]
    assert {h["camera_id"] for h in hits} == {"yard"}
    assert olga.post("/api/tags", json={"camera": "vault", "at": "2026-01-01T00:00:00Z", "text": "x"}
                     ).status_code == 404
    assert olga.post("/api/exports", json={"cameras": ["vault"], "start": "0", "end": "1000",
                                           "target": {"type": "folder", "path": "/tmp/x"}}).status_code == 404
    assert olga.post("/api/alarms/external", json={"source": "x", "camera": "vault"}).status_code == 404
    # Live events: only hers.
    token = olga.post("/api/auth/tokens", json={"name": "ws"}).json()["token"]
    with olga.websocket_connect(f"/api/events/live?token={token}") as ws:
        vigil.bus.publish("external", "vault again", camera_id="vault")
        vigil.bus.publish("external", "yard again", camera_id="yard")
        msg = ws.receive_json()
        assert msg["event"]["camera_id"] == "yard"
    from starlette.websockets import WebSocketDisconnect

    with olga.websocket_connect(f"/api/cameras/vault/live?token={token}") as ws, \
            pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_bytes()
    assert closed.value.code == 4404  # as for no such camera
    # An admin sees everything.
    assert {c["id"] for c in admin.get("/api/cameras").json()} == {"yard", "vault"}
    assert admin.get(f"/api/events/{vault.id}").status_code == 200


def test_roles(site: tuple[Vigil, TestClient]) -> None:
    _, admin = site
    olga = login(admin, "olga", "operator-pw-1")
    vic = login(admin, "vic", "viewer-pw-12")
    # The viewer watches: cameras, recordings, events; changes nothing but their own account.
    assert vic.get("/api/cameras").status_code == 200 and len(vic.get("/api/cameras").json()) == 2
    assert vic.get("/api/events").status_code == 200
    for method, path, body in (("PUT", "/api/system/arm", {"armed": True}),
                               ("POST", "/api/tags", {"camera": "yard", "at": "2026-01-01T00:00:00Z", "text": "x"}),
                               ("POST", "/api/cameras", {"id": "new", "url": "rtsp://127.0.0.1:9/x"}),
                               ("DELETE", "/api/cameras/yard", None), ("GET", "/api/faces/databases", None),
                               ("GET", "/api/users", None), ("GET", "/api/plates", None)):
        r = vic.request(method, path, json=body)
        assert r.status_code == 403 and "your role (viewer)" in r.json()["detail"], (method, path, r.text)
    assert vic.post("/api/auth/tokens", json={"name": "mine"}).status_code == 201
    # The operator arms, tags and exports; does not configure.
    assert olga.put("/api/system/arm", json={"armed": True}).status_code == 200
    assert olga.post("/api/tags", json={"camera": "yard", "at": "2026-01-01T00:00:00Z", "text": "x"}
                     ).status_code == 201
    assert olga.get("/api/plates").status_code == 200
    for method, path in (("POST", "/api/cameras"), ("PUT", "/api/cameras/yard/rules"), ("POST", "/api/plates"),
                         ("POST", "/api/users"), ("POST", "/api/cameras/test"), ("POST", "/api/onvif/discover")):
        r = olga.request(method, path, json={})
        assert r.status_code == 403 and "needs admin" in r.json()["detail"], (method, path, r.status_code)
    # The admin gives Vic one camera: from the next request on he sees only that one.
    assert admin.put("/api/users/vic", json={"cameras": ["vault"]}).json()["cameras"] == ["vault"]
    assert [c["id"] for c in vic.get("/api/cameras").json()] == ["vault"]
    assert admin.put("/api/users/vic", json={"all_cameras": True, "role": "operator"}).json()["cameras"] is None
    assert vic.put("/api/system/arm", json={"armed": False}).status_code == 200
    assert admin.put("/api/users/vic", json={"role": "root"}).status_code == 422


def test_every_route_is_covered_by_the_rights_check(site: tuple[Vigil, TestClient]) -> None:
    """A viewer limited to no camera gets, from every camera route, a 404 (or 403 for changes), never data."""
    vigil, admin = site
    add_user(vigil.catalog, "nobody", "nobody-pw-1", role="viewer", cameras=[])
    c = login(admin, "nobody", "nobody-pw-1")
    checked = 0
    for route_path, methods in all_routes(admin.app.routes):  # type: ignore[arg-type]
        if "{camera_id}" not in route_path or route_path in PUBLIC_PATHS:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: "yard" if m.group(1) == "camera_id" else "x", route_path)
        for method in methods - {"HEAD"}:
            r = c.request(method, path)
            assert r.status_code in (403, 404), (method, route_path, r.status_code)
            checked += 1
    assert checked >= 20
