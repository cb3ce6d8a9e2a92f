"""Perimeter and smart-motion rules over tracked targets (pure logic, no I/O).

A `RuleEngine` takes, frame after frame, the tracked targets of one camera and returns the firings:
- tripwire: a polyline crossed in a direction (a_to_b, b_to_a or both). Side A is on the right hand of
  someone walking the line from its first point to its last, as drawn on the picture (for a line drawn top to
  bottom, side A is the picture's left). A crossing counts once the target stands clearly on the new side
  (hysteresis), so a target standing on the line does not fire at every wobble of its box, while a person
  who walks over, turns and walks back fires each time.
- intrusion: a polygon; enter, exit, appear (first seen inside) and loiter (inside for N seconds).
- smd: "smart motion": a target of the wanted class that has moved (a parked car does not), once per target.
- counter: a counting line, crossed like a tripwire in either direction; `direction` names the way that counts
  as "in" (the other is "out"); see analytics.counting for the counts and occupancy.
Targets are filtered by class (human / vehicle / both), by a minimum height, which drops far-away noise, and by
the rule's sensitivity (a more sensitive rule accepts less certain detections). A rule with a weekly schedule
only fires inside its windows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from vigil.analytics.geometry import Box, Point, anchor, inside, segments_cross, side

HUMAN = frozenset({"person"})
VEHICLE = frozenset({"car", "truck", "bus", "motorcycle", "bicycle"})
TARGETS = {"human": HUMAN, "vehicle": VEHICLE, "both": HUMAN | VEHICLE}
MAX_RULES_PER_CAMERA = 10
SMD_MIN_TRAVEL = 0.03  # fraction of the picture a target must move before smart motion counts it
# How far past a line, as a fraction of the target's height, its anchor must be before a crossing counts: about
# how much a detector's box edge wobbles from frame to frame on a still person.
CROSS_MARGIN = 0.07
# Faster than this many of its own heights a second (a sprinter makes about 3), a target's step between two
# sightings is a jump of identity (the tracker gave one person's id to another), not a walk: it crosses nothing.
MAX_SPEED_HEIGHTS = 4.0
STEP_SLACK_HEIGHTS = 0.3  # what box noise adds to a step


def min_score(sensitivity: float) -> float:
    """Sensitivity 0..1 to the least detector confidence a target needs: 0 → 0.75, 0.5 → 0.5, 1 → 0.25."""
    return 0.75 - 0.5 * sensitivity


@dataclass(frozen=True)
class Target:
    track_id: int
    label: str
    box: Box
    score: float = 1.0


@dataclass(frozen=True)
class Rule:
    id: str
    # mask: a motion mask drawn like a zone (motion there is ignored); it raises no event of its own.
    kind: Literal["tripwire", "intrusion", "smd", "counter", "mask"]
    points: tuple[Point, ...] = ()
    targets: Literal["human", "vehicle", "both"] = "human"
    direction: Literal["a_to_b", "b_to_a", "both"] = "both"
    on: frozenset[str] = frozenset({"enter", "exit", "appear", "loiter"})
    loiter_seconds: float = 10.0
    min_height: float = 0.0  # fraction of the picture height
    enabled: bool = True
    sensitivity: float = 0.5
    # Weekly windows (weekday 0 = Monday, start minute, end minute of the local day); empty means always.
    schedule: tuple[tuple[int, int, int], ...] = ()
    name: str = ""
    max_occupancy: int = 0  # counter: an alarm when in − out exceeds this (0: no alarm)

    def of_class(self, t: Target) -> bool:
        return t.label in TARGETS[self.targets]

    def confident(self, t: Target) -> bool:
        """Sure and big enough to report (the target's state is followed before it is, see RuleEngine)."""
        return (t.box[3] - t.box[1]) >= self.min_height and t.score >= min_score(self.sensitivity)

    def wants(self, t: Target) -> bool:
        return self.of_class(t) and self.confident(t)

    def active(self, when: tuple[int, int] | None) -> bool:
        """`when` is (weekday, minute of the day) in local time; None means "ignore schedules"."""
        if not self.schedule or when is None:
            return True
        day, minute = when
        return any(d == day and start <= minute < end for d, start, end in self.schedule)


@dataclass(frozen=True)
class Firing:
    rule_id: str
    kind: str  # tripwire | intrusion | smd | counter
    event: str  # cross | enter | exit | appear | loiter | motion
    track_id: int
    label: str
    t_ms: int
    box: Box
    score: float
    direction: str | None = None
    dwell_ms: int | None = None


@dataclass
class _TrackMemory:
    first: Point
    last: Point
    inside: dict[str, bool] = field(default_factory=dict)
    entered_ms: dict[str, int] = field(default_factory=dict)
    fired: set[tuple[str, str]] = field(default_factory=set)
    seen_ms: int = 0
    # Tripwires, per rule: the last crossing of the line not yet settled (the target not yet clearly on the new
    # side): (t_ms of the crossing, the crossed segment); and the side ("a" or "b") the target last stood clearly
    # on, None while unknown (first seen on the line, or after a jump of identity).
    crossing: dict[str, tuple[int, tuple[Point, Point]]] = field(default_factory=dict)
    came_from: dict[str, str | None] = field(default_factory=dict)
    # What happened while the target was not yet confident enough to report: rule id -> (event, t_ms, extra).
    pending: dict[str, tuple[str, int, dict[str, object]]] = field(default_factory=dict)
    reported: set[str] = field(default_factory=set)  # intrusion rules whose current stay has been reported


def validate(rules: Sequence[Rule]) -> None:
    if len(rules) > MAX_RULES_PER_CAMERA:
        raise ValueError(f"a camera takes at most {MAX_RULES_PER_CAMERA} rules ({len(rules)} given)")
    for r in rules:
        if r.kind in ("tripwire", "counter") and len(r.points) < 2:
            raise ValueError(f"rule {r.id!r}: a {r.kind} line needs at least 2 points")
        if r.kind == "counter" and r.direction == "both":
            raise ValueError(f"rule {r.id!r}: a counting line's direction says which way is in: a_to_b or b_to_a")
        if r.kind == "intrusion" and len(r.points) < 3:
            raise ValueError(f"rule {r.id!r}: an intrusion zone needs at least 3 points")
        if r.kind == "mask" and len(r.points) < 3:
            raise ValueError(f"rule {r.id!r}: a motion mask is an area: it needs at least 3 points")
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in r.points):
            raise ValueError(f"rule {r.id!r}: points are fractions of the picture, between 0 and 1")
        if not 0 <= r.sensitivity <= 1:
            raise ValueError(f"rule {r.id!r}: sensitivity is between 0 and 1")
        for d, start, end in r.schedule:
            if not (0 <= d <= 6 and 0 <= start < end <= 1440):
                raise ValueError(f"rule {r.id!r}: a schedule window is (weekday 0-6, start minute, end minute ≤ 1440)")
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ValueError("two rules share an id: give each rule its own id")


