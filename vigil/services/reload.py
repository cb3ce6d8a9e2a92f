"""What applying a changed `vigil.yml` without a restart means (pure): which config cameras start, stop or restart,
which change in place, and which other sections only a restart applies.

A camera restarts only when something its recorder, stream or analysis holds changed; a change to what is read at
each use (its name, its retention) is applied in place, so the camera keeps recording without a gap. Linkage rules
are read at each event and apply at once; everything else (storage, catalog, listeners, the detector, the
cluster) is held by long-lived parts and waits for the next restart, which the answer says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.config import CameraConfig, Config
from vigil.errors import ConfigError

# Read at each use (retention's planner, the API): no restart needed.
IN_PLACE = {("name",), ("record", "max_days"), ("record", "max_gb")}


@dataclass(frozen=True)
class ReloadPlan:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # changed in place, still recording
    linkage: bool = False  # the config's linkage rules changed (apply from the next event)
    needs_restart: list[str] = field(default_factory=list)  # sections changed that apply at the next restart

    def summary(self) -> str:
        parts = [f"{what}: {', '.join(ids)}" for what, ids in (
            ("added", self.added), ("removed", self.removed), ("restarted", self.restarted),
            ("updated in place", self.updated)) if ids]
        if self.linkage:
            parts.append("linkage rules updated")
        if self.needs_restart:
            parts.append(f"{', '.join(self.needs_restart)} changed: applies at the next restart")
        return "; ".join(parts) or "nothing changed"


def _diff_paths(a: object, b: object, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[tuple[str, ...]] = set()
        for k in set(a) | set(b):
            out |= _diff_paths(a.get(k), b.get(k), (*path, str(k)))
        return out
    return set() if a == b else {path}


def _camera_change(old: CameraConfig, new: CameraConfig) -> str | None:
    """None: the same; "updated": only what is read at each use; "restarted": anything else."""
    changed = _diff_paths(old.model_dump(mode="json"), new.model_dump(mode="json"))
    if not changed:
        return None
    return "updated" if changed <= IN_PLACE else "restarted"


def plan_reload(old: Config, new: Config, api_cameras: set[str]) -> ReloadPlan:
    """`api_cameras`: the cameras added in the UI or API (the catalog's; a config camera may not take their id)."""
    clash = sorted({c.id for c in new.cameras} & api_cameras)
    if clash:
        raise ConfigError(f"camera {clash[0]!r} was added in the UI or API: remove it there, or give the config's "
                          "camera another id")
    before = {c.id: c for c in old.cameras}
    after = {c.id: c for c in new.cameras}
    changes = {cam: _camera_change(before[cam], after[cam]) for cam in before.keys() & after.keys()}
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    alarms_rest = _diff_paths({k: v for k, v in a["alarms"].items() if k != "linkage"},
                              {k: v for k, v in b["alarms"].items() if k != "linkage"})
    sections = sorted(k for k in a if k not in ("cameras", "alarms") and a[k] != b.get(k))
    if alarms_rest:
        sections.append("alarms (smtp, mqtt)")
    return ReloadPlan(
        added=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys()),
        restarted=sorted(c for c, x in changes.items() if x == "restarted"),
        updated=sorted(c for c, x in changes.items() if x == "updated"),
        linkage=a["alarms"]["linkage"] != b["alarms"]["linkage"], needs_restart=sections,
    )
