"""1:N search over normalised embeddings: a NumPy matrix-vector product (cosine similarity), filtered by
group (a face database) and reduced to the best image per owner (a person, or an event for sightings).

At 128 dimensions, 20,000 vectors are 10 MB and one query is one BLAS call well under a millisecond on
this class of machine; an approximate index (usearch, faiss) starts to pay only in the millions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hit:
    id: int  # the vector's id (a face image, or an event)
    owner: int  # whose it is (a person; for sightings, the event again)
    group: int  # which collection (a face database; 0 for sightings)
    score: float  # cosine similarity, -1..1


class VectorIndex:
    def __init__(self, dim: int = 128) -> None:
        self.dim = dim
        self._vecs = np.zeros((0, dim), np.float32)
        self._ids = np.zeros(0, np.int64)
        self._owners = np.zeros(0, np.int64)
        self._groups = np.zeros(0, np.int64)
        self._n = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n

    def add(self, ids: Iterable[int], vecs: np.ndarray, owners: Iterable[int], groups: Iterable[int]) -> None:
        ids_a = np.fromiter(ids, np.int64)
        vecs = np.asarray(vecs, np.float32).reshape(-1, self.dim)
        if len(ids_a) != len(vecs):
            raise ValueError("one id per vector")
        owners_a, groups_a = np.fromiter(owners, np.int64), np.fromiter(groups, np.int64)
        with self._lock:
            need = self._n + len(vecs)
            if need > len(self._vecs):  # grow by doubling: enrolment of 20,000 images is not 20,000 copies
                cap = max(need, 2 * len(self._vecs), 64)
                self._vecs = _grow(self._vecs, cap)
                self._ids, self._owners, self._groups = (_grow(a, cap) for a in (self._ids, self._owners, self._groups))
            s = slice(self._n, need)
            self._vecs[s], self._ids[s], self._owners[s], self._groups[s] = vecs, ids_a, owners_a, groups_a
            self._n = need

    def remove(self, *, ids: Iterable[int] = (), owners: Iterable[int] = (), groups: Iterable[int] = ()) -> int:
        with self._lock:
            n = self._n
            drop = (np.isin(self._ids[:n], np.fromiter(ids, np.int64))
                    | np.isin(self._owners[:n], np.fromiter(owners, np.int64))
                    | np.isin(self._groups[:n], np.fromiter(groups, np.int64)))
            keep = ~drop
            k = int(keep.sum())
            for name in ("_vecs", "_ids", "_owners", "_groups"):
                a = getattr(self, name)
                a[:k] = a[:n][keep]
            self._n = k
            return n - k

    def search(self, vec: np.ndarray, k: int = 5, groups: Iterable[int] | None = None,
               min_score: float = -1.0) -> list[Hit]:
        """The best image of each of the k best owners, best first."""
        with self._lock:
            n = self._n
            if n == 0:
                return []
            scores = self._vecs[:n] @ np.asarray(vec, np.float32)
            if groups is not None:
                scores = np.where(np.isin(self._groups[:n], np.fromiter(groups, np.int64)), scores, -2.0)
            m = min(n, max(4 * k, 32))
            top = np.argpartition(-scores, m - 1)[:m] if m < n else np.arange(n)
            top = top[np.argsort(-scores[top])]
            hits: list[Hit] = []
            seen: set[int] = set()
            for i in top:
                s = float(scores[i])
                if s < min_score or s <= -2.0:
                    break
                owner = int(self._owners[i])
                if owner in seen:
                    continue
                seen.add(owner)
                hits.append(Hit(int(self._ids[i]), owner, int(self._groups[i]), s))
                if len(hits) >= k:
                    break
            return hits


def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    out = np.zeros((cap, *a.shape[1:]), a.dtype)
    out[: len(a)] = a
    return out
