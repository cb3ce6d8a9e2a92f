"""Identification accuracy from embeddings: top-1 accuracy of enrolled probes at a threshold, the rejection
rate of strangers at that threshold, and the true-accept rate at a false-accept rate of 1 % (verification
of every probe against every enrolled identity)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Accuracy:
    top1: float  # enrolled probes recognised as the right person, at or above the threshold
    rejection: float  # strangers below the threshold
    tar_at_far1: float  # true accepts at the threshold where 1 % of impostor pairs pass
    far1_threshold: float
    probes: int
    strangers: int
    genuine_mean: float
    impostor_mean: float


def evaluate(gallery: Sequence[tuple[str, np.ndarray]], probes: Sequence[tuple[str, np.ndarray]],
             strangers: Sequence[tuple[str, np.ndarray]], threshold: float) -> Accuracy:
    """Each tuple is (identity, normalised embedding)."""
    names = [g[0] for g in gallery]
    G = np.stack([g[1] for g in gallery])
    right = 0
    genuine: list[float] = []
    impostor: list[float] = []
    for ident, v in probes:
        s = G @ v
        best = int(np.argmax(s))
        right += int(names[best] == ident and s[best] >= threshold)
        for n, sc in zip(names, s, strict=True):
            (genuine if n == ident else impostor).append(float(sc))
    rejected = 0
    for _, v in strangers:
        s = G @ v
        rejected += int(float(np.max(s)) < threshold)
        impostor += [float(x) for x in s]
    far_t = float(np.quantile(impostor, 0.99)) if impostor else 1.0
    tar = float(np.mean([g > far_t for g in genuine])) if genuine else 0.0
    return Accuracy(right / max(1, len(probes)), rejected / max(1, len(strangers)), tar, far_t, len(probes),
                    len(strangers), float(np.mean(genuine)) if genuine else 0.0,
                    float(np.mean(impostor)) if impostor else 0.0)
