"""A camera's analytics: its rules (tripwires, intrusion zones, smart motion) and the analysis status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from vigil.analytics.rulespec import RuleSpec, parse_rules
from vigil.api.deps import current_user, get_vigil, require_camera

router = APIRouter(prefix="/api/cameras", tags=["analytics"], dependencies=[Depends(current_user)])


class AnalyticsStatus(BaseModel):
    enabled: bool
    fps: float
    frames: int = 0
    detections_run: int = 0
    events: int = 0
    dropped: int = 0
    tracks: int = 0
    last_frame_ms: int = 0
    analysed_fps: float = Field(default=0.0, description="pictures analysed per second, over the last 30 s")
    dropped_percent: float = Field(default=0.0, description="of the pictures due for analysis in the last 30 s, "
                                   "the share skipped because the machine could not keep up")
    faces: bool = False
    faces_seen: int = Field(default=0, description="face sightings (one per face per analysed frame)")
    face_events: int = 0
    faces_error: str | None = Field(default=None, description="why face recognition is off on this camera")


def _store(request: Request, camera_id: str, specs: list[RuleSpec]) -> list[RuleSpec]:
    try:
        checked = parse_rules([s.model_dump() for s in specs])
    except (ValueError, ValidationError) as err:
        raise HTTPException(422, str(err)) from None
    get_vigil(request).set_rules(camera_id, checked)
    return checked


@router.get("/{camera_id}/rules", response_model=list[RuleSpec])
def list_rules(camera_id: str, request: Request) -> Any:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    return vigil.rules(camera_id)


@router.put("/{camera_id}/rules", response_model=list[RuleSpec])
def replace_rules(camera_id: str, rules: list[RuleSpec], request: Request) -> Any:
    """Replaces all of the camera's rules (at most 10); they apply from the next analysed frame."""
    require_camera(get_vigil(request), camera_id)
    return _store(request, camera_id, rules)


@router.post("/{camera_id}/rules", response_model=RuleSpec, status_code=201)
def add_rule(camera_id: str, rule: RuleSpec, request: Request) -> Any:
    """Adds a rule, or replaces the one with the same id."""
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    rules = [r for r in vigil.rules(camera_id) if r.id != rule.id] + [rule]
    _store(request, camera_id, rules)
    return rule


@router.delete("/{camera_id}/rules/{rule_id}", status_code=204)
def delete_rule(camera_id: str, rule_id: str, request: Request) -> None:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    rules = vigil.rules(camera_id)
    if not any(r.id == rule_id for r in rules):
        raise HTTPException(404, f"camera {camera_id!r} has no rule {rule_id!r}")
    _store(request, camera_id, [r for r in rules if r.id != rule_id])


@router.get("/{camera_id}/analytics", response_model=AnalyticsStatus)
def analytics_status(camera_id: str, request: Request) -> Any:
    vigil = get_vigil(request)
    require_camera(vigil, camera_id)
    settings = vigil.cameras[camera_id].analytics
    a = vigil.analyses.get(camera_id)
    if a is None:
        return AnalyticsStatus(enabled=False, fps=settings.fps)
    f = a.faces
    return AnalyticsStatus(enabled=True, fps=settings.fps, **a.status.__dict__, faces=f is not None,
                           faces_seen=f.faces_seen if f else 0, face_events=f.events if f else 0,
                           faces_error=f.disabled if f else None)
