"""Scripted scenes for the analytics: real cut-out photographs walking scripted paths over a background,
with the distractors that make plain motion detection useless (swaying foliage, rain, headlight flashes,
a small animal).

A scene's time is the wall clock modulo its period, so anyone — a test, the sim, a benchmark — knows where
every actor is at any instant without talking to the sim. `ground_truth` replays the script through Vigil's
own rule engine with perfect boxes: what a perfect detector and tracker would report.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vigil.analytics.geometry import Box, Point
from vigil.analytics.rules import Firing, Rule, RuleEngine, Target
from vigil.sim import effects
from vigil.sim.actors import label_of, paste, scaled
from vigil.sim.plates import put_plate


@dataclass(frozen=True)
class Actor:
    kind: str  # person | car | dog (see actors.SOURCES)
    height: float  # fraction of the picture height
    path: tuple[tuple[float, float, float], ...]  # (scene seconds, foot x, foot y), fractions of the picture
    plate: str = ""  # a vehicle's licence plate, drawn on it

    def at(self, t: float) -> Point | None:
        """Where the actor stands at scene time t; None when off stage."""
        p = self.path
        if t < p[0][0] or t > p[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(p):
            if t0 <= t <= t1:
                k = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
                return (x0 + (x1 - x0) * k, y0 + (y1 - y0) * k)
        return None

    @property
    def label(self) -> str:
        return label_of(self.kind)


def _people() -> tuple[Actor, ...]:
    """Seven people walk in (left to right across a counting line in the middle), then three walk out, while
    one stands in the far top-right corner for most of the minute."""
    ins = tuple(_walk("person", 1 + 3.5 * k, 8 + 3.5 * k, -0.05, 1.05, 0.88, PERSON_H) for k in range(7))
    outs = tuple(_walk("person", 30 + 3.5 * k, 37 + 3.5 * k, 1.05, -0.05, 0.88, PERSON_H) for k in range(3))
    loiter = Actor("person", 0.2, ((1, 1.05, 0.47), (3, 0.88, 0.47), (44, 0.885, 0.47), (46, 1.05, 0.47)))
    return (*ins, *outs, loiter)


@dataclass(frozen=True)
class Script:
    name: str
    period: float
    actors: tuple[Actor, ...] = ()
    foliage: bool = False
    rain: bool = False
    flashes: tuple[float, ...] = ()  # scene times of a headlight sweep (the whole picture brightens for ~1.5 s)


def _walk(kind: str, t0: float, t1: float, x0: float, x1: float, y: float, h: float) -> Actor:
    return Actor(kind, h, ((t0, x0, y), (t1, x1, y)))


PERSON_H, CAR_H, DOG_H, CARD_H = 0.32, 0.2, 0.1, 0.5
PLATE_CAR_H = 0.42  # an ANPR camera sees vehicles close: plates ~15 px tall at 640 × 360
SCRIPTS: dict[str, Script] = {
    s.name: s
    for s in (
        # A person walks left to right, a car drives right to left, the person walks back.
        Script("crossing", 40.0, (
            _walk("person", 1, 11, -0.05, 1.05, 0.86, PERSON_H),
            _walk("car", 14, 20, 1.15, -0.15, 0.74, CAR_H),
            _walk("person", 24, 34, 1.05, -0.05, 0.86, PERSON_H),
        )),
        # A person walks into the middle, stands for 12 s, and walks out to the right.
        Script("loiter", 40.0, (
            Actor("person", PERSON_H, ((1, -0.05, 0.86), (6, 0.5, 0.86), (18, 0.505, 0.86), (23, 1.05, 0.86))),
        )),
        # Nothing a rule wants: foliage, rain, headlights and a dog.
        Script("distractors", 60.0, (_walk("dog", 25, 33, -0.1, 1.1, 0.9, DOG_H),),
               foliage=True, rain=True, flashes=(15.0, 45.0)),
        # Faces walk past a door camera: an enrolled person, a blocklisted one, a stranger (see FACE_WALKS).
        Script("faces", 45.0, (
            _walk("face-obama", 2, 10, -0.15, 1.15, 0.95, CARD_H),
            _walk("face-biden", 17, 25, 1.15, -0.15, 0.95, CARD_H),
            _walk("face-stranger", 32, 40, -0.15, 1.15, 0.95, CARD_H),
        )),
        # ANPR: a car on the block list drives right to left, then one on the allow list left to right.
        Script("plates", 70.0, (
            Actor("car", PLATE_CAR_H, ((1, 1.25, 0.97), (11, -0.25, 0.97)), plate="KX19ABC"),
            # 10 s after the first has gone: the tracker keeps a lost vehicle 8 s to continue it if it reappears.
            Actor("car", PLATE_CAR_H, ((20, -0.25, 0.97), (30, 1.25, 0.97)), plate="BD51SMR"),
        )),
        # People counting and heat maps: 7 in, 3 out across the middle; one loiters in the top-right corner.
        Script("people", 54.0, _people()),
        # The same, with a person passing each way.
        Script("distractors-person", 60.0, (
            _walk("dog", 25, 33, -0.1, 1.1, 0.9, DOG_H),
            _walk("person", 4, 16, -0.05, 1.05, 0.86, PERSON_H),
            _walk("person", 38, 50, 1.05, -0.05, 0.86, PERSON_H),
        ), foliage=True, rain=True, flashes=(15.0, 45.0)),
    )
}


def scene_time(script: Script, wall: float, epoch: float = 0.0) -> tuple[int, float]:
    """(cycle number, seconds into the cycle) at a wall-clock instant; cycles start at `epoch` + k × period."""
    cycle, t = divmod(wall - epoch, script.period)
    return int(cycle), t


def actor_box(actor: Actor, t: float, width: int, height: int) -> Box | None:
    """The actor's box at scene time t, as a fraction of the picture (clipped), or None when off stage."""
    p = actor.at(t)
    if p is None:
        return None
    hpx = max(2, round(actor.height * height))
    bgr, _ = scaled(actor.kind, hpx)
    w = bgr.shape[1] / width
    x1, x2 = max(0.0, p[0] - w / 2), min(1.0, p[0] + w / 2)
    if x2 - x1 < w / 2:  # mostly off the picture: nobody would see it
        return None
    return (x1, p[1] - actor.height, x2, p[1])


