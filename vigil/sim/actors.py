"""Real photographs cut out to move through simulated scenes: a person, a car and a dog.

The photographs come from Debian's `darknet` package (its sample images; `make test` installs it). Each is
cut out once with OpenCV's GrabCut from a box around the subject and kept, with its mask, in the sim cache.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from vigil.errors import ConfigError
from vigil.sim import face_photos
from vigil.sim.encode import cache_dir

PHOTO_DIRS = [Path(os.environ.get("VIGIL_PHOTOS", "/usr/share/darknet/data"))]


@dataclass(frozen=True)
class SpriteSource:
    photo: str
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 around the subject
    label: str  # the COCO class a detector should see
    pad: int = 8


SOURCES = {
    "person": SpriteSource("person.jpg", (180, 94, 278, 383), "person"),
    "car": SpriteSource("dog.jpg", (467, 82, 687, 172), "car", pad=4),
    "dog": SpriteSource("dog.jpg", (124, 219, 382, 518), "dog"),
}


# Head-and-shoulders cards of real face photographs (sim/face_photos.py), walking like people: (photo index
# in face_photos.PHOTOS, mirrored). The scene's walkers use other photographs than enrolment where there are
# several (Obama), and a mirror image where there is one.
FACE_SPRITES = {
    "face-obama": (2, False),
    "face-biden": (3, True),
    "face-hanks": (4, True),
    "face-stranger": (9, False),
}


def label_of(kind: str) -> str:
    return "person" if kind in FACE_SPRITES else SOURCES[kind].label


def photo_path(name: str) -> Path:
    for d in PHOTO_DIRS:
        if (d / name).exists():
            return d / name
    raise ConfigError(
        f"the sim's scenes need the photograph {name!r} from Debian's darknet package: "
        "`sudo apt-get install --no-install-recommends darknet` (make test does this), or set VIGIL_PHOTOS "
        "to a folder holding it"
    )


def photos_available() -> bool:
    return all((d / s.photo).exists() for s in SOURCES.values() for d in PHOTO_DIRS)


def _cut(src: SpriteSource) -> np.ndarray:
    img = cv2.imread(str(photo_path(src.photo)))
    if img is None:
        raise ConfigError(f"cannot read the photograph {photo_path(src.photo)}")
    x1, y1, x2, y2 = src.box
    mask = np.zeros(img.shape[:2], np.uint8)
    bg, fg = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    p = src.pad
    cv2.grabCut(img, mask, (x1 - p, y1 - p, x2 - x1 + 2 * p, y2 - y1 + 2 * p), bg, fg, 5, cv2.GC_INIT_WITH_RECT)
    alpha = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    ys, xs = np.nonzero(alpha)
    rgba = np.dstack([img, alpha])
    return rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


@cache
def sprite(kind: str) -> np.ndarray:
    """The cut-out as BGRA, cached on disk (GrabCut takes a second or two)."""
    if kind in FACE_SPRITES:
        index, mirrored = FACE_SPRITES[kind]
        out = face_photos.card(face_photos.PHOTOS[index])
        return out[:, ::-1].copy() if mirrored else out
    src = SOURCES[kind]
    key = hashlib.sha1(repr((src.photo, src.box, src.pad, 1)).encode()).hexdigest()[:12]
    path = cache_dir() / f"sprite-{kind}-{key}.png"
    if path.exists():
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is not None and img.ndim == 3 and img.shape[2] == 4:
            return img
    out = _cut(src)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.png")
    cv2.imwrite(str(tmp), out)
    tmp.replace(path)
    return out


@cache
def scaled(kind: str, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """The sprite at a height in pixels: BGR and alpha (0..1, float32, with a channel axis)."""
    img = sprite(kind)
    k = height_px / img.shape[0]
    small = cv2.resize(img, (max(1, round(img.shape[1] * k)), height_px), interpolation=cv2.INTER_AREA)
    return small[:, :, :3].copy(), (small[:, :, 3:4].astype(np.float32) / 255)


def paste(img: np.ndarray, kind: str, foot_x: float, foot_y: float, height_px: int) -> tuple[int, int, int, int]:
    """Draws the sprite standing on (foot_x, foot_y) pixels; returns its box in pixels (clipped)."""
    bgr, alpha = scaled(kind, height_px)
    h, w = bgr.shape[:2]
    x, y = round(foot_x - w / 2), round(foot_y - h)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(img.shape[1], x + w), min(img.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0)
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    region = img[y0:y1, x0:x1]
    region[:] = (bgr[y0 - y : y1 - y, x0 - x : x1 - x] * a + region * (1 - a)).astype(np.uint8)
    return (x0, y0, x1, y1)
