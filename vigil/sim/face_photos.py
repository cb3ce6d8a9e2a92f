"""Real face photographs for the face scene, the tests and the benchmark.

No package carries a labelled multi-identity face set (LFW and the like are downloads), so Vigil uses the
face photographs that ship inside two PyPI source packages: face_recognition 1.3.0's test images (three
different photographs of Barack Obama, one of Joe Biden; MIT-licensed package, U.S. government portraits)
and insightface's sample images (a group photo of six people, a 112×112 crop of Tom Hanks). `make` unpacks
them into the virtualenv; VIGIL_FACE_PHOTOS points elsewhere.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vigil.errors import ConfigError


def photo_dir() -> Path:
    return Path(os.environ.get("VIGIL_FACE_PHOTOS") or Path(sys.prefix) / "share" / "vigil-face-photos")


@dataclass(frozen=True)
class FacePhoto:
    identity: str
    file: str
    box: tuple[int, int, int, int]  # the face, in the photo's pixels (found once with CenterFace)


# Identities with their photographs; "group-N" are the six people of insightface's group photo.
PHOTOS = (
    FacePhoto("obama", "obama.jpg", (374, 107, 603, 418)),
    FacePhoto("obama", "obama2.jpg", (198, 214, 464, 658)),
    FacePhoto("obama", "obama3.jpg", (642, 249, 915, 619)),
    FacePhoto("biden", "biden.jpg", (422, 168, 728, 583)),
    FacePhoto("hanks", "Tom_Hanks_54745.png", (7, 5, 88, 111)),
    FacePhoto("group-1", "t1.jpg", (745, 345, 844, 481)),
    FacePhoto("group-2", "t1.jpg", (464, 268, 572, 416)),
    FacePhoto("group-3", "t1.jpg", (1133, 268, 1230, 401)),
    FacePhoto("group-4", "t1.jpg", (903, 59, 1014, 206)),
    FacePhoto("group-5", "t1.jpg", (62, 266, 165, 394)),
    FacePhoto("group-6", "t1.jpg", (272, 151, 372, 264)),
)


def available() -> bool:
    return all((photo_dir() / p.file).exists() for p in PHOTOS)


def load(file: str) -> np.ndarray:
    path = photo_dir() / file
    img = cv2.imread(str(path))
    if img is None:
        raise ConfigError(
            f"the face photograph {path} is missing: `make` unpacks them from PyPI's face_recognition and "
            "insightface source packages (see the Makefile's face-photos target), or set VIGIL_FACE_PHOTOS"
        )
    return img


def crop(photo: FacePhoto, margin: float = 0.6) -> np.ndarray:
    """The face with a margin around it: what a person would crop for enrolment."""
    img = load(photo.file)
    x1, y1, x2, y2 = photo.box
    m = int((x2 - x1) * margin)
    return img[max(0, y1 - m) : y2 + m, max(0, x1 - m) : x2 + m].copy()


def card(photo: FacePhoto) -> np.ndarray:
    """Head and shoulders cut from the photo as BGRA with a soft oval edge, to walk through a scene."""
    img = load(photo.file)
    x1, y1, x2, y2 = photo.box
    fw, fh = x2 - x1, y2 - y1
    cx1, cx2 = max(0, int(x1 - 0.6 * fw)), min(img.shape[1], int(x2 + 0.6 * fw))
    cy1, cy2 = max(0, int(y1 - 0.35 * fh)), min(img.shape[0], int(y2 + 1.1 * fh))
    part = img[cy1:cy2, cx1:cx2]
    h, w = part.shape[:2]
    alpha = np.zeros((h, w), np.uint8)
    cv2.ellipse(alpha, (w // 2, int(h * 0.42)), (int(w * 0.34), int(h * 0.42)), 0, 0, 360, 255, -1)  # head
    cv2.ellipse(alpha, (w // 2, h), (w // 2, int(h * 0.42)), 0, 0, 360, 255, -1)  # shoulders
    soft = cv2.GaussianBlur(alpha, (0, 0), max(1.0, w / 60))
    return np.dstack([part, soft])
