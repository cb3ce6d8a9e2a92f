"""Face databases, persons and their face images; face search by person, by photo and by attributes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vigil.analytics.faces.attributes import MEASURED, SUPPORTED, UNSUPPORTED, age_group_range
from vigil.api.deps import RowId, current_user, get_vigil, parse_time, seen
from vigil.api.schemas import EventOut
from vigil.catalog.faces import Expression, FaceDatabaseRow, FaceImageRow, PersonRow, SightingRow, expression_values
from vigil.recognition import FaceService, decode_image

router = APIRouter(prefix="/api/faces", tags=["faces"], dependencies=[Depends(current_user)])

MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_BODY = {"requestBody": {"required": True, "content": {"image/jpeg": {}, "image/png": {}}}}
Kind = Literal["allow", "block", "info"]
Cameras = Annotated[list[str] | None, Query(description="camera ids (repeat the parameter for several)")]


class DatabaseIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind = Field("allow", description="allow: matches are info events (VIP); block: matches raise an alarm")
    description: str = Field("", max_length=2000)


class DatabasePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: Kind | None = None
    description: str | None = Field(None, max_length=2000)


class DatabaseOut(BaseModel):
    id: int
    name: str
    kind: str
    description: str
    persons: int
    images: int

    @classmethod
    def of(cls, d: FaceDatabaseRow) -> DatabaseOut:
        return cls(id=d.id, name=d.name, kind=d.kind, description=d.description, persons=d.persons,
                   images=d.images)


class PersonDetails(BaseModel):
    gender: Literal["male", "female", "other"] | None = None
    birthday: dt.date | None = None
    address: str | None = Field(None, max_length=500)
    credential_type: str | None = Field(None, max_length=50, description="ID card, passport, …")
    credential_number: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=100, description="country or region")
    state: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=5000)


class PersonIn(PersonDetails):
    name: str = Field(min_length=1, max_length=200)


class PersonPatch(PersonDetails):
    name: str | None = Field(None, min_length=1, max_length=200)


class PersonOut(PersonDetails):
    id: int
    database_id: int
    name: str
    images: list[int] = Field(default_factory=list, description="face image ids; GET /api/faces/images/{id}.jpg")

    @classmethod
    def of(cls, p: PersonRow) -> PersonOut:
        return cls(id=p.id, database_id=p.database_id, name=p.name, images=p.images, **p.details)


class FaceImageOut(BaseModel):
    id: int
    person_id: int
    database_id: int
    quality: float
    source: str
    url: str

    @classmethod
    def of(cls, i: FaceImageRow) -> FaceImageOut:
        return cls(id=i.id, person_id=i.person_id, database_id=i.database_id, quality=round(i.quality, 3),
                   source=i.source, url=f"/api/faces/images/{i.id}.jpg")


class FaceHit(BaseModel):
    event: EventOut
    similarity: float | None = Field(None, description="cosine similarity of the face to the query")
    person_id: int | None = None
    gender: str | None = None
    age: int | None = None


class AttributeInfo(BaseModel):
    supported: dict[str, str] = Field(description="attribute: the model it rests on")
    measured: dict[str, str] = Field(description="attribute: its accuracy on labelled real photographs")
    unsupported: list[str]


def _details(body: PersonDetails) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(mode="json", exclude={"name"}).items() if v is not None}


def _service(request: Request) -> FaceService:
    return get_vigil(request).faces()


async def _image(request: Request) -> Any:
    data = await request.body()
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(413, f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return decode_image(data)


@router.get("/attributes", response_model=AttributeInfo)
def attributes() -> Any:
    """Which face attributes Vigil reports, and which it does not (no shipped model: never guessed)."""
    return AttributeInfo(supported=SUPPORTED, measured=MEASURED, unsupported=list(UNSUPPORTED))


class FacesStatus(BaseModel):
    model: str = Field(description="the embedding model every vector is compared with")
    detector: str
    match_threshold: float
    images: int = Field(description="enrolled images recognisable now (vectors of this model)")
    sightings: int = Field(description="face events searchable by photo now")
    reembedding: dict[str, Any] | None = Field(
        None, description="after a change of model: progress of embedding every enrolled photo and face event again")


@router.get("/status", response_model=FacesStatus)
def status(request: Request) -> Any:
    """The face models in use, and after a change of model how far re-embedding has come."""
    return FacesStatus(**_service(request).status())


@router.get("/databases", response_model=list[DatabaseOut])
def databases(request: Request) -> Any:
    return [DatabaseOut.of(d) for d in _service(request).databases()]


@router.post("/databases", response_model=DatabaseOut, status_code=201)
def create_database(body: DatabaseIn, request: Request) -> Any:
    return DatabaseOut.of(_service(request).create_database(body.name, body.kind, body.description))


@router.patch("/databases/{db_id}", response_model=DatabaseOut)
def update_database(db_id: RowId, body: DatabasePatch, request: Request) -> Any:
    return DatabaseOut.of(_service(request).update_database(db_id, **body.model_dump()))


@router.delete("/databases/{db_id}", status_code=204)
def delete_database(db_id: RowId, request: Request) -> None:
    """Deletes the database with its persons, their images and their vectors."""
    _service(request).delete_database(db_id)


@router.get("/databases/{db_id}/persons", response_model=list[PersonOut])
def persons(db_id: RowId, request: Request, name: str | None = None, limit: int = Query(100, ge=1, le=1000),
            offset: int = Query(0, ge=0, le=1_000_000)) -> Any:
    svc = _service(request)
    svc.store.database(db_id)
    return [PersonOut.of(p) for p in svc.store.persons(db_id, name, limit, offset)]


@router.post("/databases/{db_id}/persons", response_model=PersonOut, status_code=201)
def add_person(db_id: RowId, body: PersonIn, request: Request) -> Any:
    return PersonOut.of(_service(request).add_person(db_id, body.name, _details(body)))


@router.get("/persons/{person_id}", response_model=PersonOut)
def person(person_id: RowId, request: Request) -> Any:
    return PersonOut.of(_service(request).store.person(person_id))


@router.patch("/persons/{person_id}", response_model=PersonOut)
def update_person(person_id: RowId, body: PersonPatch, request: Request) -> Any:
    return PersonOut.of(_service(request).update_person(person_id, body.name, _details(body)))


@router.delete("/persons/{person_id}", status_code=204)
def delete_person(person_id: RowId, request: Request) -> None:
    """Deletes the person, their face images and their vectors."""
    _service(request).delete_person(person_id)


@router.post("/persons/{person_id}/images", response_model=FaceImageOut, status_code=201, openapi_extra=IMAGE_BODY)
async def enrol(person_id: RowId, request: Request) -> Any:
    """Enrols a photo (the request body, JPEG or PNG) holding exactly one face."""
    svc = _service(request)
    img = await _image(request)
    return FaceImageOut.of(await run_in_threadpool(svc.enrol, person_id, img, "upload", "the image"))


@router.post("/persons/{person_id}/images/from-event/{event_id}", response_model=FaceImageOut, status_code=201)
def promote(person_id: RowId, event_id: RowId, request: Request) -> Any:
    """Enrols the face of a face event (e.g. a stranger who turns out to be a new colleague)."""
    vigil = get_vigil(request)
    row = vigil.catalog.event(event_id)
    if row is None or not row.type.startswith("face_") or not row.snapshot:
        raise HTTPException(404, f"event {event_id} is not a face event with a picture")
    return FaceImageOut.of(vigil.faces().promote(person_id, vigil.snapshot_bytes(row.snapshot)))


@router.get("/images/{image_id}.jpg", response_class=FileResponse, responses={200: {"content": {"image/jpeg": {}}}})
def image(image_id: RowId, request: Request) -> FileResponse:
    svc = _service(request)
    path = svc.image_path(image_id)
    root = svc.storage.resolve()
    if not path.resolve().is_relative_to(root) or not path.exists():
        raise HTTPException(404, f"face image {image_id} has no file")
    return FileResponse(path, media_type="image/jpeg")


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: RowId, request: Request) -> None:
    _service(request).delete_image(image_id)


def _hits(request: Request, found: list[tuple[SightingRow, float | None]]) -> list[FaceHit]:
    catalog = get_vigil(request).catalog
    out = []
    for s, score in found:
        row = catalog.event(s.event_id)
        if row is not None and seen(request, row.camera_id):
            out.append(FaceHit(event=EventOut.of(row), similarity=None if score is None else round(score, 4),
                               person_id=s.person_id, gender=s.gender, age=s.age))
    return out


def _window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    t0 = parse_time(start, None, "start") if start else None
    t1 = parse_time(end, None, "end") if end else None
    if t0 is not None and t1 is not None and t0 > t1:
        raise HTTPException(422, f"start ({t0}) must not be after end ({t1})")
    return t0, t1


@router.post("/search", response_model=list[FaceHit], openapi_extra=IMAGE_BODY)
async def search_photo(request: Request, camera: Cameras = None, start: str | None = None,
                       end: str | None = None, min_similarity: float | None = Query(None, ge=-1, le=1),
                       limit: int = Query(50, ge=1, le=500)) -> Any:
    """Face events that look like the face in the photo (the request body), most alike first."""
    t0, t1 = _window(start, end)
    svc = _service(request)
    img = await _image(request)
    found = await run_in_threadpool(lambda: svc.search_photo(img, cameras=camera, start_ms=t0, end_ms=t1,
                                                             min_score=min_similarity, limit=limit))
    return _hits(request, list(found))


@router.get("/search", response_model=list[FaceHit])
def search(request: Request, person: int | None = Query(None, description="an enrolled person's id"),
           camera: Cameras = None, start: str | None = None, end: str | None = None,
           gender: Literal["male", "female"] | None = None,
           age_group: str | None = Query(None, description="child, teen, 18-30, 31-45, 46-60, 60+"),
           age_min: int | None = Query(None, ge=0, le=150), age_max: int | None = Query(None, ge=0, le=150),
           expression: Expression | None = None,
           limit: int = Query(50, ge=1, le=500)) -> Any:
    """When was this person here (newest first), or faces by attributes (e.g. gender=male&age_group=18-30)."""
    t0, t1 = _window(start, end)
    svc = _service(request)
    if age_group:
        rng = age_group_range(age_group)
        if rng is None:
            raise HTTPException(422, f"age_group {age_group!r} is not one of child, teen, 18-30, 31-45, 46-60, 60+")
        age_min, age_max = max(age_min or 0, rng[0]), min(age_max if age_max is not None else 200, rng[1])
    if person is not None:
        found: list[tuple[SightingRow, float | None]] = list(
            svc.search_person(person, cameras=camera, start_ms=t0, end_ms=t1, limit=limit))
        found = [(s, sc) for s, sc in found
                 if (gender is None or s.gender == gender) and (age_min is None or (s.age or 0) >= age_min)
                 and (age_max is None or (s.age or 0) <= age_max)
                 and (expression is None or s.expression in expression_values(expression))]
    else:
        found = [(s, s.score) for s in svc.store.sightings(cameras=camera, start_ms=t0, end_ms=t1, gender=gender,
                                                          age_min=age_min, age_max=age_max, expression=expression,
                                                          limit=limit)]
    return _hits(request, found)
