"""Bad configuration stops start-up with a message that names the key and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vigil.config import load_config, parse_config, redact_url
from vigil.errors import ConfigError


def run_serve(tmp: Path, text: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp / "vigil.yml"
    cfg.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "vigil.cli", "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=60
    )


def test_unknown_key_names_key_and_suggests(tmp: Path) -> None:
    r = run_serve(tmp, "cameras:\n  - id: a\n    url: rtsp://h/s\n    recrod: {}\n")
    assert r.returncode != 0
    assert "cameras[0].recrod: unknown key" in r.stderr and "did you mean 'record'" in r.stderr


def test_bad_url_exits_nonzero(tmp: Path) -> None:
    r = run_serve(tmp, "cameras:\n  - id: a\n    url: ftp://user:secret@h/s\n")
    assert r.returncode != 0
    assert "cameras[0].url" in r.stderr and "rtsp://" in r.stderr
    assert "secret" not in r.stderr  # passwords never reach messages


def test_unwritable_storage_exits_nonzero(tmp: Path) -> None:
    blocker = tmp / "a-file"
    blocker.write_text("x")
    r = run_serve(tmp, f"storage:\n  path: {blocker}/recordings\n")
    assert r.returncode != 0
    assert "storage.path" in r.stderr and "writable" in r.stderr


def test_missing_config_file(tmp: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp / "nope.yml")


def test_duplicate_ids_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        parse_config({"cameras": [{"id": "a", "url": "rtsp://h/1"}, {"id": "a", "url": "rtsp://h/2"}]}, environ={})
    with pytest.raises(ConfigError, match="segment_seconds"):
        parse_config({"cameras": [{"id": "a", "url": "rtsp://h/1", "record": {"segment_seconds": 0}}]}, environ={})
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_config({"api": {"listen": "8080"}}, environ={})
    with pytest.raises(ConfigError, match="camera id"):
        parse_config({"cameras": [{"id": "Front Door", "url": "rtsp://h/1"}]}, environ={})


def test_env_overrides_and_relative_storage(tmp: Path) -> None:
    cfg_path = tmp / "vigil.yml"
    cfg_path.write_text("storage:\n  path: rec\n")
    cfg = load_config(cfg_path, environ={"VIGIL_API__LISTEN": "0.0.0.0:9000", "VIGIL_SIM_CACHE": "/x"})
    assert cfg.api.port == 9000 and cfg.api.host == "0.0.0.0"
    assert cfg.storage.path == (tmp / "rec").resolve()
    assert cfg.catalog_url == f"sqlite:///{tmp.resolve() / 'vigil.db'}"


def test_redact_url() -> None:
    assert redact_url("rtsp://admin:pw@10.0.0.2:554/s") == "rtsp://admin:***@10.0.0.2:554/s"
    assert redact_url("rtsp://10.0.0.2/s") == "rtsp://10.0.0.2/s"