class RuleEngine:
    def __init__(self, rules: Sequence[Rule], forget_after_ms: int = 10_000) -> None:
        validate(rules)
        self.rules = [r for r in rules if r.enabled and r.kind != "mask"]
        self._tracks: dict[int, _TrackMemory] = {}
        self._forget_after_ms = forget_after_ms

    def update(self, t_ms: int, targets: Sequence[Target], when: tuple[int, int] | None = None) -> list[Firing]:
        """`when`: the local (weekday, minute of day) of `t_ms`, for rules with schedules."""
        out: list[Firing] = []
        active = [r for r in self.rules if r.active(when)]
        for t in targets:
            p = anchor(t.box)
            mem = self._tracks.get(t.track_id)
            new = mem is None
            if mem is None:
                mem = self._tracks[t.track_id] = _TrackMemory(first=p, last=p)
            for rule in active:
                # A target's position is followed from its first sighting; it is reported once the detector is
                # sure enough. A person entering while only half in view still "enters" (not "appears").
                if rule.of_class(t):
                    out += self._apply(rule, t, mem, p, t_ms, new, rule.confident(t))
            mem.last, mem.seen_ms = p, t_ms
        for tid in [k for k, m in self._tracks.items() if t_ms - m.seen_ms > self._forget_after_ms]:
            del self._tracks[tid]
        return out

    def _fire(self, rule: Rule, event: str, t: Target, t_ms: int, **extra: object) -> Firing:
        return Firing(rule.id, rule.kind, event, t.track_id, t.label, t_ms, t.box, t.score, **extra)  # type: ignore[arg-type]

    def _apply(self, rule: Rule, t: Target, mem: _TrackMemory, p: Point, t_ms: int, new: bool,
               confident: bool) -> list[Firing]:
        if rule.kind == "smd":
            moved = abs(p[0] - mem.first[0]) + abs(p[1] - mem.first[1]) >= SMD_MIN_TRAVEL
            if not confident or new or not moved or (rule.id, "motion") in mem.fired:
                return []  # a target fires once, and only once it has moved
            mem.fired.add((rule.id, "motion"))
            return [self._fire(rule, "motion", t, t_ms)]
        if rule.kind in ("tripwire", "counter"):
            return self._tripwire(rule, t, mem, p, t_ms, new, confident)
        return self._intrusion(rule, t, mem, p, t_ms, new, confident)

    def _tripwire(self, rule: Rule, t: Target, mem: _TrackMemory, p: Point, t_ms: int, new: bool,
                  confident: bool) -> list[Firing]:
        """A crossing counts when the side the target stands clearly on changes, and its path crossed the line
        between the two sightings; the time is when it crossed (interpolated), reported once the detector is
        sure of the target."""
        height = max(t.box[3] - t.box[1], 1e-3)
        margin = CROSS_MARGIN * height
        step = ((p[0] - mem.last[0]) ** 2 + (p[1] - mem.last[1]) ** 2) ** 0.5
        dt = max(t_ms - mem.seen_ms, 0) / 1000
        # People only: a vehicle can cross half the picture between two analysed frames.
        if not new and t.label in HUMAN and step > (MAX_SPEED_HEIGHTS * dt + STEP_SLACK_HEIGHTS) * height:
            mem.crossing.pop(rule.id, None)  # a jump of identity: where this target came from is unknown now
            mem.came_from[rule.id] = None
            return []
        if not new:
            for a, b in itertools.pairwise(rule.points):
                if segments_cross(mem.last, p, a, b):
                    mem.crossing[rule.id] = (_crossing_time(mem.last, p, a, b, mem.seen_ms, t_ms), (a, b))
                    if mem.came_from.get(rule.id) is None:  # first seen on the line: it came from where it was
                        mem.came_from[rule.id] = "a" if side(a, b, mem.last) > 0 else "b"
                    break
        pending = mem.crossing.get(rule.id)
        if pending is None:
            now = _clear_side(rule.points, p, margin)
            if now is not None:
                mem.came_from[rule.id] = now
            return []
        when, (a, b) = pending
        d = _signed_distance(a, b, p)
        if abs(d) < margin:
            return []  # on the line: not over yet
        now = "a" if d > 0 else "b"
        was = mem.came_from.get(rule.id)
        if was == now:
            del mem.crossing[rule.id]  # over and back again: a wobble, nothing happened
            return []
        direction = f"{was}_to_{now}"
        wanted = rule.kind == "counter" or rule.direction in ("both", direction)  # counters count both ways
        if wanted and not confident:
            return []  # followed until the detector is sure; reported with the crossing's time then
        del mem.crossing[rule.id]
        mem.came_from[rule.id] = now
        if not wanted:
            return []
        return [self._fire(rule, "cross", t, when, direction=direction)]

    def _intrusion(self, rule: Rule, t: Target, mem: _TrackMemory, p: Point, t_ms: int, new: bool,
                   confident: bool) -> list[Firing]:
        now_in = inside(rule.points, p)
        was_in = mem.inside.get(rule.id)
        mem.inside[rule.id] = now_in
        out = []
        if now_in and not was_in:
            mem.entered_ms[rule.id] = t_ms
            event = "appear" if new or was_in is None else "enter"
            mem.pending[rule.id] = (event, t_ms, {})
        elif was_in and not now_in:
            dwell = t_ms - mem.entered_ms.pop(rule.id, t_ms)
            mem.fired.discard((rule.id, "loiter"))
            mem.pending.pop(rule.id, None)
            if rule.id in mem.reported and "exit" in rule.on:
                out.append(self._fire(rule, "exit", t, t_ms, dwell_ms=dwell))
            mem.reported.discard(rule.id)
        if not (now_in and confident):
            return out
        pending = mem.pending.pop(rule.id, None)
        if pending is not None:
            mem.reported.add(rule.id)
            event, when, _ = pending
            if event in rule.on:
                out.append(self._fire(rule, event, t, when))
        if "loiter" in rule.on and (rule.id, "loiter") not in mem.fired:
            dwell = t_ms - mem.entered_ms.get(rule.id, t_ms)
            if dwell >= rule.loiter_seconds * 1000:
                mem.fired.add((rule.id, "loiter"))
                mem.reported.add(rule.id)
                out.append(self._fire(rule, "loiter", t, t_ms, dwell_ms=dwell))
        return out


