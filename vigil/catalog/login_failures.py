"""Failed logins kept in the catalog (the throttle of a cluster: every node sees every node's failures)."""

from __future__ import annotations

from sqlalchemy import delete, select

from vigil.catalog.models import LoginFailureModel
from vigil.catalog.store import Catalog


def recent(catalog: Catalog, keys: list[str], since_ms: int) -> dict[str, list[int]]:
    q = (select(LoginFailureModel.key, LoginFailureModel.t_ms)
         .where(LoginFailureModel.key.in_(keys), LoginFailureModel.t_ms >= since_ms)
         .order_by(LoginFailureModel.t_ms))
    out: dict[str, list[int]] = {}
    with catalog.session() as s:
        for key, t in s.execute(q):
            out.setdefault(key, []).append(int(t))
    return out


def add(catalog: Catalog, keys: list[str], t_ms: int, forget_before_ms: int) -> None:
    with catalog.session() as s, s.begin():
        s.add_all(LoginFailureModel(key=k[:200], t_ms=t_ms) for k in keys)
        s.execute(delete(LoginFailureModel).where(LoginFailureModel.t_ms < forget_before_ms))


def clear(catalog: Catalog, key: str) -> None:
    with catalog.session() as s, s.begin():
        s.execute(delete(LoginFailureModel).where(LoginFailureModel.key == key))
