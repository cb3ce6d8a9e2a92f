"""Where Vigil keeps things under the storage root (and, with a bucket, under the same keys there): the one
owner of the layout, so the recorder that writes, the recovery that scans, the retention that prunes and the API
that serves agree by construction.

    <camera>/<YYYY-MM-DD>/<HH>/<start-utc-ms>.mp4   recordings (UTC day and hour)
    _events/<camera>/<YYYY-MM-DD>/<t-ms>-<name>.jpg  event pictures ("_": no camera id starts with it)
    _faces/<database>/<person>/<random>.jpg           enrolled face photographs
"""

from __future__ import annotations

import time
from pathlib import Path

SNAPSHOT_DIR = "_events"
FACES_DIR = "_faces"
SEGMENT_GLOB = "*/*/*/*.mp4"  # every recording, from the storage root


def segment_path(root: Path, camera: str, start_ms: int) -> Path:
    """`<storage>/<camera>/<YYYY-MM-DD>/<HH>/<start-utc-ms>.mp4` (UTC)."""
    t = time.gmtime(start_ms / 1000)
    return root / camera / time.strftime("%Y-%m-%d", t) / time.strftime("%H", t) / f"{start_ms}.mp4"


def snapshot_path(camera_id: str, t_ms: int, name: str) -> Path:
    """An event picture's path relative to the storage root (its day in UTC)."""
    return Path(SNAPSHOT_DIR) / camera_id / time.strftime("%Y-%m-%d", time.gmtime(t_ms / 1000)) / f"{t_ms}-{name}.jpg"


def face_photo_path(database_id: int, person_id: int, name: str) -> Path:
    """An enrolled face photograph's path relative to the storage root."""
    return Path(FACES_DIR) / str(database_id) / str(person_id) / f"{name}.jpg"
