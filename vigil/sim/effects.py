"""Faults a simulated camera can be told to show, to trigger Vigil's alarms for real: `blank` (a uniform grey
picture), `cover` (a hand or a cloth over the lens: dark, nearly uniform), `blur` (knocked out of focus),
`shift` (the camera was turned: the scene moves), `stop` (the stream stops: video loss), `tone` (a loud
880 Hz tone on the camera's microphone, with `vigil sim --audio`), `none`.

Set over the sim's HTTP port: `GET /control/cam1?effect=blank`. The camera's burned-in clock stays on top, as
a real camera's OSD does."""

from __future__ import annotations

import threading

import cv2
import numpy as np

EFFECTS = ("none", "blank", "cover", "blur", "shift", "stop", "tone")  # tone: a loud sound (sim --audio)
_current: dict[str, str] = {}
_lock = threading.Lock()


def set_effect(camera: str, effect: str) -> None:
    if effect not in EFFECTS:
        raise ValueError(f"effect {effect!r}: use one of {', '.join(EFFECTS)}")
    with _lock:
        _current[camera] = effect


def effect_of(camera: str) -> str:
    with _lock:
        return _current.get(camera, "none")


def apply(camera: str, img: np.ndarray) -> np.ndarray:
    e = effect_of(camera)
    if e == "blank":
        return np.full_like(img, 128)
    if e == "cover":
        rng = np.random.default_rng()
        return np.clip(rng.normal(18, 2, img.shape), 0, 255).astype(np.uint8)
    if e == "blur":
        return cv2.GaussianBlur(img, (0, 0), 7)
    if e == "shift":
        h, w = img.shape[:2]
        m = np.array([[1, 0, w * 0.35], [0, 1, -h * 0.25]], np.float32)
        turned: np.ndarray = cv2.warpAffine(np.ascontiguousarray(img[:, ::-1]), m, (w, h),
                                            borderMode=cv2.BORDER_REFLECT)
        return turned
    return img
