"""`vigil backup` while recording and `vigil restore` into an empty folder: `vigil serve` on the restored copy plays
back what was backed up, knows its users and its API cameras (their sealed URLs open with the restored key); a
restore refuses to overwrite without --force. The catalog round trip runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import av
import httpx
import pytest
import yaml

from tests.helpers import Server, Sim, running, wait_for
from vigil.catalog.accounts import add_user, list_users
from vigil.catalog.store import Catalog
from vigil.config import parse_config
from vigil.errors import VigilError
from vigil.secretbox import SecretBox
from vigil.services.backup import backup, restore


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil.cli", *args], capture_output=True, text=True, timeout=300)


def test_backup_while_recording_restores_into_an_empty_folder_and_plays(tmp_path: Path) -> None:
    sim = Sim(tmp_path, cameras=2, codecs="h264", size="640x360", sub="none").start()
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    srv = Server(old, [{"id": "door", "url": sim.url(1), "record": {"segment_seconds": 2}}])
    try:
        with running(srv):
            with srv.client() as http:
                http.post("/api/cameras", json={"id": "yard", "url": sim.url(2), "record": {"segment_seconds": 2}}
                          ).raise_for_status()
                http.post("/api/users", json={"username": "eve", "password": "viewer-pass-1234", "role": "viewer"}
                          ).raise_for_status()
            wait_for(lambda: all(len([s for s in srv.get(f"/api/cameras/{c}/recordings")["segments"]
                                      if s["status"] == "closed"]) >= 3 for c in ("door", "yard")), 40,
                     what="three closed segments a camera")
            archive = tmp_path / "vigil-backup.tar"
            made = cli("backup", str(archive), "--recordings", "--config", str(srv.config))
            assert made.returncode == 0, made.stderr
            assert "keep it safe" in made.stdout and archive.stat().st_mode & 0o077 == 0
            backed = {c: [s for s in srv.get(f"/api/cameras/{c}/recordings")["segments"] if s["status"] == "closed"]
                      for c in ("door", "yard")}
            # Still recording while it was copied, and afterwards.
            n = len(srv.get("/api/cameras/door/recordings")["segments"])
            wait_for(lambda: len(srv.get("/api/cameras/door/recordings")["segments"]) > n, 20, what="more segments")

        copy = Server(new, [])  # its ports; the config it writes makes way for the restored one
        copy.config.unlink()
        # Restoring over the running copy's files is refused; into an empty folder it is not.
        refused = cli("restore", str(archive), "--to", str(old))
        assert refused.returncode == 2 and "would overwrite" in refused.stderr and "--force" in refused.stderr
        done = cli("restore", str(archive), "--to", str(new))
        assert done.returncode == 0, done.stderr
        assert (new / "vigil.yml").exists() and (new / "vigil.db").exists() and (new / "vigil.key").exists()
        again = cli("restore", str(archive), "--to", str(new))
        assert again.returncode == 2, "a second restore over the first needs --force"

        data = yaml.safe_load((new / "vigil.yml").read_text())  # the backed-up config, on this test's own ports
        data["api"]["listen"], data["rtsp_out"]["listen"] = f"127.0.0.1:{copy.port}", f"127.0.0.1:{copy.rtsp_port}"
        data["cameras"][0]["url"] = "rtsp://127.0.0.1:9/off"  # the restored copy must play, not record more
        (new / "vigil.yml").write_text(yaml.safe_dump(data))
        with running(copy):
            assert {c["id"] for c in copy.get("/api/cameras")} == {"door", "yard"}  # yard: sealed in the catalog
            for cam, segs in backed.items():
                restored = {s["start_ms"] for s in copy.get(f"/api/cameras/{cam}/recordings")["segments"]}
                assert {s["start_ms"] for s in segs} <= restored, cam
                first = segs[0]
                with copy.client() as http:
                    r = http.get(f"/api/cameras/{cam}/playback.mp4",
                                 params={"start": first["start_ms"], "end": first["end_ms"]})
                assert r.status_code == 200, r.text
                with av.open(io.BytesIO(r.content), "r") as media:
                    assert sum(1 for _ in media.decode(video=0)) >= 20, cam
            with httpx.Client(base_url=copy.base) as web:
                assert web.post("/api/auth/login", json={"username": "eve", "password": "viewer-pass-1234"}
                              ).status_code == 200
    finally:
        sim.stop()


def test_catalog_round_trip(tmp_path: Path, catalog_url: str) -> None:
    """The catalog alone, on each backend: what was backed up comes back over a changed catalog with --force."""
    cfg = parse_config({"storage": {"path": str(tmp_path / "rec")}, "catalog": {"url": catalog_url}})
    cfg.storage.path.mkdir()
    cat = Catalog(cfg.catalog_url, SecretBox.load(cfg.key_file))
    cat.migrate()
    add_user(cat, "alice", "alice-pass-1234", "operator")
    (tmp_path / "vigil.yml").write_text(yaml.safe_dump({"storage": {"path": "rec"}, "catalog": {"url": catalog_url}}))
    archive = tmp_path / "b.tar.gz"
    s = backup(cfg, tmp_path / "vigil.yml", archive)
    assert s.catalog == ("sqlite" if catalog_url.startswith("sqlite") else "postgresql")
    add_user(cat, "mallory", "mallory-pass-1234", "admin")
    cat.engine.dispose()
    with pytest.raises(VigilError, match="would overwrite"):
        restore(archive, tmp_path)
    restore(archive, tmp_path, force=True)
    cat = Catalog(cfg.catalog_url, SecretBox.load(cfg.key_file))
    assert sorted(u.username for u in list_users(cat)) == ["alice"]
    cat.engine.dispose()
