"""Face embeddings: dlib's ResNet (128-D, 99.38 % on LFW as published by dlib), on a face aligned by dlib's
5-point landmark model inside the detector's box. Vectors are L2-normalised, so cosine similarity is a dot
product (dlib's own "same person" distance of 0.6 is a cosine of 0.82)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.models import dlib_landmarks5, dlib_resnet

DIM = 128


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class DlibEmbedder:
    dim = DIM

    def __init__(self) -> None:
        import dlib  # dlib-bin

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(dlib_landmarks5()))
        self._net = dlib.face_recognition_model_v1(str(dlib_resnet()))
        self._lock = threading.Lock()  # dlib's networks are not documented as thread-safe

    def embed(self, image: np.ndarray, face: FaceBox) -> np.ndarray:
        """The normalised embedding of one face of a BGR picture."""
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        x1, y1, x2, y2 = (round(v) for v in face.box)
        rect = self._dlib.rectangle(max(0, x1), max(0, y1), min(image.shape[1] - 1, x2), min(image.shape[0] - 1, y2))
        with self._lock:
            shape = self._shape(rgb, rect)
            vec = self._net.compute_face_descriptor(rgb, shape)
        return normalise(np.array(vec, np.float32))
