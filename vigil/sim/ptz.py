"""A simulated pan-tilt-zoom head: the camera's picture is a window onto a wide panorama that moves as
ONVIF PTZ commands say. The window's position is burned into the picture's barcode (see `position_code`),
so a test can tell from a decoded frame where the camera looks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vigil.sim.barcode import draw_code

PAN_SPEED = 0.5  # units a second at velocity 1 (pan and tilt span -1..1, zoom 0..1)
ZOOM_SPEED = 0.4
SCALE = 10_000


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def position_code(pan: float, tilt: float, zoom: float) -> int:
    """pan, tilt and zoom in one 48-bit barcode value (16 bits each)."""
    p = round((pan + 1) / 2 * SCALE)
    t = round((tilt + 1) / 2 * SCALE)
    z = round(zoom * SCALE)
    return (p << 32) | (t << 16) | z


def decode_position(code: int) -> tuple[float, float, float]:
    p, t, z = (code >> 32) & 0xFFFF, (code >> 16) & 0xFFFF, code & 0xFFFF
    return p / SCALE * 2 - 1, t / SCALE * 2 - 1, z / SCALE


@dataclass
class Preset:
    token: str
    name: str
    pan: float
    tilt: float
    zoom: float


@dataclass
class PtzHead:
    """Position, motion and presets of one camera; thread-safe (the encoder thread reads, the SOAP server
    writes). Presets persist in `state_file` when given, as a real camera keeps them across reboots."""

    state_file: Path | None = None
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0
    presets: dict[str, Preset] = field(default_factory=dict)
    _velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _until: float = 0.0
    _last: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.state_file is not None and self.state_file.exists():
            data = json.loads(self.state_file.read_text())
            self.presets = {p["token"]: Preset(**p) for p in data.get("presets", [])}

    def _advance(self) -> None:
        now = time.monotonic()
        end = min(now, self._until)
        dt = max(0.0, end - self._last)
        vp, vt, vz = self._velocity
        self.pan = _clamp(self.pan + vp * PAN_SPEED * dt, -1, 1)
        self.tilt = _clamp(self.tilt + vt * PAN_SPEED * dt, -1, 1)
        self.zoom = _clamp(self.zoom + vz * ZOOM_SPEED * dt, 0, 1)
        self._last = now
        if now >= self._until:
            self._velocity = (0.0, 0.0, 0.0)

    def position(self) -> tuple[float, float, float]:
        with self._lock:
            self._advance()
            return self.pan, self.tilt, self.zoom

    def moving(self) -> bool:
        with self._lock:
            self._advance()
            return self._velocity != (0.0, 0.0, 0.0)

    def continuous_move(self, pan: float, tilt: float, zoom: float, timeout: float = 60.0) -> None:
        with self._lock:
            self._advance()
            self._velocity = (_clamp(pan, -1, 1), _clamp(tilt, -1, 1), _clamp(zoom, -1, 1))
            self._until = time.monotonic() + timeout

    def stop(self) -> None:
        with self._lock:
            self._advance()
            self._velocity = (0.0, 0.0, 0.0)

    def absolute_move(self, pan: float, tilt: float, zoom: float) -> None:
        with self._lock:
            self._advance()
            self._velocity = (0.0, 0.0, 0.0)
            self.pan, self.tilt, self.zoom = _clamp(pan, -1, 1), _clamp(tilt, -1, 1), _clamp(zoom, 0, 1)

    def set_preset(self, name: str, token: str | None = None) -> str:
        with self._lock:
            self._advance()
            if token is None or token not in self.presets:
                token = token or str(1 + max((int(t) for t in self.presets if t.isdigit()), default=0))
            self.presets[token] = Preset(token, name or f"preset {token}", self.pan, self.tilt, self.zoom)
            self._save()
            return token

    def goto_preset(self, token: str) -> None:
        with self._lock:
            p = self.presets.get(token)
            if p is None:
                raise KeyError(token)
        self.absolute_move(p.pan, p.tilt, p.zoom)

    def remove_preset(self, token: str) -> None:
        with self._lock:
            if self.presets.pop(token, None) is None:
                raise KeyError(token)
            self._save()

    def _save(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"presets": [p.__dict__ for p in self.presets.values()]}))
        tmp.replace(self.state_file)


class PtzScene:
    """The camera's view of a panorama 4 pictures wide and 2 high: numbered columns and a colour wash, so a
    person watching sees it pan; the barcode carries the exact position."""

    def __init__(self, width: int, height: int, label: str, head: PtzHead) -> None:
        self.width, self.height, self.label, self.head = width, height, label, head
        pw, ph = width * 4, height * 2
        x = np.linspace(0, 179, pw, dtype=np.float32)
        hsv = np.empty((ph, pw, 3), np.uint8)
        hsv[..., 0] = x[None, :].astype(np.uint8)
        hsv[..., 1] = 150
        hsv[..., 2] = np.linspace(90, 220, ph, dtype=np.float32)[:, None].astype(np.uint8)
        pano = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        step = pw // 16
        for i in range(16):
            cv2.line(pano, (i * step, 0), (i * step, ph), (255, 255, 255), 2)
            cv2.putText(pano, f"{i - 8:+d}", (i * step + 10, ph // 2), cv2.FONT_HERSHEY_SIMPLEX,
                        height / 150, (20, 20, 20), max(1, height // 120))
        self._pano = pano

    def draw(self, index: int, fps: float, wall: float | None = None) -> np.ndarray:
        pan, tilt, zoom = self.head.position()
        ph, pw = self._pano.shape[:2]
        vw = pw / 2 * (1 - 0.75 * zoom)
        vh = vw * self.height / self.width
        cx = pw / 2 + pan * (pw - vw) / 2
        cy = ph / 2 - tilt * (ph - vh) / 2
        x0, y0 = int(cx - vw / 2), int(cy - vh / 2)
        crop = self._pano[y0 : y0 + int(vh), x0 : x0 + int(vw)]
        img = cv2.resize(crop, (self.width, self.height), interpolation=cv2.INTER_AREA)
        stamp = time.strftime("%H:%M:%S", time.gmtime(wall)) if wall else f"#{index}"
        cv2.rectangle(img, (0, 0), (self.width, self.height // 12 + 6), (0, 0, 0), -1)
        cv2.putText(img, f"{self.label} PTZ {pan:+.2f} {tilt:+.2f} x{1 + 3 * zoom:.1f} {stamp}",
                    (8, self.height // 12), cv2.FONT_HERSHEY_SIMPLEX, self.height / 900, (255, 255, 255), 1)
        draw_code(img, position_code(pan, tilt, zoom))
        return img
