"""Rules as users write them (API, web UI): validated, with clear messages, then turned into `Rule`s."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.analytics.rules import MAX_RULES_PER_CAMERA, Rule, validate
from vigil.schedule import Window

RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="unique on the camera; letters, digits, '-' or '_'")
    name: str = ""
    kind: Literal["tripwire", "intrusion", "smd", "counter", "mask"] = Field(
        description="mask: an area where motion is ignored (a tree, a road, the clock), added to "
                    "analytics.motion_masks")
    points: list[tuple[float, float]] = Field(default_factory=list,
                                              description="[x, y] fractions of the picture, top-left origin")
    targets: Literal["human", "vehicle", "both"] = "human"
    direction: Literal["a_to_b", "b_to_a", "both"] = Field(
        default="both", description="tripwire: side A is on the right of someone walking the line from its first "
        "point; counter: the way that counts as in (default a_to_b)")
    on: list[Literal["enter", "exit", "appear", "loiter"]] = Field(default=["enter", "exit", "appear", "loiter"])
    loiter_seconds: float = Field(default=10.0, gt=0, le=86_400)
    min_height: float = Field(default=0.0, ge=0, le=1, description="smallest target, as a fraction of picture height")
    sensitivity: float = Field(default=0.5, ge=0, le=1)
    schedule: list[Window] = Field(default_factory=list, description="empty: always armed")
    enabled: bool = True
    max_occupancy: int = Field(default=0, ge=0, le=1_000_000,
                               description="counter: alarm when in − out exceeds this; 0: no alarm")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError(f"rule id {v!r}: use 1-63 letters, digits, '-' or '_'")
        return v

    @model_validator(mode="after")
    def _check(self) -> RuleSpec:
        if not self.name:
            self.name = self.id
        if self.kind == "counter" and self.direction == "both":
            self.direction = "a_to_b"
        for w in self.schedule:
            a, b = w.minutes()
            if b <= a:
                raise ValueError(f"schedule window {w.start}-{w.end}: the end must come after the start")
        validate([self.to_rule()])
        return self

    def to_rule(self) -> Rule:
        windows = tuple((d, *w.minutes()) for w in self.schedule for d in w.days)
        return Rule(self.id, self.kind, tuple(self.points), self.targets, self.direction, frozenset(self.on),
                    self.loiter_seconds, self.min_height, self.enabled, self.sensitivity, windows, self.name,
                    self.max_occupancy)


def parse_rules(data: list[dict[str, object]]) -> list[RuleSpec]:
    """Raises ValueError (pydantic's, or a plain one) with what is wrong."""
    specs = [RuleSpec.model_validate(d) for d in data]
    if len(specs) > MAX_RULES_PER_CAMERA:
        raise ValueError(f"a camera takes at most {MAX_RULES_PER_CAMERA} rules ({len(specs)} given)")
    validate([s.to_rule() for s in specs])
    return specs
