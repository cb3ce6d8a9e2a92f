"""Perimeter rules on scripted tracks: tripwire direction and class filter, intrusion enter/loiter/exit, SMD."""

from __future__ import annotations

import pytest

from vigil.analytics.rules import Rule, RuleEngine, Target

# A vertical line down the middle of the picture, drawn top to bottom: side A is the picture's left (x < 0.5).
LINE = ((0.5, 0.0), (0.5, 1.0))
ZONE = ((0.6, 0.5), (0.9, 0.5), (0.9, 0.95), (0.6, 0.95))


def walk(engine: RuleEngine, label: str, xs: list[float], track: int = 1, y: float = 0.8, t0: int = 0,
         step_ms: int = 200, h: float = 0.3) -> list:  # type: ignore[type-arg]
    out = []
    for i, x in enumerate(xs):
        out += engine.update(t0 + i * step_ms, [Target(track, label, (x - 0.05, y - h, x + 0.05, y))])
    return out


def test_tripwire_direction_and_once_per_crossing() -> None:
    a_to_b = Rule("gate", "tripwire", LINE, direction="a_to_b")
    fired = walk(RuleEngine([a_to_b]), "person", [0.2, 0.3, 0.4, 0.55, 0.6, 0.7])
    assert [(f.event, f.direction, f.track_id) for f in fired] == [("cross", "a_to_b", 1)]
    # Dated when the path met the line (0.4 at 400 ms, 0.55 at 600 ms), not at the next sighting.
    assert fired[0].t_ms == 533
    # The other way on an A→B rule: nothing.
    assert walk(RuleEngine([a_to_b]), "person", [0.8, 0.6, 0.4, 0.3]) == []
    # A person standing on the line, the box wobbling across it by less than the margin (0.07 of a 0.3 height),
    # then walking on: one crossing, not one per wobble.
    jitter = walk(RuleEngine([a_to_b]), "person", [0.3, 0.4, 0.52, 0.49, 0.51, 0.48, 0.53, 0.6])
    assert [f.direction for f in jitter] == ["a_to_b"]
    # Wobbling on the line and going back where it came from is no crossing at all.
    assert walk(RuleEngine([a_to_b]), "person", [0.3, 0.4, 0.51, 0.49, 0.52, 0.4, 0.3]) == []


def test_tripwire_counts_each_real_crossing_of_one_target() -> None:
    """A person who walks over, turns and walks back (as on real footage) crosses twice; over again, three
    times. The tracker's id stays the same, so crossings are not limited to one per direction and target."""
    both = RuleEngine([Rule("gate", "tripwire", LINE)])
    fired = walk(both, "person", [0.3, 0.4, 0.6, 0.7, 0.6, 0.4, 0.3, 0.4, 0.6])
    assert [f.direction for f in fired] == ["a_to_b", "b_to_a", "a_to_b"]


def test_a_jump_of_identity_crosses_nothing() -> None:
    """When a tracker hands one person's id to another on the far side of the line, the target seems to leap
    (here 0.6 of the picture in 200 ms, for someone 0.3 tall): that is no crossing; walking on from there is
    judged from where it now stands."""
    engine = RuleEngine([Rule("gate", "tripwire", LINE)])
    assert walk(engine, "person", [0.2, 0.8, 0.85, 0.9]) == []
    assert [f.direction for f in walk(engine, "person", [0.8, 0.6, 0.45, 0.4], t0=1000)] == ["b_to_a"]


def test_tripwire_class_filter_and_min_size() -> None:
    humans_only = Rule("gate", "tripwire", LINE, targets="human", min_height=0.1)
    assert walk(RuleEngine([humans_only]), "car", [0.8, 0.6, 0.4, 0.3]) == []
    # Too small: far-away noise.
    assert walk(RuleEngine([humans_only]), "person", [0.8, 0.7, 0.6, 0.5, 0.4, 0.3], h=0.05) == []
    assert len(walk(RuleEngine([humans_only]), "person", [0.8, 0.6, 0.4, 0.3])) == 1
    vehicles = Rule("road", "tripwire", LINE, targets="vehicle")
    # Vehicles are fast: a truck may cross half the picture between two analysed frames.
    assert [f.label for f in walk(RuleEngine([vehicles]), "truck", [0.8, 0.3, 0.2])] == ["truck"]


