"""Editing a camera from the Cameras page (PATCH) changes what the form shows and keeps what it does not: the
analysis' masks, rate and face settings survive switching analytics off and on, and a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import Server, running
from vigil.api.cameras import merge
from vigil.catalog.store import Catalog
from vigil.secretbox import SecretBox

MASK = [[0, 0], [0.5, 0], [0.5, 0.1], [0, 0.1]]


def stored(srv: Server, camera_id: str) -> dict[str, Any]:
    """The camera as the catalog keeps it (what the next start loads)."""
    cat = Catalog(f"sqlite:///{srv.db}", SecretBox.load(srv.tmp / "vigil.key"))
    try:
        return next(c for c in cat.api_cameras() if c["id"] == camera_id)
    finally:
        cat.close()


def test_merge_keeps_what_the_change_does_not_name() -> None:
    base = {"a": 1, "s": {"x": 1, "y": [1, 2]}}
    assert merge(base, {"s": {"x": 2}}) == {"a": 1, "s": {"x": 2, "y": [1, 2]}}
    assert merge(base, {"s": {"y": [3]}, "b": None}) == {"a": 1, "s": {"x": 1, "y": [3]}, "b": None}
    assert base == {"a": 1, "s": {"x": 1, "y": [1, 2]}}  # not changed in place


def test_patch_keeps_the_settings_the_form_does_not_show(tmp_path: Path) -> None:
    srv = Server(tmp_path, [])
    cam = {"id": "gate", "url": "rtsp://127.0.0.1:9/none", "record": {"segment_seconds": 4},
           "analytics": {"enabled": True, "fps": 3, "motion_masks": [MASK], "faces": True}}
    with running(srv), srv.client() as c:
        assert c.post("/api/cameras", json=cam).status_code == 201
        r = c.patch("/api/cameras/gate", json={"name": "Gate", "analytics": {"enabled": False},
                                               "record": {"max_days": 7}})
        assert r.status_code == 200 and r.json()["analytics"] is False and r.json()["name"] == "Gate", r.text
        assert c.patch("/api/cameras/gate", json={"analytics": {"enabled": True}}).json()["analytics"] is True
        bad = c.patch("/api/cameras/gate", json={"analytics": {"fps": 0}})
        assert bad.status_code == 422 and "fps" in bad.json()["detail"]
        assert c.patch("/api/cameras/nope", json={"name": "x"}).status_code == 404
    kept = stored(srv, "gate")
    assert kept["analytics"]["motion_masks"] == [MASK] and kept["analytics"]["fps"] == 3 and kept["analytics"]["faces"]
    assert kept["record"]["segment_seconds"] == 4 and kept["record"]["max_days"] == 7 and kept["name"] == "Gate"