def ground_truth(script: Script, rules: Sequence[Rule], start: float, end: float, fps: float = 10.0,
                 width: int = 640, height: int = 360) -> list[Firing]:
    """The firings a perfect detector and tracker would cause between two wall-clock instants."""
    out: list[Firing] = []
    engine = RuleEngine(rules, forget_after_ms=1_000)
    step = 1 / fps
    wall = start
    while wall < end:
        cycle, t = scene_time(script, wall)
        targets = []
        for i, actor in enumerate(script.actors):
            box = actor_box(actor, t, width, height)
            if box is not None:
                targets.append(Target(cycle * 100 + i, actor.label, box))
        out += engine.update(round(wall * 1000), targets)
        wall += step
    return out


class ScriptedScene:
    """Draws a script's frames for the sim's encoder (same interface as `scene.Scene`)."""

    def __init__(self, width: int, height: int, label: str, script: Script, seed: int = 7, epoch: float = 0.0
                 ) -> None:
        self.width, self.height, self.label, self.script = width, height, label, script
        self.epoch = epoch
        rng = np.random.default_rng(seed)
        base = np.empty((height, width, 3), np.uint8)
        horizon = int(height * 0.38)
        base[:horizon] = (205, 175, 140)  # sky
        base[horizon:] = (85, 120, 95)  # grass
        cv2.rectangle(base, (0, int(height * 0.62)), (width, int(height * 0.95)), (120, 125, 125), -1)  # a path
        noisy = cv2.add(base, rng.integers(0, 24, (height, width, 3), dtype=np.uint8))
        self._base: np.ndarray = cv2.GaussianBlur(noisy, (3, 3), 0)
        self._leaves = rng.integers(0, 2, (int(height * 0.4), int(width * 0.3)), dtype=np.uint8)
        self._rng = rng

    def _foliage(self, img: np.ndarray, t: float) -> None:
        h, w = img.shape[:2]
        y0, x0 = int(h * 0.06), int(w * 0.68)
        shift = round(np.sin(t * 2.1) * 6 + np.sin(t * 5.3) * 3)
        leaves = np.roll(self._leaves, shift, axis=1)
        region = img[y0 : y0 + leaves.shape[0], x0 : x0 + leaves.shape[1]]
        dark = np.array((40, 90, 40), np.uint8)
        light = np.array((70, 150, 80), np.uint8)
        region[:] = np.where(leaves[..., None] == 1, light, dark)
        cv2.rectangle(img, (x0 + leaves.shape[1] // 2 - 6, y0 + leaves.shape[0]),
                      (x0 + leaves.shape[1] // 2 + 6, int(h * 0.62)), (40, 60, 80), -1)  # trunk

    def _rain(self, img: np.ndarray, index: int) -> None:
        h, w = img.shape[:2]
        rng = np.random.default_rng(index)
        for x, y in zip(rng.integers(0, w, 90), rng.integers(0, h, 90), strict=False):
            cv2.line(img, (int(x), int(y)), (int(x) - 3, int(y) + 14), (200, 200, 200), 1)

    def _flash(self, img: np.ndarray, t: float) -> np.ndarray:
        for f in self.script.flashes:
            if f <= t < f + 1.5:
                gain = 1.0 + 0.9 * np.sin((t - f) / 1.5 * np.pi)
                return cv2.convertScaleAbs(img, alpha=gain, beta=20 * (gain - 1))
        return img

    def draw(self, index: int, fps: float, wall: float | None = None) -> np.ndarray:
        wall = time.time() if wall is None else wall
        _, t = scene_time(self.script, wall, self.epoch)
        img = self._base.copy()
        if self.script.foliage:
            self._foliage(img, t)
        for actor in self.script.actors:
            p = actor.at(t)
            if p is not None:
                hpx = max(2, round(actor.height * self.height))
                paste(img, actor.kind, p[0] * self.width, p[1] * self.height, hpx)
                if actor.plate:
                    w = scaled(actor.kind, hpx)[0].shape[1]
                    fx, fy = p[0] * self.width, p[1] * self.height
                    put_plate(img, (fx - w / 2, fy - hpx, fx + w / 2, fy), actor.plate)
        if self.script.rain:
            self._rain(img, index)
        img = self._flash(img, t)
        img = effects.apply(self.label.lower(), img)
        # The camera's on-screen clock, as real cameras burn it in (users mask it for motion detection).
        clock = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))
        s = self.height / 360
        cv2.putText(img, f"{self.label} {clock}", (int(8 * s), int(22 * s)), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * s,
                    (255, 255, 255), max(1, int(s)))
        return img
