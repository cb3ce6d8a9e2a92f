"""Per-camera analytics rules, kept in the catalog so they survive restarts and apply to every node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from vigil.catalog.models import RuleModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms


def load_rules(catalog: Catalog, camera_id: str) -> list[dict[str, Any]]:
    with catalog.session() as s:
        q = select(RuleModel).where(RuleModel.camera_id == camera_id).order_by(RuleModel.position)
        return [dict(m.definition) for m in s.scalars(q)]


def save_rules(catalog: Catalog, camera_id: str, rules: Sequence[dict[str, Any]]) -> None:
    """Replaces the camera's rules (in one transaction: a failed write leaves the old set)."""
    with catalog.session() as s, s.begin():
        s.execute(delete(RuleModel).where(RuleModel.camera_id == camera_id))
        t = now_ms()
        for i, r in enumerate(rules):
            s.add(RuleModel(camera_id=camera_id, id=r["id"], position=i, definition=dict(r), updated_ms=t))
