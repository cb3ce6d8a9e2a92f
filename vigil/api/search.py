"""AI search: events and targets by any mix of time, camera, type, rule, class, colours, plate and face."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.analytics.colors import COLORS
from vigil.api.deps import CurrentUser, current_user, get_vigil, parse_time
from vigil.api.events import class_labels
from vigil.api.rights import RANK, minimum_role, visible
from vigil.api.schemas import EventOut
from vigil.catalog.accounts import User
from vigil.catalog.faces import Expression, FaceCatalog
from vigil.catalog.search import SearchError, SearchQuery, search
from vigil.clock import now_ms

router = APIRouter(prefix="/api/search", tags=["search"], dependencies=[Depends(current_user)])

Many = Annotated[list[str] | None, Query()]
Color = Literal[COLORS]  # type: ignore[valid-type]


class SearchHit(EventOut):
    person: str | None = Field(None, description="the recognised person, for face events")


class SearchResult(BaseModel):
    total: int = Field(description="matching events, counted up to 10,000")
    total_capped: bool = Field(description="true when more than 10,000 match (narrow the query to count them)")
    offset: int
    limit: int
    hits: list[SearchHit]


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Repeated parameters and comma-separated lists both work: ?camera=a&camera=b or ?camera=a,b."""
    return tuple(v.strip() for raw in values or () for v in raw.split(",") if v.strip())


def _limit(user: User, vigil: Any) -> tuple[str, ...]:
    """No camera asked: all cameras — for a user limited to some, theirs (an empty set finds nothing)."""
    if user.cameras is None:
        return ()
    return tuple(visible(user, sorted(vigil.cameras))) or ("\x00none",)


def _persons(faces: FaceCatalog, values: tuple[str, ...], user: User) -> tuple[int, ...]:
    """Person ids, or whole names (case aside). Names are the face databases' personal data: searching by them
    needs the role that may read those databases, and a name must be known in full (no guessing by parts)."""
    if values and RANK[user.role] < RANK[minimum_role("GET", "/api/faces/persons")]:
        raise HTTPException(403, "searching by person needs the operator role (face databases hold personal data)")
    ids: list[int] = []
    for v in values:
        if v.isdigit():
            ids.append(int(v))
            continue
        found = [p.id for p in faces.persons(name=v, exact=True)]
        if not found:
            raise HTTPException(422, f"no person called {v!r} in any face database (give the whole name or the id)")
        ids += found
    return tuple(ids)


@router.get("", response_model=SearchResult)
async def search_events(
    request: Request, user: CurrentUser,
    start: str | None = Query(None, description="epoch ms or ISO-8601; default: 24 h before end"),
    end: str | None = Query(None, description="epoch ms or ISO-8601; default: now"),
    camera: Many = None, type: Many = None, rule: Many = None,
    cls: Annotated[list[str] | None, Query(alias="class", description="person, car, …; human; vehicle")] = None,
    upper: Annotated[Color | None, Query(description="a person's upper-body colour")] = None,
    lower: Annotated[Color | None, Query(description="a person's lower-body colour")] = None,
    body: Annotated[Color | None, Query(description="a vehicle's body colour")] = None,
    color: Annotated[Color | None, Query(description="any of the three colours")] = None,
    plate: str | None = Query(None, max_length=40, description="plate text; * matches any run, ? one character"),
    person: Annotated[list[str] | None, Query(description="face identity: person id or whole name "
                                                          "(operators and admins)")] = None,
    gender: Literal["female", "male"] | None = None,
    age_min: int | None = Query(None, ge=0, le=120), age_max: int | None = Query(None, ge=0, le=120),
    expression: Expression | None = None,
    source: Literal["vigil", "camera"] | None = Query(None, description="who detected it: Vigil's analytics or "
                                                       "the camera's own (ONVIF); default both"),
    sort: Literal["time", "score"] = "time", order: Literal["desc", "asc"] = "desc",
    limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000),
) -> Any:
    vigil = get_vigil(request)
    t1 = parse_time(end, now_ms(), "end")
    t0 = parse_time(start, t1 - 86_400_000, "start")
    labels = tuple(label for c in _split(cls) for label in class_labels(c))
    faces = FaceCatalog(vigil.catalog)
    q = SearchQuery(
        start_ms=t0, end_ms=t1, cameras=_split(camera) or _limit(user, vigil), types=_split(type),
        rules=_split(rule), labels=labels,
        upper_color=upper, lower_color=lower, body_color=body, color=color, plate=plate,
        person_ids=_persons(faces, _split(person), user), gender=gender, age_min=age_min, age_max=age_max,
        expression=expression, source=source, sort=sort, order=order, limit=limit, offset=offset)
    try:
        page = await run_in_threadpool(search, vigil.catalog, q)
    except SearchError as err:
        raise HTTPException(422, str(err)) from None
    names: dict[int, str] = {}
    face_ids = [h.id for h in page.hits if h.type.startswith("face")]
    if face_ids:
        sightings = faces.sightings(event_ids=face_ids, limit=len(face_ids))
        people = faces.persons_by_id([s.person_id for s in sightings if s.person_id is not None])
        names = {s.event_id: people[s.person_id].name for s in sightings
                 if s.person_id is not None and s.person_id in people}
    hits = [SearchHit(**EventOut.of(h).model_dump(), person=names.get(h.id)) for h in page.hits]
    return SearchResult(total=page.total, total_capped=page.total_capped, offset=offset, limit=limit, hits=hits)
