"""Event pictures on disk: every kind of event (rules, faces, plates, linkage) saves its picture here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vigil.layout import snapshot_path
from vigil.log import get_logger

log = get_logger(__name__)


def save_snapshot(storage: Path, camera_id: str, t_ms: int, name: str, img: np.ndarray, quality: int) -> str | None:
    """Writes an event picture (see vigil/layout.py); returns its path relative to storage, or None when the disk
    refused it (a full disk loses the picture, not the event)."""
    rel = snapshot_path(camera_id, t_ms, name)
    path = storage / rel
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            return None
        path.write_bytes(jpg.tobytes())
    except OSError as err:
        log.warning("snapshot_failed", camera=camera_id, error=err)
        return None
    return str(rel)
