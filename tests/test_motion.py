"""Pixel motion on synthetic pictures: still scene, a moving square, masks, a global brightness change."""

from __future__ import annotations

import numpy as np

from vigil.analytics.motion import MotionDetector


def scene(x: int | None, brightness: int = 90, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.full((360, 640, 3), brightness, np.uint8)
    img += rng.integers(0, 6, img.shape, dtype=np.uint8)  # sensor noise
    if x is not None:
        img[150:230, x : x + 40] = (30, 30, 60)  # a dark figure on a lighter ground
    return img


def warm(det: MotionDetector, frames: int = 30) -> None:
    for i in range(frames):
        det.update(scene(None, seed=i))


def test_still_scene_has_no_motion() -> None:
    det = MotionDetector()
    warm(det)
    r = det.update(scene(None, seed=99))
    assert not r.moving and r.score < 0.01


def test_moving_square_is_found_where_it_is() -> None:
    det = MotionDetector()
    warm(det)
    r = det.update(scene(300))
    assert r.moving
    x1, y1, x2, y2 = max(r.boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert x1 <= 300 / 640 + 0.02 and x2 >= 340 / 640 - 0.02
    assert y1 <= 150 / 360 + 0.03 and y2 >= 230 / 360 - 0.03


def test_masked_region_is_ignored() -> None:
    det = MotionDetector(masks=[[(0.4, 0.0), (0.6, 0.0), (0.6, 1.0), (0.4, 1.0)]])
    warm(det)
    assert not det.update(scene(300)).moving  # the square is inside the mask
    det2 = MotionDetector(masks=[[(0.0, 0.0), (0.2, 0.0), (0.2, 1.0), (0.0, 1.0)]])
    warm(det2)
    assert det2.update(scene(300)).moving


def test_global_brightness_change_is_not_motion() -> None:
    det = MotionDetector()
    warm(det)
    r = det.update(scene(None, brightness=200))
    assert r.global_change and not r.moving


def test_masks_drawn_as_rules_join_the_configured_ones_and_change_at_run_time() -> None:
    from vigil.analytics.pipeline import Pipeline
    from vigil.analytics.rules import Rule, RuleEngine

    class NoDetector:  # the gate under test decides before any detector would run
        def detect(self, frame: np.ndarray, region: object = None) -> list[object]:
            return []

    osd = [(0.0, 0.0), (0.3, 0.0), (0.3, 0.1), (0.0, 0.1)]
    drawn = Rule("tree", "mask", ((0.4, 0.0), (0.6, 0.0), (0.6, 1.0), (0.4, 1.0)))
    pipe = Pipeline(NoDetector(), [drawn], MotionDetector(masks=[osd]))  # type: ignore[arg-type]
    assert pipe.motion.masks() == [osd, list(drawn.points)]
    assert pipe.engine.rules == []  # a mask raises no event of its own
    warm(pipe.motion)
    assert not pipe.motion.update(scene(300)).moving  # inside the drawn mask
    pipe.set_rules([])  # the mask deleted in the UI
    assert pipe.motion.masks() == [osd]
    warm(pipe.motion)
    assert pipe.motion.update(scene(300)).moving
    try:
        RuleEngine([Rule("thin", "mask", ((0.1, 0.1), (0.2, 0.2)))])
    except ValueError as err:
        assert "at least 3 points" in str(err)
    else:
        raise AssertionError("a two-point mask was accepted")