def test_intrusion_enter_loiter_exit() -> None:
    zone = Rule("yard", "intrusion", ZONE, loiter_seconds=10)
    engine = RuleEngine([zone])
    path = [0.3, 0.5, 0.7] + [0.75] * 60 + [0.95]  # 200 ms steps: 12 s inside
    fired = walk(engine, "person", path)
    assert [f.event for f in fired] == ["enter", "loiter", "exit"]
    loiter = fired[1]
    assert loiter.dwell_ms is not None and loiter.dwell_ms >= 10_000
    assert fired[2].dwell_ms is not None and fired[2].dwell_ms >= loiter.dwell_ms


def test_intrusion_appear_inside_and_event_choice() -> None:
    only_enter = Rule("yard", "intrusion", ZONE, on=frozenset({"enter"}))
    assert walk(RuleEngine([only_enter]), "person", [0.7, 0.75]) == []  # appeared inside, not entered
    appear = Rule("yard", "intrusion", ZONE, on=frozenset({"appear"}))
    assert [f.event for f in walk(RuleEngine([appear]), "person", [0.7, 0.75])] == ["appear"]


def test_smd_fires_once_per_moving_target_of_the_class() -> None:
    smd = Rule("smd", "smd", targets="both")
    engine = RuleEngine([smd])
    fired = walk(engine, "person", [0.1, 0.2, 0.3, 0.4])
    fired += walk(engine, "cat", [0.1, 0.2, 0.3], track=2)
    fired += walk(engine, "car", [0.1, 0.2], track=3)
    assert [(f.track_id, f.label) for f in fired] == [(1, "person"), (3, "car")]


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="at most 10"):
        RuleEngine([Rule(str(i), "smd") for i in range(11)])
    with pytest.raises(ValueError, match="2 points"):
        RuleEngine([Rule("x", "tripwire", ((0.1, 0.1),))])
    with pytest.raises(ValueError, match="between 0 and 1"):
        RuleEngine([Rule("x", "intrusion", ((0, 0), (2, 0), (0, 1)))])


def test_a_target_is_followed_before_it_is_reported() -> None:
    """A person half in view (low confidence) who crosses or enters is reported, with the right time and event,
    as soon as the detector is sure; a target that never becomes sure is never reported."""
    line = Rule("gate", "tripwire", LINE, direction="a_to_b")
    zone = Rule("zone", "intrusion", ((0.4, 0.5), (0.8, 0.5), (0.8, 1.0), (0.4, 1.0)))
    engine = RuleEngine([line, zone])
    out = []
    for i, (x, score) in enumerate([(0.3, 0.3), (0.45, 0.35), (0.55, 0.4), (0.6, 0.9), (0.65, 0.9)]):
        out += engine.update(i * 200, [Target(1, "person", (x - 0.05, 0.5, x + 0.05, 0.8), score)])
    # The crossing is dated when the path met the line (between 200 and 400 ms), reported once the target is sure.
    assert sorted((f.rule_id, f.event, f.t_ms) for f in out) == [("gate", "cross", 300), ("zone", "enter", 200)]
    unsure = RuleEngine([line, zone])
    for i, x in enumerate([0.3, 0.45, 0.55, 0.6]):
        assert unsure.update(i * 200, [Target(2, "person", (x - 0.05, 0.5, x + 0.05, 0.8), 0.3)]) == []


def test_smd_ignores_a_parked_car_and_schedules_apply() -> None:
    smd = Rule("smd", "smd", targets="vehicle", schedule=((0, 8 * 60, 18 * 60),))  # Mondays 08:00-18:00
    parked = [Target(1, "car", (0.5, 0.5, 0.7, 0.7))] * 5
    engine = RuleEngine([smd])
    assert [f for i, t in enumerate(parked) for f in engine.update(i * 200, [t], (0, 600))] == []
    moving = [Target(2, "car", (0.1 * i, 0.5, 0.1 * i + 0.2, 0.7)) for i in range(4)]
    assert [f for i, t in enumerate(moving) for f in engine.update(i * 200, [t], (1, 600))] == []  # Tuesday
    engine = RuleEngine([smd])
    assert len([f for i, t in enumerate(moving) for f in engine.update(i * 200, [t], (0, 600))]) == 1
