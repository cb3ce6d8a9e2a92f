"""Vigil's analytics on real footage it did not make, against hand-annotated ground truth (bench/truth/):
the same pipeline, settings and frame pacing as a camera's analysis (bench/realclips.py)."""

from __future__ import annotations

import pytest

from bench.realclips import Clip, analyse, load
from vigil.analytics.scoring import score_crossings


def clip(name: str) -> Clip:
    c = load(name)
    if not c.present:
        pytest.fail(f"{c.file} is missing: {c.install}")
    return c


def test_people_crossing_lines_on_a_real_campus_path() -> None:
    """vtest.avi: 63 crossings of two lines by people 30-160 px tall, in pairs and groups, at 5 fps."""
    vtest = clip("vtest")
    run = analyse(vtest)
    for line in vtest.lines:
        s = score_crossings([c for c in vtest.crossings if c.line == line],
                            [c for c in run.crossings if c.line == line])
        detail = (f"line {line}: missed {[(m.direction, m.t_ms) for m in s.misses]}, "
                  f"false {[(e.direction, e.t_ms) for e in s.extras]}")
        assert s.truth >= 30, detail
        assert s.recall >= 0.9, detail
        assert s.precision >= 0.9, detail


def test_swaying_trees_raise_no_person_or_vehicle_event() -> None:
    """tree.avi: motion everywhere, nobody in view; the detector runs on every picture (gate off) and no rule
    for people or vehicles fires."""
    trees = clip("tree")
    run = analyse(trees, gate=False)
    assert run.detector_runs == run.frames > 50
    assert run.labels == [], run.labels
