"""Cluster rows: nodes' heartbeats and camera leases. Acquiring a lease is one conditional UPDATE (or an INSERT
that the primary key refuses to a second node), so two nodes never both believe they hold a camera."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from vigil.catalog.models import LeaseModel, NodeModel, SegmentModel
from vigil.catalog.store import Catalog


@dataclass(frozen=True)
class Lease:
    """Who records a camera, until when (the cluster's plan reads these; catalog rows)."""
    camera_id: str
    node_id: str
    since_ms: int
    expires_ms: int


@dataclass(frozen=True)
class NodeRow:
    id: str
    url: str
    started_ms: int
    seen_ms: int
    details: dict[str, Any]


def heartbeat(catalog: Catalog, node: str, url: str, started_ms: int, now: int, details: dict[str, Any]) -> None:
    with catalog.session() as s, s.begin():
        row = s.get(NodeModel, node)
        if row is None:
            s.add(NodeModel(id=node, url=url, started_ms=started_ms, seen_ms=now, details=details))
        else:
            row.url, row.started_ms, row.seen_ms, row.details = url, started_ms, now, details


def nodes(catalog: Catalog) -> list[NodeRow]:
    with catalog.session() as s:
        return [NodeRow(n.id, n.url, n.started_ms, n.seen_ms, dict(n.details or {}))
                for n in s.scalars(select(NodeModel).order_by(NodeModel.id))]


def leases(catalog: Catalog) -> list[Lease]:
    with catalog.session() as s:
        return [Lease(m.camera_id, m.node_id, m.since_ms, m.expires_ms)
                for m in s.scalars(select(LeaseModel).order_by(LeaseModel.camera_id))]


def renew(catalog: Catalog, node: str, now: int, lease_ms: int) -> set[str]:
    """Extends every lease this node holds; returns the cameras it holds."""
    with catalog.session() as s, s.begin():
        s.execute(update(LeaseModel).where(LeaseModel.node_id == node).values(expires_ms=now + lease_ms))
        return set(s.scalars(select(LeaseModel.camera_id).where(LeaseModel.node_id == node)))


def acquire(catalog: Catalog, camera: str, node: str, now: int, lease_ms: int) -> bool:
    """Takes a camera whose lease is missing or expired; False when another node holds it (or won the race)."""
    with catalog.session() as s, s.begin():
        done = s.execute(update(LeaseModel).where(LeaseModel.camera_id == camera, LeaseModel.expires_ms <= now)
                         .values(node_id=node, since_ms=now, expires_ms=now + lease_ms))
        if done.rowcount:  # type: ignore[attr-defined]
            return True
        if s.get(LeaseModel, camera) is not None:
            return False
    try:
        with catalog.session() as s, s.begin():
            s.add(LeaseModel(camera_id=camera, node_id=node, since_ms=now, expires_ms=now + lease_ms))
        return True
    except IntegrityError:
        return False


def release(catalog: Catalog, node: str, cameras: list[str] | None = None) -> None:
    """Gives cameras up at once (a clean stop, a finished hand-over): the next node need not wait for expiry."""
    q = delete(LeaseModel).where(LeaseModel.node_id == node)
    if cameras is not None:
        q = q.where(LeaseModel.camera_id.in_(cameras))
    with catalog.session() as s, s.begin():
        s.execute(q)


def segments_written(catalog: Catalog, since_ms: int) -> dict[str, int]:
    """Segments each node started since `since_ms` (its catalog write load, with the heartbeats)."""
    q = (select(SegmentModel.node_id, func.count()).where(SegmentModel.start_ms >= since_ms)
         .group_by(SegmentModel.node_id))
    with catalog.session() as s:
        return {str(n): int(c) for n, c in s.execute(q)}
