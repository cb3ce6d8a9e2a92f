"""Best-shot scoring: of all the sightings of one face track, the one worth keeping and recognising is the
biggest, sharpest, most frontal one (eye state is not known to CenterFace, so it is not scored)."""

from __future__ import annotations

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox

FULL_SIZE_PX = 100.0  # a face this tall or taller scores full marks for size
FULL_SHARPNESS = 120.0  # variance of the Laplacian of a sharp face crop


def frontal(face: FaceBox) -> float:
    """1 for a face looking at the camera, towards 0 as it turns: where the nose sits between the eyes."""
    (ex1, ey1), (ex2, ey2), (nx, _), _, _ = face.landmarks
    span = ex2 - ex1
    if abs(span) < 1e-6:
        return 0.0
    r = (nx - ex1) / span
    yaw = min(1.0, abs(r - 0.5) * 2)
    roll = min(1.0, abs(np.degrees(np.arctan2(ey2 - ey1, ex2 - ex1))) / 45)
    return float(max(0.0, 1 - yaw) * (1 - 0.5 * roll))


def sharpness(image: np.ndarray, face: FaceBox) -> float:
    x1, y1, x2, y2 = (max(0, round(v)) for v in face.box)
    crop = image[y1:y2, x1:x2]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)  # comparable across face sizes
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def quality(image: np.ndarray, face: FaceBox) -> float:
    """0..1: size × sharpness × frontality × detector confidence."""
    size = min(1.0, face.height / FULL_SIZE_PX)
    sharp = min(1.0, sharpness(image, face) / FULL_SHARPNESS)
    return float(size * (0.3 + 0.7 * sharp) * (0.2 + 0.8 * frontal(face)) * face.score)