def _crossing_time(p0: Point, p1: Point, a: Point, b: Point, t0: int, t1: int) -> int:
    """When the path p0 → p1 (seen at t0, t1) met the line a-b, assuming a steady walk between sightings: at a
    few frames a second the sighting after the line can be 200 ms or more after the crossing."""
    d0, d1 = side(a, b, p0), side(a, b, p1)
    k = d0 / (d0 - d1) if d0 != d1 else 1.0
    return round(t0 + k * (t1 - t0))


def _length(a: Point, b: Point) -> float:
    return float(((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5)


def _signed_distance(a: Point, b: Point, p: Point) -> float:
    """p's distance from the line through a and b, > 0 on side A."""
    return side(a, b, p) / max(_length(a, b), 1e-9)


def _clear_side(points: Sequence[Point], p: Point, margin: float) -> str | None:
    """The side of the line ("a" or "b") that p stands clearly on, judged by the nearest segment p lies
    beside; None when p is on the line or beyond its ends."""
    best: tuple[float, str] | None = None
    for a, b in itertools.pairwise(points):
        seg = max(_length(a, b), 1e-9)
        k = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / seg**2
        if not 0 <= k <= 1:
            continue
        d = _signed_distance(a, b, p)
        if best is None or abs(d) < best[0]:
            best = (abs(d), "a" if d > 0 else "b")
    return best[1] if best is not None and best[0] >= margin else None
