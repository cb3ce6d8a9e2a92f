"""CenterNet (`analytics.model: centernet`, the default): Vigil's TFJS → ONNX conversion of its heads and its own
peak-picking against TensorFlow's outputs and the graph's own post-processing, and its detections on real
photographs (real footage: tests/test_real_footage.py)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigil.analytics.centernet import SCORE_POWER, CenterNet, blob, decode
from vigil.analytics.engines import check_engine, make_detector
from vigil.analytics.scoring import iou_matrix
from vigil.config import AnalyticsConfig
from vigil.errors import ConfigError

PHOTOS = Path("/usr/share/darknet/data")
REFERENCE = Path(__file__).parent / "data" / "centernet_tf_reference.npz"


@pytest.fixture(scope="module")
def centernet() -> CenterNet:
    det = make_detector(AnalyticsConfig())
    assert isinstance(det, CenterNet)
    return det


def test_onnx_heads_equal_tensorflow_on_a_real_photograph(centernet: CenterNet) -> None:
    """TensorFlow's heads for person.jpg at the graph's 512×512 (tests/data/centernet_tf_reference.py, the 64
    hottest cells) against the converted graph on ONNX Runtime: the same within 1e-4."""
    ref = np.load(REFERENCE)
    heat, dist = centernet.heads(blob(cv2.imread(str(PHOTOS / "person.jpg")), 512, 512))
    cells, kept = ref["cells"], centernet.classes  # the classes Vigil reports: the head computes only those
    assert float(np.abs(heat.reshape(-1, len(kept))[cells] - ref["heat"][:, kept]).max()) < 1e-4
    assert float(np.abs(dist.reshape(-1, 4)[cells] - ref["dist"]).max()) < 1e-4


def test_peaks_and_boxes_equal_the_graphs_own_post_processing(centernet: CenterNet) -> None:
    """The graph's own decoding (its top 100 peaks, as TensorFlow computed them) is left out of the conversion;
    Vigil's NumPy peak-picking finds each of those peaks above 0.1 of the classes it reports, with the same class
    and box (within 0.05 px), and no other."""
    ref = np.load(REFERENCE)
    heat, dist = centernet.heads(blob(cv2.imread(str(PHOTOS / "person.jpg")), 512, 512))
    rows = decode(heat, dist, 512, 512, floor=0.1 ** SCORE_POWER, classes=centernet.classes)
    cls = rows[:, 5:].argmax(axis=1)
    ours = np.column_stack([(rows[:, 0] - rows[:, 2] / 2) * 512, (rows[:, 1] - rows[:, 3] / 2) * 512,
                            (rows[:, 0] + rows[:, 2] / 2) * 512, (rows[:, 1] + rows[:, 3] / 2) * 512,
                            rows[np.arange(len(rows)), 5 + cls] ** (1 / SCORE_POWER), cls])
    theirs = ref["detections"][(ref["detections"][:, 4] >= 0.1) & np.isin(ref["detections"][:, 5], centernet.classes)]
    assert len(theirs) >= 5 and len(ours) == len(theirs)
    for t in theirs:
        same = ours[(ours[:, 5] == t[5]) & (np.abs(ours[:, :4] - t[:4]).max(axis=1) < 0.05)]
        assert len(same) == 1 and abs(same[0, 4] - t[4]) < 1e-4, t


def test_any_input_size_of_the_networks_steps(centernet: CenterNet) -> None:
    """The graph was exported at 512×512; its fixed resizes were made relative, so a 4:3 picture goes in at its
    own shape and the heads have a cell per 4 × 4 pixels of it."""
    heat, dist = centernet.heads(np.zeros((1, 352, 480, 3), np.float32))
    assert heat.shape == (88, 120, len(centernet.classes)) and dist.shape == (88, 120, 4)


def test_objects_in_real_photographs(centernet: CenterNet) -> None:
    """darknet's photographs: the person and dog of person.jpg; the dog, bicycle and car of dog.jpg, each where it
    is (boxes checked against hand-measured ones at IoU ≥ 0.7)."""
    cases = {"person.jpg": {"person": [(190, 95, 274, 380)], "dog": [(70, 264, 202, 346)]},
             "dog.jpg": {"dog": [(131, 221, 360, 542)], "bicycle": [(122, 128, 569, 424)],
                         "car": [(467, 82, 687, 172)]}}
    for name, want in cases.items():
        img = cv2.imread(str(PHOTOS / name))
        h, w = img.shape[:2]
        dets = centernet.detect(img)
        for label, boxes_want in want.items():
            boxes = [(d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h) for d in dets
                     if d.label == label or (label == "car" and d.label == "truck")]
            assert boxes, (name, label, dets)
            assert float(iou_matrix(boxes_want, boxes).max()) >= 0.7, (name, label, boxes)


def test_decode_places_boxes_around_peaks() -> None:
    """One peak at row 2, column 3 (centre (12, 8) at stride 4) with distances left 4, top 2, right 6, bottom 10;
    a hotter neighbour of another class does not hide it, a cooler one of its own class is no peak."""
    heat = np.zeros((8, 8, 80), np.float32)
    dist = np.zeros((8, 8, 4), np.float32)
    heat[2, 3, 0] = 0.81
    heat[2, 4, 0] = 0.5  # beside the peak: not a peak of its own
    heat[2, 4, 2] = 0.9  # another class, hotter: a peak of its own
    dist[2, 3] = (4, 2, 6, 10)
    rows = decode(heat, dist, 32, 32, floor=0.3)
    assert len(rows) == 2
    person = rows[rows[:, 5].argmax()]
    x0, y0 = (person[0] - person[2] / 2) * 32, (person[1] - person[3] / 2) * 32
    x1, y1 = (person[0] + person[2] / 2) * 32, (person[1] + person[3] / 2) * 32
    assert np.allclose([x0, y0, x1, y1], [8, 6, 18, 18], atol=1e-4)
    assert person[5] == pytest.approx(0.81 ** SCORE_POWER)


def test_large_near_vehicles_without_a_second_pass(centernet: CenterNet) -> None:
    """The plates scene's car, a third of the picture tall, on 14 pictures as it drives through the gate: found
    at CenterNet's own width without YOLOv3-tiny's coarse pass (the default coarse_width for centernet is 0)."""
    from vigil.sim.scripted import SCRIPTS, ScriptedScene

    assert AnalyticsConfig().detector_settings()[2] == 0
    scene = ScriptedScene(640, 360, "GATE", SCRIPTS["plates"])
    pictures = [scene.draw(int(t * 5), 5, 7e6 * 70 + t) for t in (3, 4, 5, 6, 7, 8, 9, 22, 23, 24, 25, 26, 27, 28)]
    found = sum(any(d.label in ("car", "truck", "bus") for d in centernet.detect(p)) for p in pictures)
    assert found >= 12, found


def test_centernet_settings_fail_start_up_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="centernet runs on engine: onnxruntime at precision: fp32"):
        check_engine(AnalyticsConfig(precision="int8"))
    os.environ["VIGIL_MODELS"] = str(tmp_path)
    try:
        with pytest.raises(ConfigError, match="make detector-models"):
            check_engine(AnalyticsConfig())
    finally:
        del os.environ["VIGIL_MODELS"]
