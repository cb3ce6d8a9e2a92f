"""The shipped detector on real photographs (Debian's darknet package carries them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from vigil.analytics.darknet import to_onnx
from vigil.analytics.detector import Detection, YoloV3Tiny, darknet_cfg, merge_nested, model_dir
from vigil.analytics.engines import check_engine
from vigil.analytics.onnx_detector import OnnxYolo
from vigil.analytics.quantize import build_int8, calibration_pictures
from vigil.config import AnalyticsConfig
from vigil.errors import ConfigError

PHOTOS = Path("/usr/share/darknet/data")


def test_person_horse_and_dog_in_real_photographs() -> None:
    det = YoloV3Tiny()
    person = det.detect(cv2.imread(str(PHOTOS / "person.jpg")))
    labels = {d.label for d in person}
    assert "person" in labels and ({"horse", "dog"} & labels), labels
    p = next(d for d in person if d.label == "person")
    assert p.score > 0.5 and 0.1 < (p.box[3] - p.box[1]) <= 1.0
    dog = det.detect(cv2.imread(str(PHOTOS / "dog.jpg")))
    assert "dog" in {d.label for d in dog} and {"car", "truck", "bicycle"} & {d.label for d in dog}, dog
    # The pick-up is one vehicle: YOLO's nested "car" and "truck" boxes for it are folded into one.
    vehicles = [d for d in dog if d.label in ("car", "truck")]
    assert len(vehicles) == 1 and vehicles[0].box[2] - vehicles[0].box[0] > 0.25, vehicles
    # A picture with nothing in it finds nothing.
    assert det.detect(cv2.imread(str(PHOTOS / "person.jpg"))[:40, :40] * 0) == []


def test_nested_boxes_of_one_group_merge_but_other_groups_stay() -> None:
    big = Detection("truck", 0.6, (0.3, 0.5, 0.6, 0.75))
    part = Detection("truck", 0.8, (0.4, 0.55, 0.5, 0.7))
    rider = Detection("person", 0.9, (0.42, 0.3, 0.5, 0.7))
    other = Detection("car", 0.7, (0.7, 0.5, 0.9, 0.7))
    out = merge_nested([big, part, rider, other])
    assert sorted((d.label, d.score, d.box) for d in out) == sorted([
        ("truck", 0.8, big.box), ("person", 0.9, rider.box), ("car", 0.7, other.box)])


PICTURES = ("person", "dog", "horses", "eagle", "giraffe")


def test_onnx_graph_matches_opencv_dnn_on_real_photographs() -> None:
    """The Darknet → ONNX conversion (vigil/analytics/darknet.py) on ONNX Runtime gives OpenCV DNN's rows —
    every box and score before any threshold or NMS — within 1e-4, square and at the picture's own shape."""
    for size in (416, 544):
        cv, ort = YoloV3Tiny(size=size), OnnxYolo(size=size)
        for name in PICTURES:
            img = cv2.imread(str(PHOTOS / f"{name}.jpg"))
            for pic in (img, cv2.resize(img, (416, 416))):
                a, b = cv.rows(pic), ort.rows(pic)
                assert a.shape == b.shape and a.shape[1] == 85
                assert float(np.abs(a - b).max()) < 1e-4, (name, size, float(np.abs(a - b).max()))
                assert cv.detect(pic) == ort.detect(pic) or [d.label for d in cv.detect(pic)] == [
                    d.label for d in ort.detect(pic)]


