"""A change of embedding model without losing anyone. Vectors of two models cannot be compared (every
similarity would be noise), so each vector in the catalog names its model; when the configured model differs,
every enrolled image is embedded again from its kept photo, and every face sighting from its event's picture,
in the background after start. Until an image is done, its person is not recognised by it; a sighting whose
picture retention already removed keeps its old vector and is left out of photo search (said in the status)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.catalog.faces import FaceCatalog
from vigil.errors import FaceImageError
from vigil.log import get_logger

log = get_logger(__name__)
LOG_EVERY_S = 5.0
SIGHTINGS_DONE_KEY = "faces.sightings_reembedded_for"


@dataclass
class ReembedStatus:
    model: str
    running: bool = False
    images_total: int = 0
    images_done: int = 0
    images_failed: int = 0  # no face found again in the kept photo (it stays, with its old vector)
    sightings_done: int = 0
    sightings_without_picture: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Reembedder:
    """Runs once per start when the catalog holds vectors of another model. `face` finds the one face of a
    picture; `embed` makes the new vector; `enrolled`/`sighted` put each new vector into the live indexes."""

    def __init__(self, store: FaceCatalog, storage: Path, model: str,
                 face: Callable[[np.ndarray, str], tuple[np.ndarray, FaceBox]],
                 embed: Callable[[np.ndarray, FaceBox], np.ndarray],
                 enrolled: Callable[[int, np.ndarray], None], sighted: Callable[[int, np.ndarray], None]) -> None:
        self.store, self.storage, self.model = store, storage, model
        self._face, self._embed, self._enrolled, self._sighted = face, embed, enrolled, sighted
        self.status = ReembedStatus(model)
        self._thread: threading.Thread | None = None

    def needed(self) -> bool:
        """Enrolled images of another model; or sightings of another model not yet tried with this one (those
        whose picture is gone cannot be re-embedded, and are not tried again at every start)."""
        if self.store.images_not_of(self.model):
            return True
        tried = self.store.catalog.get_setting(SIGHTINGS_DONE_KEY)
        return tried != self.model and bool(self.store.sightings_not_of(self.model, batch=1))

    def start(self) -> None:
        self.status.running = True
        self._thread = threading.Thread(target=self.run, name="face-reembed", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        self.status.running = True
        try:
            self._images()
            self._sightings()
            self.store.catalog.set_setting(SIGHTINGS_DONE_KEY, self.model)
        finally:
            self.status.running = False
            log.info("faces_reembedded", **self.status.as_dict())

    def _vector(self, path: Path, what: str) -> np.ndarray | None:
        img = cv2.imread(str(path)) if path.is_file() else None
        if img is None:
            return None
        try:
            scaled, face = self._face(img, what)
        except FaceImageError:
            return None
        return self._embed(scaled, face)

    def _images(self) -> None:
        todo = self.store.images_not_of(self.model)
        self.status.images_total = len(todo)
        log.info("faces_reembed_start", model=self.model, images=len(todo))
        said = time.monotonic()
        for image_id, rel in todo:
            vec = self._vector(self.storage / rel, f"enrolled image {image_id}")
            if vec is None:
                self.status.images_failed += 1
                log.warning("face_reembed_failed", image=image_id, path=rel,
                            why="no face found again in the kept photo: enrol the person again")
                continue
            self.store.set_image_embedding(image_id, vec, self.model)
            self._enrolled(image_id, vec)
            self.status.images_done += 1
            if time.monotonic() - said > LOG_EVERY_S:
                said = time.monotonic()
                log.info("faces_reembed_progress", done=self.status.images_done, total=len(todo))

    def _sightings(self) -> None:
        after = 0
        while batch := self.store.sightings_not_of(self.model, after):
            for event_id, snapshot in batch:
                after = event_id
                vec = self._vector(self.storage / snapshot, f"event {event_id}") if snapshot else None
                if vec is None:
                    self.status.sightings_without_picture += 1
                    continue
                self.store.set_sighting_embedding(event_id, vec, self.model)
                self._sighted(event_id, vec)
                self.status.sightings_done += 1
