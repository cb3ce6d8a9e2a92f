"""Vigil's analytics on real footage it did not make, against hand-annotated ground truth (bench/truth/):
the same pipeline, settings and frame pacing as a camera's analysis (bench/realclips.py)."""

from __future__ import annotations

import pytest

from bench.realclips import Clip, Run, analyse, load
from vigil.analytics.scoring import score_crossings, score_detections


def clip(name: str) -> Clip:
    c = load(name)
    if not c.present:
        pytest.fail(f"{c.file} is missing: {c.install}")
    return c


@pytest.fixture(scope="module")
def vtest() -> tuple[Clip, Run]:
    c = clip("vtest")
    return c, analyse(c)


def test_people_crossing_lines_on_a_real_campus_path(vtest: tuple[Clip, Run]) -> None:
    """vtest.avi: 63 crossings of two lines by people 30-160 px tall, in pairs and groups, at 5 fps."""
    vtest, run = vtest
    for line in vtest.lines:
        s = score_crossings([c for c in vtest.crossings if c.line == line],
                            [c for c in run.crossings if c.line == line])
        detail = (f"line {line}: missed {[(m.direction, m.t_ms) for m in s.misses]}, "
                  f"false {[(e.direction, e.t_ms) for e in s.extras]}")
        assert s.truth >= 30, detail
        assert s.recall >= 0.9, detail
        assert s.precision >= 0.9, detail


def test_people_detected_on_a_real_campus_path(vtest: tuple[Clip, Run]) -> None:
    """The detector as the analysis runs it (its input, thresholds and merges), against hand-drawn boxes of the
    people ≥ 40 px tall on 8 pictures of vtest.avi. Measured: recall 0.78 at precision 0.92 (0.02 before the
    anchor fix in detector.darknet_cfg). The goal is 0.85: people half hidden behind the sign post or beside
    another person are still missed; this floor keeps what has been won."""
    clip, run = vtest
    w, h = 768, 576
    truth = {n - 1: [b for _, b in boxes] for n, boxes in clip.boxes.items()}
    assert set(truth) <= set(run.detections), "the detector ran on every annotated picture"
    found = {n: [(d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h) for d in ds if d.label == "person"]
             for n, ds in run.detections.items()}
    s = score_detections(truth, found, min_height=40)
    assert s.truth >= 40
    assert s.recall >= 0.75 and s.precision >= 0.9, (s.recall, s.precision, s.hits, s.false, s.truth)


def test_swaying_trees_raise_no_person_or_vehicle_event() -> None:
    """tree.avi: motion everywhere, nobody in view; the detector runs on every picture (gate off) and no rule
    for people or vehicles fires."""
    trees = clip("tree")
    run = analyse(trees, gate=False)
    assert run.detector_runs == run.frames > 50
    assert run.labels == [], run.labels
