"""Alarms: external alarm input (a PIR sensor, another system), acknowledging events, linkage rules (made and
changed here; those of vigil.yml are shown read-only) and linkage status."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from vigil.api.deps import RowId, current_user, get_vigil, require_visible
from vigil.api.rights import may_see
from vigil.api.schemas import EventOut
from vigil.clock import now_ms
from vigil.config import LinkageRule, redact_url
from vigil.errors import ConfigError
from vigil.services.linkage_rules import StoredRule

router = APIRouter(tags=["alarms"], dependencies=[Depends(current_user)])


class ExternalAlarm(BaseModel):
    source: str = Field(min_length=1, max_length=100, description="what raised it, e.g. pir-hall")
    camera: str | None = Field(None, description="the camera it concerns (its picture is attached)")
    message: str = Field("", max_length=1000)
    severity: Literal["info", "warning", "alarm", "critical"] = "alarm"


class LinkageRuleOut(BaseModel):
    id: str = Field(description="config-N: alarms.linkage[N] of vigil.yml (change it there); else made here")
    source: Literal["config", "ui"]
    name: str
    types: list[str]
    cameras: list[str]
    min_severity: str
    schedule: list[dict[str, Any]]
    min_interval_seconds: float
    actions: list[str] = Field(description="e-mail recipients, webhook URL, mqtt, buzzer, record: cameras")


class LinkageStatus(BaseModel):
    armed: bool
    rules: int
    linkage: list[LinkageRuleOut] = Field(default_factory=list)
    sent: dict[str, int]
    failed: dict[str, int]


@router.post("/api/alarms/external", response_model=EventOut, status_code=201)
def external(body: ExternalAlarm, request: Request) -> Any:
    """Raises an `external` event; linkage treats it like any other alarm."""
    vigil = get_vigil(request)
    require_visible(request, body.camera)
    row = vigil.bus.publish("external", body.message or f"alarm from {body.source}", camera_id=body.camera,
                            severity=body.severity, start_ms=now_ms(), details={"source": body.source})
    return EventOut.of(row)


@router.post("/api/events/{event_id}/ack", response_model=EventOut)
def acknowledge(event_id: RowId, request: Request) -> Any:
    """Marks an event as seen by the calling user (who and when, in `details.ack`)."""
    vigil = get_vigil(request)
    user = request.state.user
    # The same answer for an event of a camera the user may not see as for no event: nothing is recorded, and
    # nothing tells them it exists.
    found = vigil.catalog.event(event_id)
    if found is None or not may_see(user, found.camera_id):
        raise HTTPException(404, f"no event {event_id}")
    row = vigil.bus.update(event_id, details={"ack": {"by": user.username, "at_ms": now_ms()}})
    if row is None:
        raise HTTPException(404, f"no event {event_id}")
    return EventOut.of(row)


@router.get("/api/alarms/status", response_model=LinkageStatus)
def status(request: Request) -> Any:
    vigil = get_vigil(request)
    runner = vigil.linkage
    rules = [rule_out(s) for s in vigil.linkage_rules.all()]
    return LinkageStatus(armed=bool(vigil.catalog.get_setting("armed", False)), rules=len(rules), linkage=rules,
                         sent=dict(runner.sent) if runner else {}, failed=dict(runner.failed) if runner else {})


def rule_out(s: StoredRule) -> LinkageRuleOut:
    r = s.rule
    return LinkageRuleOut(
        id=s.id, source=s.source, name=r.name, types=r.types, cameras=r.cameras, min_severity=r.min_severity,
        schedule=[w.model_dump() for w in r.schedule], min_interval_seconds=r.min_interval_seconds,
        actions=[*(f"e-mail {to}" for to in r.email), *([f"webhook {redact_url(r.webhook)}"] if r.webhook else []),
                 *(["mqtt"] if r.mqtt else []), *(["buzzer"] if r.buzzer else []),
                 *([f"record {', '.join(r.record)}"] if r.record else []),
                 *(f"PTZ {p.camera} to {p.preset}" for p in r.ptz_preset)],
    )


class LinkageRuleFull(BaseModel):
    """A rule as stored, for editing (admins): the fields of `alarms.linkage` in vigil.yml."""
    id: str
    source: Literal["config", "ui"]
    rule: LinkageRule


def _checked(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    try:
        get_vigil(request).linkage_rules.check(body)
    except ConfigError as err:
        raise HTTPException(422, str(err)) from None
    return body


@router.get("/api/alarms/linkage", response_model=list[LinkageRuleFull])
def linkage_rules(request: Request) -> Any:
    """Every linkage rule: vigil.yml's first (read-only here), then those made in the UI or API."""
    return [LinkageRuleFull(id=s.id, source=s.source, rule=s.rule) for s in get_vigil(request).linkage_rules.all()]


@router.post("/api/alarms/linkage", response_model=LinkageRuleFull, status_code=201)
def add_linkage_rule(body: dict[str, Any], request: Request) -> Any:
    """Body: a rule as under `alarms.linkage` in vigil.yml (same checks, same messages); applies to the next
    event on every node."""
    s = get_vigil(request).linkage_rules.add(_checked(request, body))
    return LinkageRuleFull(id=s.id, source=s.source, rule=s.rule)


@router.put("/api/alarms/linkage/{rule_id}", response_model=LinkageRuleFull)
def replace_linkage_rule(rule_id: str, body: dict[str, Any], request: Request) -> Any:
    s = get_vigil(request).linkage_rules.replace(rule_id, _checked(request, body))
    return LinkageRuleFull(id=s.id, source=s.source, rule=s.rule)


@router.delete("/api/alarms/linkage/{rule_id}", status_code=204)
def delete_linkage_rule(rule_id: str, request: Request) -> None:
    get_vigil(request).linkage_rules.delete(rule_id)
