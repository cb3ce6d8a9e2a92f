"""Face embeddings in worker processes. dlib-bin's ResNet runs on one core and holds the GIL (the wheel has
no BLAS), so threads do not add throughput; N processes, each with its own copy of the network, embed N faces
at once — from one busy door camera or from several cameras deciding at the same time."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.embed import MODELS, Embedder

_embedder: Embedder | None = None


def _init(model: str) -> None:
    global _embedder
    _embedder = MODELS[model]()


def _embed(image: np.ndarray, face: FaceBox) -> np.ndarray:
    assert _embedder is not None
    return _embedder.embed(image, face)


class EmbedPool:
    def __init__(self, workers: int, model: str) -> None:
        # spawn, not fork: the server's threads (recorders, the event loop) must not be copied into a child.
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init,
                                         initargs=(model,))
        self.workers = workers

    def warm_up(self) -> None:
        """Starts every worker and loads its network (a few seconds), before the first face needs it."""
        img = np.zeros((64, 64, 3), np.uint8)
        face = FaceBox((8, 8, 56, 56), 1.0, ((20, 25), (44, 25), (32, 35), (22, 45), (42, 45)))
        list(self._pool.map(_embed, [img] * self.workers, [face] * self.workers))

    def submit(self, image: np.ndarray, face: FaceBox) -> Future[np.ndarray]:
        return self._pool.submit(_embed, image, face)

    def embed_many(self, items: Sequence[tuple[np.ndarray, FaceBox]]) -> list[np.ndarray]:
        futures = [self.submit(img, face) for img, face in items]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
