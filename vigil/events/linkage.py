"""Linkage decisions (pure): which actions an event sets off, given the linkage rules, the arm switch, the
rules' weekly schedules and their debounce. Disk and camera-offline alarms are always armed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.catalog.rows import EventRow
from vigil.config import LinkageRule
from vigil.schedule import in_windows

ALWAYS_ARMED = frozenset({"disk_error", "disk_low", "disk_missing", "disk_quota", "disk_full", "camera_offline"})
SEVERITY = {"info": 0, "warning": 1, "alarm": 2, "critical": 3}


@dataclass(frozen=True)
class Action:
    kind: str  # email | webhook | mqtt | buzzer | record | ptz
    target: str = ""  # recipients (comma-separated), URL, camera, or camera/preset
    rule: int = 0  # index of the linkage rule


def in_schedule(rule: LinkageRule, when: tuple[int, int]) -> bool:
    """Whether (weekday, minute of day) lies in one of the rule's armed periods (none: always)."""
    return in_windows(rule.schedule, when)


def wants(rule: LinkageRule, e: EventRow) -> bool:
    if "*" not in rule.types and e.type not in rule.types:
        return False
    if rule.cameras and e.camera_id not in rule.cameras:
        return False
    return SEVERITY.get(e.severity, 0) >= SEVERITY[rule.min_severity]


class LinkagePlanner:
    def __init__(self, rules: Sequence[LinkageRule]) -> None:
        self.rules = list(rules)
        self._last: dict[tuple[int, str | None, str], int] = {}  # (rule, camera, type) -> last fired, ms

    def set_rules(self, rules: Sequence[LinkageRule]) -> None:
        """New rules (changed in the UI); the debounce memory of rules that kept their place stays."""
        old = self.rules
        self.rules = list(rules)
        self._last = {k: v for k, v in self._last.items() if k[0] < len(old) and k[0] < len(self.rules)
                      and old[k[0]] == self.rules[k[0]]}

    def plan(self, e: EventRow, armed: bool, when: tuple[int, int], now_ms: int) -> tuple[list[Action], str]:
        """The actions to run now, and why none when there are none (for the log)."""
        always = e.type in ALWAYS_ARMED
        if not armed and not always:
            return [], "disarmed"
        actions: list[Action] = []
        why = "no linkage rule wants it"
        for i, rule in enumerate(self.rules):
            if not wants(rule, e):
                continue
            if not always and not in_schedule(rule, when):
                why = "outside the schedule"
                continue
            key = (i, e.camera_id, e.type)
            last = self._last.get(key)
            if last is not None and now_ms - last < rule.min_interval_seconds * 1000:
                why = "debounced"
                continue
            self._last[key] = now_ms
            if rule.email:
                actions.append(Action("email", ",".join(rule.email), i))
            if rule.webhook:
                actions.append(Action("webhook", rule.webhook, i))
            if rule.mqtt:
                actions.append(Action("mqtt", "", i))
            if rule.buzzer:
                actions.append(Action("buzzer", "", i))
            for cam in rule.record:
                target = e.camera_id if cam == "self" else cam
                if target:
                    actions.append(Action("record", target, i))
            for p in rule.ptz_preset:
                target = e.camera_id if p.camera == "self" else p.camera
                if target:
                    actions.append(Action("ptz", f"{target}/{p.preset}", i))
        return actions, "" if actions else why
