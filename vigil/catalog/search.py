"""AI search over events and targets: one query with any mix of filters, sorted and paginated.

Filters: time range, cameras, event types, rules, target classes, colours (a person's upper/lower body, a
vehicle's body, or "any"), plate text with `*`/`?` wildcards, face attributes and face identity (joined from
face_sightings). Every filter column has an index that ends with `start_ms` (migration 0006), so a page of the
newest hits is an index range scan; the total is counted up to COUNT_CAP rows so a broad query stays quick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Select, func, or_, select

from vigil.catalog.faces import expression_values
from vigil.catalog.models import EventModel, FaceSightingModel
from vigil.catalog.rows import EventRow
from vigil.catalog.store import Catalog

COUNT_CAP = 10_000
PLATE_PATTERN = re.compile(r"^[A-Z0-9*?]{1,20}$")


class SearchError(ValueError):
    """A query that cannot be run as given; the message says what to change."""


@dataclass(frozen=True)
class SearchQuery:
    start_ms: int | None = None
    end_ms: int | None = None
    cameras: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    upper_color: str | None = None
    lower_color: str | None = None
    body_color: str | None = None
    color: str | None = None  # any of the three
    plate: str | None = None  # wildcards: * any run, ? one character
    person_ids: tuple[int, ...] = ()
    gender: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    expression: str | None = None
    source: Literal["vigil", "camera"] | None = None  # who detected it; None: both
    sort: Literal["time", "score"] = "time"
    order: Literal["desc", "asc"] = "desc"
    limit: int = 50
    offset: int = 0


@dataclass
class SearchPage:
    total: int  # up to COUNT_CAP
    total_capped: bool
    hits: list[EventRow] = field(default_factory=list)


def plate_like(pattern: str) -> str:
    """A user's plate pattern (`*` any run, `?` one character; spaces and dashes ignored) as SQL LIKE."""
    p = re.sub(r"[^A-Z0-9*?]", "", pattern.upper())
    if not PLATE_PATTERN.match(p):
        raise SearchError(f"plate pattern {pattern!r}: use letters, digits, * (any run) and ? (one character)")
    return p.replace("*", "%").replace("?", "_")


def _face_filtered(q: SearchQuery) -> bool:
    return bool(q.person_ids or q.gender or q.age_min is not None or q.age_max is not None or q.expression)


def build(q: SearchQuery) -> Select[EventModel]:
    """The filtered query, without ordering or paging (pure: no database needed)."""
    if q.start_ms is not None and q.end_ms is not None and q.start_ms > q.end_ms:
        raise SearchError(f"start ({q.start_ms}) must not be after end ({q.end_ms})")
    e = EventModel
    s = select(e)
    # "+ 0" keeps SQLite from walking the time index when a rarer filter's index is the better start (it
    # otherwise prefers the time index to avoid sorting the page); PostgreSQL plans it the same either way.
    t = e.start_ms + 0 if q.plate or _face_filtered(q) else e.start_ms
    if q.start_ms is not None:
        s = s.where(t >= q.start_ms)
    if q.end_ms is not None:
        s = s.where(t < q.end_ms)
    for column, values in ((e.camera_id, q.cameras), (e.type, q.types), (e.rule_id, q.rules), (e.label, q.labels)):
        if len(values) == 1:
            s = s.where(column == values[0])
        elif values:
            s = s.where(column.in_(values))
    for column, value in ((e.upper_color, q.upper_color), (e.lower_color, q.lower_color),
                          (e.body_color, q.body_color)):
        if value:
            s = s.where(column == value)
    if q.color:
        s = s.where(or_(e.upper_color == q.color, e.lower_color == q.color, e.body_color == q.color))
    if q.source == "camera":
        s = s.where(e.source == "camera")
    elif q.source == "vigil":
        s = s.where(e.source.is_(None))
    if q.plate:
        like = plate_like(q.plate)
        prefix = re.split(r"[%_]", like, maxsplit=1)[0]
        if prefix == like:
            s = s.where(e.plate == like)
        else:
            # The literal start of the pattern as a range lets the plate index find the candidates (LIKE alone
            # is not indexed: it ignores case); a pattern starting with a wildcard walks the plate index only
            # ("0" is the least character a plate holds).
            s = s.where(e.plate.like(like), e.plate >= (prefix or "0"), e.plate < (prefix or "Z") + "~")
    if _face_filtered(q):
        f = FaceSightingModel
        s = s.join(f, f.event_id == e.id)
        if q.start_ms is not None:  # a sighting's time is its event's start
            s = s.where(f.t_ms >= q.start_ms)
        if q.end_ms is not None:
            s = s.where(f.t_ms < q.end_ms)
        if q.person_ids:
            s = s.where(f.person_id.in_(q.person_ids))
        if q.gender:
            s = s.where(f.gender == q.gender)
        if q.age_min is not None:
            s = s.where(f.age >= q.age_min)
        if q.age_max is not None:
            s = s.where(f.age <= q.age_max)
        if q.expression:
            s = s.where(f.expression.in_(expression_values(q.expression)))
    return s


def ordered(q: SearchQuery) -> Select[EventModel]:
    e = EventModel
    s = build(q)
    key = e.score if q.sort == "score" else e.start_ms
    primary = key.desc() if q.order == "desc" else key.asc()
    tie = e.id.desc() if q.order == "desc" else e.id.asc()
    return s.order_by(primary, tie).limit(q.limit).offset(q.offset)


def search(catalog: Catalog, q: SearchQuery, count: bool = True) -> SearchPage:
    """A page of hits, and (with `count`) how many match, up to COUNT_CAP. The one event query: the event list
    (`/api/events`), AI search (`/api/search`, `vigil search`) and the tests all go through it."""
    if not 1 <= q.limit <= 1000 or q.offset < 0:
        raise SearchError("limit is 1 to 1000 and offset 0 or more")
    counted = build(q).with_only_columns(EventModel.id).limit(COUNT_CAP + 1).subquery()
    with catalog.session() as s:
        hits = [EventRow.of(m) for m in s.scalars(ordered(q))]
        total = int(s.execute(select(func.count()).select_from(counted)).scalar_one()) if count else len(hits)
    return SearchPage(min(total, COUNT_CAP), total > COUNT_CAP, hits)
