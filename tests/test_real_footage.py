"""Vigil's analytics on real footage it did not make, against hand-annotated ground truth (bench/truth/):
the same pipeline, settings and frame pacing as a camera's analysis (bench/realclips.py)."""

from __future__ import annotations

import pytest

from bench.realclips import Clip, Run, analyse, load, people_score
from vigil.analytics.engines import make_detector
from vigil.analytics.scoring import score_crossings
from vigil.config import AnalyticsConfig


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


@pytest.mark.parametrize("model", ["centernet", "nanodet", "yolov3-tiny"])
def test_people_detected_on_a_real_campus_path(vtest: tuple[Clip, Run], model: str) -> None:
    """The detector as the analysis runs it (its input, thresholds and merges), against hand-drawn boxes of the
    people ≥ 40 px tall on 8 pictures of vtest.avi, pictures up to 768 wide. Measured: CenterNet (the default,
    480 wide) and NanoDet (416 wide) recall 0.91 at precision 0.98; YOLOv3-tiny (672 wide) 0.89 / 0.98 (0.78 /
    0.92 at 544 on pictures scaled to 640; 0.02 before the anchor fix in detector.darknet_cfg)."""
    clip, run = vtest
    if model != AnalyticsConfig().model:
        run = analyse(clip, make_detector(AnalyticsConfig(model=model)))  # type: ignore[arg-type]
    assert {n - 1 for n in clip.boxes} <= set(run.detections), "the detector ran on every annotated picture"
    s = people_score(clip, run)
    assert s.truth >= 40
    assert s.recall >= 0.85 and s.precision >= 0.9, (s.recall, s.precision, s.hits, s.false, s.truth)


# Floors (recall, precision) per model on the street film, a little under what was measured.
STREET_FLOOR = {"centernet": (0.6, 0.75), "nanodet": (0.45, 0.6), "yolov3-tiny": (0.35, 0.8)}


@pytest.mark.parametrize("model", ["centernet", "nanodet", "yolov3-tiny"])
def test_people_detected_in_a_real_street_film(model: str) -> None:
    """The 1906 Market Street film, from a moving cable car: grainy black and white, people on foot and on bicycles
    in front and crowds on the pavements (crowds and figures cut by the edge are don't-care regions in the truth).
    Measured on 30 people ≥ 40 px tall in 7 pictures: CenterNet (the default) recall 0.70 at precision 0.84;
    NanoDet 0.53 / 0.70; YOLOv3-tiny 0.43 / 0.87. YOLOv3-tiny finds the near, upright people and misses most of
    those in groups, on bicycles or half hidden; NanoDet finds more of them but boxes some pairs walking together
    as one. None reaches 0.85 here at any input size or threshold tried (YOLOv3-tiny 0.27-0.47 from 544 to 960
    wide, NanoDet 0.50-0.77 at precision 0.27-0.83 from 416 to 960, CenterNet 0.63-0.80 at 0.52-0.84 from 448
    to 640), so these floors keep what is found and the README reports the gap."""
    film = clip("market_street")
    run = analyse(film, make_detector(AnalyticsConfig(model=model)))  # type: ignore[arg-type]
    assert run.detector_runs == run.frames > 250, "the moving camera keeps the motion gate open"
    assert {n - 1 for n in film.boxes} <= set(run.detections), "the annotated pictures are the ones the analysis takes"
    s = people_score(film, run)
    assert s.truth >= 30
    low_recall, low_precision = STREET_FLOOR[model]
    assert s.recall >= low_recall and s.precision >= low_precision, (s.recall, s.precision, s.hits, s.false, s.truth)


def test_swaying_trees_raise_no_person_or_vehicle_event() -> None:
    """tree.avi: motion everywhere, nobody in view; the detector runs on every picture (gate off) and no rule
    for people or vehicles fires."""
    trees = clip("tree")
    run = analyse(trees, gate=False)
    assert run.detector_runs == run.frames > 50
    assert run.labels == [], run.labels
