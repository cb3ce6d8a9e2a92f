"""The face models behind one object, loaded on first use and shared by every camera: detection (inside
person boxes when the body detector found people, else over the whole picture), then — once per face
track — embedding and attributes of the best shot."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from vigil.analytics.faces.attributes import AttributeModel
from vigil.analytics.faces.detect import CenterFace, FaceBox, YuNet
from vigil.analytics.faces.embed import MODELS, Embedder
from vigil.analytics.faces.workers import EmbedPool
from vigil.analytics.geometry import Box
from vigil.config import FacesConfig

# Faces score ≥ 0.90 with YuNet on the real photographs and its false faces ≤ 0.51; CCTV-degraded copies lower
# the true ones, so 0.6 (one of 196 missed at 0.7, none at 0.6).
YUNET_THRESHOLD = 0.6
CENTERFACE_THRESHOLD = 0.5
HEAD_PART = 0.6  # a face sits in the upper part of a person's box
ROI_MARGIN = 0.15


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix
    return ix / u if u > 0 else 0.0


def head_regions(boxes: Sequence[Box], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Pixel regions where the faces of people with these (normalised) boxes can be."""
    out = []
    for x1, y1, x2, y2 in boxes:
        w, h = x2 - x1, y2 - y1
        rx1, rx2 = max(0.0, x1 - w * ROI_MARGIN), min(1.0, x2 + w * ROI_MARGIN)
        ry1, ry2 = max(0.0, y1 - h * 0.05), min(1.0, y1 + h * HEAD_PART)
        out.append((int(rx1 * width), int(ry1 * height), int(np.ceil(rx2 * width)), int(np.ceil(ry2 * height))))
    return out


class FaceEngine:
    def __init__(self, cfg: FacesConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._detector: CenterFace | YuNet | None = None
        self._embedder: Embedder | None = None
        self._attributes: AttributeModel | None = None
        self._pool: EmbedPool | None = None
        self._detect_lock = threading.Lock()
        self.detect_seconds = 0.0
        self.describe_seconds = 0.0

    def load(self) -> None:
        """Loads every model now (an install problem then shows at start, not at the first face)."""
        with self._lock:
            if self._detector is None:
                thr = self.cfg.detection_threshold
                self._detector = (YuNet(YUNET_THRESHOLD if thr is None else thr) if self.cfg.detector == "yunet"
                                  else CenterFace(CENTERFACE_THRESHOLD if thr is None else thr, self.cfg.providers))
            if self._embedder is None:
                self._embedder = MODELS[self.cfg.model]()
            if self._attributes is None:
                self._attributes = AttributeModel()
            if self._pool is None and self.cfg.embed_workers > 0:
                self._pool = EmbedPool(self.cfg.embed_workers, self.cfg.model)
                self._pool.warm_up()

    @property
    def model(self) -> str:
        """The embedding model's name, stored with every vector it makes."""
        self.load()
        assert self._embedder is not None
        return self._embedder.name

    @property
    def match_threshold(self) -> float:
        """Similarity at or above which a face is an enrolled person: the config's, else the model's own."""
        if self.cfg.match_threshold is not None:
            return self.cfg.match_threshold
        return MODELS[self.cfg.model].threshold

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def find(self, image: np.ndarray, people: Sequence[Box] | None = None) -> list[FaceBox]:
        """Faces in a BGR picture (pixel boxes), searched in the people's head regions when given."""
        self.load()
        assert self._detector is not None
        min_px = self.cfg.min_face_px
        t0 = time.perf_counter()
        with self._detect_lock:  # one ONNX session; its own threads use the cores
            if not people:
                faces = self._detector.detect(image, min_px)
            else:
                faces = []
                h, w = image.shape[:2]
                for x1, y1, x2, y2 in head_regions(people, w, h):
                    if x2 - x1 < min_px or y2 - y1 < min_px:
                        continue
                    for f in self._detector.detect(image[y1:y2, x1:x2], min_px):
                        moved = FaceBox((f.box[0] + x1, f.box[1] + y1, f.box[2] + x1, f.box[3] + y1), f.score,
                                        tuple((px + x1, py + y1) for px, py in f.landmarks))
                        if all(_iou(moved.box, g.box) < 0.5 for g in faces):
                            faces.append(moved)
        self.detect_seconds += time.perf_counter() - t0
        return faces

    def embed(self, image: np.ndarray, face: FaceBox) -> np.ndarray:
        self.load()
        assert self._embedder is not None
        return self._embedder.embed(image, face)

    def embed_async(self, image: np.ndarray, face: FaceBox) -> Future[np.ndarray]:
        """The embedding, computed by a worker process while the caller goes on (inline without workers)."""
        self.load()
        if self._pool is not None:
            return self._pool.submit(image, face)
        done: Future[np.ndarray] = Future()
        done.set_result(self.embed(image, face))
        return done

    def describe(self, image: np.ndarray, face: FaceBox) -> tuple[np.ndarray, dict[str, Any]]:
        """Embedding and attributes of one face."""
        return self.describe_many([(image, face)])[0]

    def describe_many(self, items: Sequence[tuple[np.ndarray, FaceBox]]) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """Embeddings (in the worker processes when there are some, all at once) and attributes of faces."""
        self.load()
        assert self._embedder is not None and self._attributes is not None
        t0 = time.perf_counter()
        if self._pool is not None and items:
            vecs = self._pool.embed_many(items)
        else:
            vecs = [self._embedder.embed(img, face) for img, face in items]
        out = [(v, self._attributes.attributes(img, face)) for v, (img, face) in zip(vecs, items, strict=True)]
        self.describe_seconds += time.perf_counter() - t0
        return out
