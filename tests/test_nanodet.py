"""NanoDet (`analytics.model: nanodet`): Vigil's TFJS → ONNX conversion against TensorFlow's own
outputs, and its detections on real photographs (real footage: tests/test_real_footage.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigil.analytics.engines import check_engine, make_detector
from vigil.analytics.nanodet import NanoDet, blob, decode
from vigil.analytics.scoring import iou_matrix
from vigil.analytics.tfjs import TfjsError, to_onnx
from vigil.config import AnalyticsConfig
from vigil.errors import ConfigError

PHOTOS = Path("/usr/share/darknet/data")
REFERENCE = Path(__file__).parent / "data" / "nanodet_tf_reference.npz"


@pytest.fixture(scope="module")
def nanodet() -> NanoDet:
    det = make_detector(AnalyticsConfig(model="nanodet"))
    assert isinstance(det, NanoDet)
    return det


def test_onnx_graph_equals_tensorflow_on_a_real_photograph(nanodet: NanoDet) -> None:
    """TensorFlow's outputs for person.jpg (tests/data/nanodet_tf_reference.py, the 64 best cells of each
    stride) against the converted graph on ONNX Runtime: the same within 1e-4."""
    ref = np.load(REFERENCE)
    maps = nanodet.maps(blob(cv2.imread(str(PHOTOS / "person.jpg")), 416, 416))
    for i in range(3):
        cells = ref[f"cells{i}"]
        scores, dists = maps[i][0][cells], maps[3 + i][0][cells]
        assert float(np.abs(scores - ref[f"scores{i}"]).max()) < 1e-4
        assert float(np.abs(dists - ref[f"dists{i}"]).max()) < 1e-4


def test_any_input_size_of_the_networks_steps(nanodet: NanoDet) -> None:
    """The TFJS graph was exported at 416×416; its fixed reshapes and resizes were made relative, so a 16:9
    picture goes in at its own shape and every stride's map has the cells of that shape."""
    maps = nanodet.maps(np.zeros((1, 3, 384, 672), np.float32))
    assert [m.shape[1] for m in maps] == [48 * 84, 24 * 42, 12 * 21] * 2


def test_objects_in_real_photographs(nanodet: NanoDet) -> None:
    """darknet's photographs: the person, horse and dog of person.jpg; the dog, bicycle and car of dog.jpg, each
    where it is (boxes checked against hand-measured ones at IoU ≥ 0.7)."""
    cases = {"person.jpg": {"person": (190, 95, 274, 380), "dog": (70, 264, 202, 346)},
             "dog.jpg": {"dog": (131, 221, 360, 542), "bicycle": (122, 128, 569, 424)}}
    for name, want in cases.items():
        img = cv2.imread(str(PHOTOS / name))
        h, w = img.shape[:2]
        dets = nanodet.detect(img)
        for label, box in want.items():
            boxes = [(d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h) for d in dets if d.label == label]
            assert boxes, (name, label, dets)
            assert float(iou_matrix([box], boxes).max()) >= 0.7, (name, label, boxes)
    car = (467, 82, 687, 172)  # the car behind the bicycle in dog.jpg: "car" or "truck" (one NMS group)
    img = cv2.imread(str(PHOTOS / "dog.jpg"))
    h, w = img.shape[:2]
    boxes = [(d.box[0] * w, d.box[1] * h, d.box[2] * w, d.box[3] * h) for d in nanodet.detect(img)
             if d.label in ("car", "truck")]
    assert boxes and float(iou_matrix([car], boxes).max()) >= 0.7, boxes