def test_engine_settings_fail_start_up_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'cuda' \(CUDAExecutionProvider\) is not in this ONNX Runtime.*"
                                          r"onnxruntime-gpu"):
        check_engine(AnalyticsConfig(providers=["cuda"]))
    with pytest.raises(ConfigError, match="engine: opencv runs FP32 on the CPU only"):
        check_engine(AnalyticsConfig(model="yolov3-tiny", engine="opencv", precision="int8"))
    with pytest.raises(ValidationError):
        AnalyticsConfig(providers=["gpu"])
    os.environ["VIGIL_MODELS"] = str(tmp_path)
    try:
        with pytest.raises(ConfigError, match="vigil models build"):
            check_engine(AnalyticsConfig(model="yolov3-tiny", precision="int8"))
        # `vigil check` says the same and exits 2, as `vigil serve` would at start-up.
        cfg = tmp_path / "vigil.yml"
        cfg.write_text(f"storage: {{path: {tmp_path / 'rec'}}}\nanalytics: {{providers: [openvino]}}\n")
        (tmp_path / "rec").mkdir()
        res = subprocess.run([sys.executable, "-m", "vigil.cli", "check", "-c", str(cfg)], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 2 and "'openvino'" in res.stderr and "onnxruntime-openvino" in res.stderr, res
    finally:
        del os.environ["VIGIL_MODELS"]


def test_int8_model_built_from_real_pictures_runs(tmp_path: Path) -> None:
    pictures = calibration_pictures(sorted(PHOTOS.glob("*.jpg")), [])
    path = build_int8(pictures, tmp_path / "yolov3-tiny-int8.onnx")
    os.environ["VIGIL_MODELS"] = str(tmp_path)
    try:
        det = OnnxYolo(precision="int8")
    finally:
        del os.environ["VIGIL_MODELS"]
    assert path.stat().st_size < 20_000_000  # FP32 weights are 35 MB
    # The first block (3-channel convolution, activation, pooling) stays in FP32: quantization starts after it.
    import onnx

    nodes = onnx.load(str(path)).graph.node
    first_q = next(n for n in nodes if n.op_type == "QuantizeLinear" and not n.input[0].endswith(("_w", "_b")))
    pools = [n for n in nodes if n.op_type == "MaxPool"]
    assert first_q.input[0] == pools[0].output[0], (first_q.input, pools[0].output)
    found = det.detect(cv2.imread(str(PHOTOS / "person.jpg")))
    assert "person" in {d.label for d in found}, found


def test_converter_refuses_weights_of_another_model(tmp_path: Path) -> None:
    short = tmp_path / "short.weights"
    short.write_bytes((model_dir() / "yolov3-tiny.weights").read_bytes()[:1_000_000])
    with pytest.raises(ValueError, match="shorter than the darknet cfg needs"):
        to_onnx(darknet_cfg(), short)
    with pytest.raises(ValueError, match="starts with a \\[net\\] section"):
        to_onnx("[convolutional]\nfilters=16\n", short)


def test_large_near_vehicles_found_at_the_default_input() -> None:
    """YOLOv3-tiny (`model: yolov3-tiny`): the input wide enough for far people (672) loses large, near objects
    this model was trained to see at 320-608; the coarse pass finds them again. The plates scene's car, a third of
    the picture tall, on 16 pictures as it drives through the gate: fine pass alone against fine + coarse."""
    from vigil.analytics.engines import make_detector
    from vigil.sim.scripted import SCRIPTS, ScriptedScene

    scene = ScriptedScene(640, 360, "GATE", SCRIPTS["plates"])
    pictures = [scene.draw(int(t * 5), 5, 7e6 * 70 + t) for t in (3, 4, 5, 6, 7, 8, 9, 22, 23, 24, 25, 26, 27, 28)]
    cfg = AnalyticsConfig(model="yolov3-tiny")
    assert cfg.detector_settings()[1] >= 640 and cfg.detector_settings()[2] == 320

    def found(det: object) -> int:
        return sum(any(d.label in ("car", "truck", "bus") for d in det.detect(p)) for p in pictures)  # type: ignore[attr-defined]

    fine_only = found(make_detector(cfg.model_copy(update={"coarse_width": 0})))
    both = found(make_detector(cfg))
    assert both >= 12 and both > fine_only, (both, fine_only)
