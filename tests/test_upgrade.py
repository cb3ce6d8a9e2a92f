"""Upgrading a catalog an older Vigil made: rows written at the first revisions (cameras, segments, events at 0001,
users, tokens and tags at 0002, faces at 0005, in the columns those revisions had) all read back through today's
catalog after `migrate()` — on SQLite, where Alembic rebuilds tables to alter them, and on PostgreSQL."""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
from alembic import command
from alembic.config import Config as AlembicConfig
from argon2 import PasswordHasher
from sqlalchemy import text

from vigil.catalog.accounts import verify
from vigil.catalog.faces import FaceCatalog, from_blob, to_blob
from vigil.catalog.store import Catalog

T = 1_764_000_000_000


def upgrade(cat: Catalog, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("vigil.catalog") / "migrations"))
    with cat.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def insert(cat: Catalog, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    sql = f"insert into {table} ({', '.join(cols)}) values ({', '.join(':' + c for c in cols)})"
    with cat.engine.begin() as conn:
        conn.execute(text(sql), rows)


def test_a_catalog_from_the_first_revision_upgrades_without_loss(catalog_url: str) -> None:
    cat = Catalog(catalog_url)
    upgrade(cat, "0001")
    insert(cat, "cameras", [{"id": f"cam{i}", "name": f"Camera {i}", "url": f"rtsp://10.0.0.{i}/main",
                             "sub_url": None, "enabled": True, "state": "online", "last_error": None,
                             "state_since_ms": T, "settings": '{"segment_seconds": 60}'} for i in (1, 2)])
    insert(cat, "segments", [{"camera_id": f"cam{1 + i % 2}", "start_ms": T + i * 60_000,
                              "end_ms": T + (i + 1) * 60_000, "bytes": 1000 + i,
                              "path": f"cam{1 + i % 2}/2025-11-24/16/{T + i * 60_000}.mp4", "codec": "h264",
                              "width": 1920, "height": 1080, "status": "closed", "keyframes": "[[0, 1024]]"}
                             for i in range(6)])
    insert(cat, "events", [{"camera_id": "cam1", "type": "motion", "severity": "info", "start_ms": T + 5000,
                            "end_ms": T + 9000, "message": "motion", "details": '{"area": 0.2}'},
                           {"camera_id": None, "type": "disk", "severity": "alarm", "start_ms": T + 7000,
                            "end_ms": None, "message": "disk full", "details": "{}"}])
    upgrade(cat, "0002")
    insert(cat, "users", [{"username": "olduser", "password_hash": PasswordHasher().hash("old-password-123"),
                           "role": "operator", "created_ms": T, "cameras": '["cam1"]'}])
    insert(cat, "tags", [{"camera_id": "cam2", "start_ms": T + 60_000, "end_ms": T + 70_000, "text": "delivery",
                          "created_ms": T, "created_by": "olduser"}])
    upgrade(cat, "0005")
    insert(cat, "face_databases", [{"name": "staff", "kind": "allow", "description": "", "created_ms": T}])
    insert(cat, "persons", [{"database_id": 1, "name": "Ada", "details": "{}", "created_ms": T}])
    vec = np.arange(128, dtype=np.float32) / 128
    insert(cat, "face_images", [{"person_id": 1, "database_id": 1, "path": "_faces/1/1/a.jpg",
                                 "embedding": to_blob(vec), "quality": 0.9, "source": "upload", "created_ms": T}])
    cat.engine.dispose()

    cat = Catalog(catalog_url)
    cat.migrate()  # to head, as `vigil serve` does at start
    segs = cat.segments()
    assert [(s.camera_id, s.start_ms, s.end_ms, s.bytes, s.path) for s in sorted(segs, key=lambda s: s.start_ms)] \
        == [(f"cam{1 + i % 2}", T + i * 60_000, T + (i + 1) * 60_000, 1000 + i,
             f"cam{1 + i % 2}/2025-11-24/16/{T + i * 60_000}.mp4") for i in range(6)]
    assert all(s.stored == "local" and s.node_id is None for s in segs)  # 0010's defaults: on this disk
    assert cat.keyframes(segs[0].id) == [(0, 1024)]
    motion = cat.event(1)
    assert motion is not None and (motion.type, motion.start_ms, motion.end_ms) == ("motion", T + 5000, T + 9000)
    assert motion.details == {"area": 0.2}
    disk = cat.event(2)
    assert disk is not None and disk.severity == "alarm" and disk.end_ms is None and disk.camera_id is None
    assert {c.id: c.name for c in cat.cameras()} == {"cam1": "Camera 1", "cam2": "Camera 2"}
    user = verify(cat, "olduser", "old-password-123")
    assert user is not None and user.role == "operator" and user.cameras == ["cam1"] and not user.disabled
    with cat.engine.connect() as conn:
        assert conn.execute(text("select text from tags")).scalar_one() == "delivery"
    faces = FaceCatalog(cat)
    assert [d.name for d in faces.databases()] == ["staff"] and faces.person(1).name == "Ada"
    # Vectors of the model before 0013 say so, and are re-embedded rather than compared with the new model's.
    old = list(faces.embeddings("dlib-resnet-v1"))
    assert len(old) == 1 and np.allclose(old[0][1][0], vec) and np.allclose(from_blob(to_blob(vec)), vec)
    cat.engine.dispose()


def test_a_node_waits_for_another_nodes_long_migration(pg_url: str) -> None:
    """Nodes of a cluster starting together migrate one after the other. One whose turn comes after more than
    the catalog's 15 s statement limit must still start: CI once saw a node die of it while another migrated."""
    import threading
    import time

    from sqlalchemy import create_engine

    from tests.services import fresh_database

    url = fresh_database(pg_url, "long_migration")
    other = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    held = threading.Event()

    def migrating() -> None:  # the other node, holding the migration lock for longer than the limit
        with other.begin() as c:
            c.execute(text("SELECT pg_advisory_xact_lock(7415)"))
            held.set()
            time.sleep(16)

    t = threading.Thread(target=migrating)
    t.start()
    try:
        assert held.wait(10)
        began = time.monotonic()
        catalog = Catalog(url)
        catalog.migrate()
        assert time.monotonic() - began > 15  # it did wait for its turn
        assert catalog.cameras() == []
        catalog.close()
    finally:
        t.join()
        other.dispose()
