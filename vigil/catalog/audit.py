"""The audit log in the catalog: one row per login, watch, export or change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from vigil.catalog.models import AuditModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms


@dataclass(frozen=True)
class AuditRow:
    id: int
    t_ms: int
    username: str | None
    address: str
    action: str
    camera_id: str | None
    status: int | None
    details: dict[str, Any]


class AuditLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add(self, action: str, username: str | None, address: str, camera_id: str | None = None,
            status: int | None = None, details: dict[str, Any] | None = None) -> None:
        with self.catalog.session() as s, s.begin():
            s.add(AuditModel(t_ms=now_ms(), username=username, address=address[:64], action=action[:200],
                             camera_id=camera_id, status=status, details=details or {}))

    def query(self, start_ms: int | None = None, end_ms: int | None = None, username: str | None = None,
              action: str | None = None, camera_id: str | None = None, limit: int = 100, offset: int = 0
              ) -> list[AuditRow]:
        """Newest first. `action` matches a part of the action (e.g. "cameras", "login")."""
        a = AuditModel
        q = select(a).order_by(a.t_ms.desc(), a.id.desc())
        if start_ms is not None:
            q = q.where(a.t_ms >= start_ms)
        if end_ms is not None:
            q = q.where(a.t_ms < end_ms)
        if username:
            q = q.where(a.username == username)
        if action:
            q = q.where(a.action.contains(action, autoescape=True))
        if camera_id:
            q = q.where(a.camera_id == camera_id)
        with self.catalog.session() as s:
            return [AuditRow(m.id, m.t_ms, m.username, m.address, m.action, m.camera_id, m.status, m.details)
                    for m in s.scalars(q.limit(limit).offset(offset))]
