"""Licence-plate allow and block lists."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from vigil.analytics.plates import normalise
from vigil.catalog.models import PlateListModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms

LISTS = ("allow", "block")


@dataclass(frozen=True)
class PlateEntry:
    plate: str
    list: str
    note: str
    created_ms: int


class PlateLists:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def entries(self) -> list[PlateEntry]:
        with self.catalog.session() as s:
            return [PlateEntry(m.plate, m.list, m.note, m.created_ms)
                    for m in s.scalars(select(PlateListModel).order_by(PlateListModel.plate))]

    def put(self, plate: str, list_: str, note: str = "") -> PlateEntry:
        """Adds a plate to a list, or moves it there (a plate is on one list at most)."""
        p = normalise(plate)
        if not 2 <= len(p) <= 20:
            raise ValueError(f"plate {plate!r}: give 2 to 20 letters and digits (spaces and dashes are ignored)")
        if list_ not in LISTS:
            raise ValueError(f"list {list_!r}: use allow or block")
        with self.catalog.session() as s, s.begin():
            m = s.get(PlateListModel, p)
            if m is None:
                m = PlateListModel(plate=p, list=list_, note=note, created_ms=now_ms())
                s.add(m)
            else:
                m.list, m.note = list_, note
            return PlateEntry(m.plate, m.list, m.note, m.created_ms)

    def remove(self, plate: str) -> bool:
        with self.catalog.session() as s, s.begin():
            result = s.execute(delete(PlateListModel).where(PlateListModel.plate == normalise(plate)))
            return bool(getattr(result, "rowcount", 0))

    def lookup(self, plate: str) -> PlateEntry | None:
        with self.catalog.session() as s:
            m = s.get(PlateListModel, normalise(plate))
            return None if m is None else PlateEntry(m.plate, m.list, m.note, m.created_ms)


def plate_event(entry: PlateEntry | None) -> tuple[str, str, str]:
    """(event type, severity, what to add to the message) of a plate read, by the list it is on."""
    if entry is None:
        return "plate_read", "info", ""
    note = f" ({entry.note})" if entry.note else ""
    if entry.list == "block":
        return "plate_blocklist", "alarm", f" — on the block list{note}"
    return "plate_match", "info", f" — on the allow list{note}"
