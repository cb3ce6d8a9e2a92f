"""Faces, pure parts: the 1:N index, best shot and decisions per face track, attribute groups."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.analytics.faces.attributes import age_group, age_group_range
from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.index import VectorIndex
from vigil.analytics.faces.quality import frontal
from vigil.analytics.faces.tracks import FaceTracks


def unit(rng: np.random.Generator, n: int, dim: int = 128) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_index_finds_the_owner_filters_groups_and_removes() -> None:
    rng = np.random.default_rng(1)
    people = unit(rng, 50)
    # Three images per person: the person's vector plus noise; persons 0-24 in group 1, 25-49 in group 2.
    idx = VectorIndex()
    ids, vecs, owners, groups = [], [], [], []
    for p in range(50):
        for k in range(3):
            v = people[p] + rng.normal(scale=0.05, size=128).astype(np.float32)
            ids.append(p * 10 + k)
            vecs.append(v / np.linalg.norm(v))
            owners.append(p)
            groups.append(1 if p < 25 else 2)
    for i in range(0, 150, 40):  # added in batches: the matrix grows
        idx.add(ids[i : i + 40], np.stack(vecs[i : i + 40]), owners[i : i + 40], groups[i : i + 40])
    assert len(idx) == 150
    hits = idx.search(people[30], k=3)
    assert hits[0].owner == 30 and hits[0].group == 2 and hits[0].score > 0.85
    assert len({h.owner for h in hits}) == 3  # best image per owner, not three images of one person
    assert idx.search(people[30], k=1, groups=[1])[0].owner != 30  # person 30 is not in group 1
    assert idx.search(people[30], k=5, min_score=0.85)[0].owner == 30
    assert len(idx.search(people[30], k=5, min_score=0.85)) == 1
    assert idx.remove(owners=[30]) == 3
    assert idx.search(people[30], k=1)[0].owner != 30
    assert idx.remove(groups=[1]) == 75 and len(idx) == 72
    assert all(h.group == 2 for h in idx.search(people[3], k=10))


def test_empty_index_finds_nobody() -> None:
    assert VectorIndex().search(np.ones(128, np.float32)) == []


def face(x: float, score: float = 0.9, size: float = 60, turn: float = 0.0) -> FaceBox:
    """A face at x (pixels) in a 640×360 picture; `turn` moves the nose towards one eye (0: frontal)."""
    y = 100.0
    ex1, ex2 = x + size * 0.3, x + size * 0.7
    nose = (ex1 + ex2) / 2 + turn * (ex2 - ex1) / 2
    return FaceBox((x, y, x + size, y + size * 1.2), score,
                   ((ex1, y + size * 0.45), (ex2, y + size * 0.45), (nose, y + size * 0.7),
                    (ex1, y + size * 0.95), (ex2, y + size * 0.95)))


def test_frontal_scores_a_turned_face_lower() -> None:
    assert frontal(face(100)) == pytest.approx(1.0)
    assert frontal(face(100, turn=0.5)) < 0.6 < frontal(face(100, turn=0.1))


def picture(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)


def test_one_decision_per_face_track_with_its_best_shot() -> None:
    tracks = FaceTracks(decide_after_ms=2500, lost_ms=1000)
    img = picture()
    decided = []
    # A face walks right for 2 s (getting bigger, as people walk towards a door camera), then leaves.
    for i in range(10):
        decided += tracks.update(i * 200, img, [face(100 + i * 8, size=40 + i * 4)])
    assert decided == []  # followed for 1.8 s: not decided yet
    for t in range(2000, 4000, 200):
        decided += tracks.update(t, img, [])
    assert len(decided) == 1  # decided once it left
    tr = decided[0]
    assert tr.sightings >= 9  # ByteTrack confirms a new track at its second sighting
    assert tr.best is not None and tr.best.face.height == pytest.approx((40 + 9 * 4) * 1.2)  # the biggest
    assert tr.best.crop.shape[0] > tr.best.face.height  # the shot keeps a margin around the face


def test_a_long_stay_is_decided_once_after_the_delay() -> None:
    tracks = FaceTracks(decide_after_ms=2500, lost_ms=1000)
    img = picture()
    decided_at = []
    for i in range(40):  # 8 s in front of the camera
        for tr in tracks.update(i * 200, img, [face(300 + (i % 2))]):
            decided_at.append((i * 200, tr.id))
    assert len(decided_at) == 1 and 2500 <= decided_at[0][0] <= 2800


def test_two_faces_two_tracks() -> None:
    tracks = FaceTracks(decide_after_ms=10_000, lost_ms=600)
    img = picture()
    decided = []
    for i in range(8):
        decided += tracks.update(i * 200, img, [face(60 + i * 5), face(450 - i * 5)])
    for t in range(1600, 3000, 200):
        decided += tracks.update(t, img, [])
    assert len(decided) == 2 and decided[0].id != decided[1].id
    assert tracks.flush() == []


def test_age_groups() -> None:
    assert [age_group(a) for a in (5, 15, 18, 30, 31, 50, 70)] == ["child", "teen", "18-30", "18-30", "31-45",
                                                                    "46-60", "60+"]
    assert age_group_range("18-30") == (18, 30)
    assert age_group_range("old") is None