def test_decode_places_boxes_on_cell_centres() -> None:
    """One cell of the finest stride, all distances certain: a box around the cell's centre ((col + ½)·8)."""
    w, h = 64, 32
    scores = [np.zeros((1, (h // s) * (w // s), 80), np.float32) for s in (8, 16, 32)]
    dists = [np.full((1, (h // s) * (w // s), 44), -50.0, np.float32) for s in (8, 16, 32)]
    cell = 1 * (w // 8) + 2  # row 1, column 2: centre (20, 12)
    scores[0][0, cell, 0] = 0.9
    d = dists[0][0, cell].reshape(4, 11)
    d[0, 2] = d[1, 1] = d[2, 3] = d[3, 4] = 50.0  # left 16, top 8, right 24, bottom 32 px
    rows = decode(scores, dists, w, h)
    best = rows[rows[:, 5].argmax()]
    x1, y1 = (best[0] - best[2] / 2) * w, (best[1] - best[3] / 2) * h
    x2, y2 = (best[0] + best[2] / 2) * w, (best[1] + best[3] / 2) * h
    assert np.allclose([x1, y1, x2, y2], [20 - 16, 12 - 8, 20 + 24, 12 + 32], atol=1e-3)


def test_large_near_vehicles_without_a_second_pass(nanodet: NanoDet) -> None:
    """The plates scene's car, a third of the picture tall, on 14 pictures as it drives through the gate: NanoDet
    at 416 finds it without YOLOv3-tiny's coarse pass (the default coarse_width for nanodet is 0)."""
    from vigil.sim.scripted import SCRIPTS, ScriptedScene

    assert AnalyticsConfig(model="nanodet").detector_settings()[2] == 0
    scene = ScriptedScene(640, 360, "GATE", SCRIPTS["plates"])
    pictures = [scene.draw(int(t * 5), 5, 7e6 * 70 + t) for t in (3, 4, 5, 6, 7, 8, 9, 22, 23, 24, 25, 26, 27, 28)]
    found = sum(any(d.label in ("car", "truck", "bus") for d in nanodet.detect(p)) for p in pictures)
    assert found >= 12, found


def test_pictures_detected_side_by_side_equal_one_at_a_time(nanodet: NanoDet) -> None:
    """`analytics.parallel`: cameras share one session, two pictures at once; each gets what it would alone."""
    from concurrent.futures import ThreadPoolExecutor

    from vigil.events.analysis_load import LockedDetector

    pictures = [cv2.imread(str(PHOTOS / f"{name}.jpg")) for name in ("person", "dog", "horses", "eagle")] * 3
    alone = [nanodet.detect(p) for p in pictures]
    shared = LockedDetector(nanodet, parallel=2)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(shared.detect, pictures))
    assert together == alone and any(alone) and shared.runs == len(pictures)


def test_parallel_passes_by_default_on_the_cpu_only() -> None:
    cores = len(os.sched_getaffinity(0))
    assert AnalyticsConfig().detector_parallel() == ((cores, 1) if cores > 1 else (1, 0))
    assert AnalyticsConfig(parallel=1).detector_parallel() == (1, 0)  # one pass on every core
    assert AnalyticsConfig(providers=["cuda", "cpu"]).detector_parallel() == (1, 0)
    assert AnalyticsConfig(model="yolov3-tiny", engine="opencv").detector_parallel() == (1, 0)
    with pytest.raises(ConfigError, match="engine: opencv runs one picture at a time"):
        check_engine(AnalyticsConfig(model="yolov3-tiny", engine="opencv", parallel=2))


def test_nanodet_settings_fail_start_up_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nanodet runs on engine: onnxruntime at precision: fp32"):
        check_engine(AnalyticsConfig(model="nanodet", precision="int8"))
    os.environ["VIGIL_MODELS"] = str(tmp_path)
    try:
        with pytest.raises(ConfigError, match="make detector-models"):
            check_engine(AnalyticsConfig(model="nanodet"))
    finally:
        del os.environ["VIGIL_MODELS"]


def test_converter_refuses_what_it_cannot_convert(tmp_path: Path) -> None:
    """A TFJS model with an op the converter does not know: an error naming the op, not a wrong graph."""
    spec = {"format": "graph-model", "signature": {"inputs": {}, "outputs": {"y": {"name": "y"}}},
            "weightsManifest": [],
            "modelTopology": {"node": [
                {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "1"}]}}}},
                {"name": "y", "op": "Cumsum", "input": ["x"]}]}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(TfjsError, match="op Cumsum"):
        to_onnx(path)
    path.write_text(json.dumps({"format": "layers-model"}))
    with pytest.raises(TfjsError, match="not a TFJS graph model"):
        to_onnx(path)
