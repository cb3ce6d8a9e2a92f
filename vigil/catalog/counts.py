"""People counts (per counting line and 5-minute bucket) and heat-map grids (per camera-hour) in the catalog."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from vigil.analytics.counting import bucket_of
from vigil.catalog.models import HeatCellModel, PeopleCountModel
from vigil.catalog.store import Catalog


class CountStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add_crossing(self, camera_id: str, rule_id: str, t_ms: int, way: str) -> None:
        with self.catalog.session() as s, s.begin():
            key = (camera_id, rule_id, bucket_of(t_ms))
            m = s.get(PeopleCountModel, key)
            if m is None:
                m = PeopleCountModel(camera_id=camera_id, rule_id=rule_id, bucket_ms=key[2], in_count=0, out_count=0)
                s.add(m)
            if way == "in":
                m.in_count += 1
            else:
                m.out_count += 1

    def buckets(self, camera_id: str, rule_id: str | None, start_ms: int, end_ms: int) -> list[tuple[int, int, int]]:
        """(bucket start, in, out), summed over the camera's lines unless one is named, oldest first."""
        m = PeopleCountModel
        q = (select(m.bucket_ms, func.sum(m.in_count), func.sum(m.out_count))
             .where(m.camera_id == camera_id, m.bucket_ms >= bucket_of(start_ms), m.bucket_ms < end_ms)
             .group_by(m.bucket_ms).order_by(m.bucket_ms))
        if rule_id:
            q = q.where(m.rule_id == rule_id)
        with self.catalog.session() as s:
            return [(int(t), int(i), int(o)) for t, i, o in s.execute(q)]

    def net_since(self, camera_id: str, rule_id: str, since_ms: int) -> int:
        with self.catalog.session() as s:
            i, o = s.execute(select(func.coalesce(func.sum(PeopleCountModel.in_count), 0),
                                    func.coalesce(func.sum(PeopleCountModel.out_count), 0))
                             .where(PeopleCountModel.camera_id == camera_id, PeopleCountModel.rule_id == rule_id,
                                    PeopleCountModel.bucket_ms >= since_ms)).one()
            return int(i) - int(o)

    # heat maps
    def add_heat(self, camera_id: str, hour_ms: int, grid: np.ndarray) -> None:
        with self.catalog.session() as s, s.begin():
            m = s.get(HeatCellModel, (camera_id, hour_ms))
            if m is None:
                s.add(HeatCellModel(camera_id=camera_id, hour_ms=hour_ms, rows=grid.shape[0], cols=grid.shape[1],
                                    cells=grid.astype(np.float32).tobytes()))
                return
            old = np.frombuffer(m.cells, np.float32).reshape(m.rows, m.cols)
            if old.shape == grid.shape:
                m.cells = (old + grid).astype(np.float32).tobytes()

    def heat(self, camera_id: str, start_ms: int, end_ms: int) -> np.ndarray | None:
        """The sum of the camera's hourly grids that overlap the range; None when nobody was seen."""
        with self.catalog.session() as s:
            rows = s.scalars(select(HeatCellModel).where(
                HeatCellModel.camera_id == camera_id, HeatCellModel.hour_ms > start_ms - 3_600_000,
                HeatCellModel.hour_ms < end_ms)).all()
            total: np.ndarray | None = None
            for m in rows:
                g = np.frombuffer(m.cells, np.float32).reshape(m.rows, m.cols)
                total = g.copy() if total is None else (total + g if total.shape == g.shape else total)
            return total
