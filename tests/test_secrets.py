"""Camera passwords at rest: sealed in the catalog with a key kept outside it, never shown by the API."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vigil.api.app import create_app
from vigil.config import CameraConfig, parse_config
from vigil.errors import ConfigError
from vigil.nvr import Vigil

SECRET = "s3cr3t-cam-pw"


def test_camera_passwords_are_sealed_in_the_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ADMIN_PASSWORD", "admin-password-1")
    monkeypatch.delenv("VIGIL_SECRET_KEY", raising=False)
    data = {"storage": {"path": str(tmp_path / "rec")},
            "cameras": [{"id": "yard", "url": f"rtsp://admin:{SECRET}@127.0.0.1:9/main", "enabled": False}]}
    cfg = parse_config(data, environ={})
    vigil = Vigil(cfg)
    vigil.start()
    try:
        vigil.add_camera(CameraConfig.model_validate({
            "id": "door", "url": f"rtsp://op:{SECRET}@127.0.0.1:9/s1", "sub_url": f"rtsp://op:{SECRET}@127.0.0.1:9/s2",
            "enabled": False, "onvif": {"host": "127.0.0.1", "port": 9, "username": "op", "password": SECRET}}))
        with TestClient(create_app(vigil)) as client:
            client.post("/api/auth/login", json={"username": "admin", "password": "admin-password-1"})
            text = client.get("/api/cameras").text
            assert SECRET not in text and "op:***@" in text and "admin:***@" in text
    finally:
        vigil.stop()
    key = cfg.key_file
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "vigil.db") as db:
        rows = db.execute("select id, url, sub_url, settings from cameras").fetchall()
        dump = "\n".join(db.iterdump())
    assert len(rows) == 2 and SECRET not in dump  # not in any table, not even in the config camera's copy
    assert all(r[1].startswith("vigil-sealed:1:") for r in rows)

    # A restart reads them back: the API camera still has its password (and its ONVIF one).
    again = Vigil(cfg)
    again.start()
    try:
        door = again.cameras["door"]
        assert door.url.endswith(f"op:{SECRET}@127.0.0.1:9/s1") and door.onvif is not None
        assert door.onvif.password == SECRET
    finally:
        again.stop()

    # The catalog without its key says what is wrong instead of starting with cameras it cannot open.
    key.write_bytes(b"h8OZb8yDRPvJ2xX0WZ4Y1J9qgWw0o3m0mGqKuD5TdPk=")
    other = Vigil(cfg)
    with pytest.raises(ConfigError, match="sealed with another key"):
        other.start()
    other.stop()
