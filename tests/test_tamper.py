"""Tampering and scene change on the scripted scenes' real pictures, with the sim's faults applied: each fault
gives exactly one alarm (tamper ones end when the fault does); foliage, rain, headlights, a dog and people
walking give none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vigil.analytics.tamper import Change, TamperDetector
from vigil.sim import effects
from vigil.sim.scripted import SCRIPTS, ScriptedScene

OSD = [((0.0, 0.0), (0.6, 0.0), (0.6, 0.1), (0.0, 0.1))]
FPS = 5


@pytest.fixture(autouse=True)
def no_effect() -> Iterator[None]:
    yield
    effects.set_effect("cam", "none")


def run(scene: str, timeline: list[tuple[float, str]], seconds: float) -> list[Change]:
    """Feeds `seconds` of a scene at 5 fps, switching the sim's effect at the given times."""
    s = ScriptedScene(640, 360, "CAM", SCRIPTS[scene])
    det = TamperDetector(OSD)
    start = 1_000_000 * SCRIPTS[scene].period
    out: list[Change] = []
    pending = sorted(timeline)
    for i in range(int(seconds * FPS)):
        t = i / FPS
        while pending and pending[0][0] <= t:
            effects.set_effect("cam", pending.pop(0)[1])
        out += det.update(round((start + t) * 1000), s.draw(i, FPS, start + t))
    return out


def test_each_fault_is_one_alarm_that_ends_with_it() -> None:
    changes = run("crossing", [(15, "blank"), (23, "none"), (33, "cover"), (41, "none"), (51, "blur"),
                               (59, "none")], 70)
    got = [(c.kind, c.what, c.reason) for c in changes]
    assert got == [("tamper", "start", "blank"), ("tamper", "end", "blank"),
                   ("tamper", "start", "covered"), ("tamper", "end", "covered"),
                   ("tamper", "start", "defocused"), ("tamper", "end", "defocused")], got
    starts = [c for c in changes if c.what == "start"]
    # Reported after the 3 s hold, dated from when the fault began.
    for c, began in zip(starts, (15, 33, 51), strict=True):
        assert abs(c.since_ms / 1000 - (1_000_000 * 40 + began)) <= 0.5
        assert 2.9 <= (c.t_ms - c.since_ms) / 1000 <= 3.5


def test_turning_the_camera_is_one_scene_change() -> None:
    changes = run("crossing", [(20, "shift")], 45)
    assert [(c.kind, c.what) for c in changes] == [("scene_change", "fired")], changes


@pytest.mark.parametrize("scene", ["distractors-person", "crossing"])
def test_weather_lights_and_people_raise_nothing(scene: str) -> None:
    assert run(scene, [], 60) == []
