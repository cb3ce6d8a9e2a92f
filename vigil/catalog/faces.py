"""Face databases, persons, enrolled images and face sightings in the catalog."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import delete, func, select

from vigil.catalog.models import EventModel, FaceDatabaseModel, FaceImageModel, FaceSightingModel, PersonModel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.errors import NotFoundError

DB_KINDS = ("allow", "block", "info")
# Expressions a sighting may have: the classifier's seven, and "smiling", what the smile cascade of Vigil before
# the classifier stored (asked for as "happy" or "smiling", both are found).
Expression = Literal["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "smiling"]


def expression_values(asked: str) -> tuple[str, ...]:
    """The stored values that answer a search for an expression."""
    return ("happy", "smiling") if asked in ("happy", "smiling") else (asked,)
PERSON_FIELDS = ("gender", "birthday", "address", "credential_type", "credential_number", "country", "state",
                 "notes")


@dataclass(frozen=True)
class FaceDatabaseRow:
    id: int
    name: str
    kind: str
    description: str
    persons: int = 0
    images: int = 0


@dataclass(frozen=True)
class PersonRow:
    id: int
    database_id: int
    name: str
    details: dict[str, Any]
    images: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FaceImageRow:
    id: int
    person_id: int
    database_id: int
    path: str
    quality: float
    source: str


@dataclass(frozen=True)
class SightingRow:
    event_id: int
    camera_id: str
    t_ms: int
    person_id: int | None
    score: float | None
    gender: str | None
    age: int | None
    expression: str | None


def to_blob(vec: np.ndarray) -> bytes:
    return np.asarray(vec, np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, np.float32)


class FaceCatalog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # databases
    def databases(self) -> list[FaceDatabaseRow]:
        with self.catalog.session() as s:
            persons = dict(s.execute(select(PersonModel.database_id, func.count()).group_by(PersonModel.database_id))
                           .all())
            images = dict(s.execute(select(FaceImageModel.database_id, func.count())
                                    .group_by(FaceImageModel.database_id)).all())
            return [FaceDatabaseRow(m.id, m.name, m.kind, m.description, persons.get(m.id, 0), images.get(m.id, 0))
                    for m in s.scalars(select(FaceDatabaseModel).order_by(FaceDatabaseModel.id))]

    def database(self, db_id: int) -> FaceDatabaseRow:
        for d in self.databases():
            if d.id == db_id:
                return d
        raise NotFoundError(f"face database {db_id} does not exist: GET /api/faces/databases lists them")

    def database_by_name(self, name: str) -> FaceDatabaseRow | None:
        return next((d for d in self.databases() if d.name == name), None)

    def add_database(self, name: str, kind: str, description: str = "") -> int:
        with self.catalog.session() as s, s.begin():
            m = FaceDatabaseModel(name=name, kind=kind, description=description, created_ms=now_ms())
            s.add(m)
            s.flush()
            return m.id

    def update_database(self, db_id: int, **fields: Any) -> None:
        with self.catalog.session() as s, s.begin():
            m = s.get(FaceDatabaseModel, db_id)
            if m is None:
                raise NotFoundError(f"face database {db_id} does not exist")
            for k, v in fields.items():
                setattr(m, k, v)

    def delete_database(self, db_id: int) -> list[str]:
        """Deletes the database, its persons and their images; returns the image paths to remove."""
        with self.catalog.session() as s, s.begin():
            paths = list(s.scalars(select(FaceImageModel.path).where(FaceImageModel.database_id == db_id)))
            s.execute(delete(FaceImageModel).where(FaceImageModel.database_id == db_id))
            s.execute(delete(PersonModel).where(PersonModel.database_id == db_id))
            s.execute(delete(FaceDatabaseModel).where(FaceDatabaseModel.id == db_id))
            return paths

    # persons
    def persons(self, db_id: int | None = None, name: str | None = None, limit: int = 1000,
                offset: int = 0, exact: bool = False) -> list[PersonRow]:
        """`name`: a part of the name (the face pages' filter), or with `exact` the whole name, case aside. `%` and
        `_` are letters here, never wildcards."""
        with self.catalog.session() as s:
            q = select(PersonModel).order_by(PersonModel.id)
            if db_id is not None:
                q = q.where(PersonModel.database_id == db_id)
            if name and exact:
                q = q.where(func.lower(PersonModel.name) == name.lower())
            elif name:
                q = q.where(PersonModel.name.icontains(name, autoescape=True))
            rows = list(s.scalars(q.limit(limit).offset(offset)))
            ids = [m.id for m in rows]
            imgs: dict[int, list[int]] = {}
            for pid, iid in s.execute(select(FaceImageModel.person_id, FaceImageModel.id)
                                      .where(FaceImageModel.person_id.in_(ids))):
                imgs.setdefault(pid, []).append(iid)
            return [PersonRow(m.id, m.database_id, m.name, dict(m.details), imgs.get(m.id, [])) for m in rows]

    def person(self, person_id: int) -> PersonRow:
        with self.catalog.session() as s:
            m = s.get(PersonModel, person_id)
            if m is None:
                raise NotFoundError(f"person {person_id} does not exist")
            imgs = list(s.scalars(select(FaceImageModel.id).where(FaceImageModel.person_id == person_id)))
            return PersonRow(m.id, m.database_id, m.name, dict(m.details), imgs)

    def persons_by_id(self, ids: Sequence[int]) -> dict[int, PersonRow]:
        with self.catalog.session() as s:
            return {m.id: PersonRow(m.id, m.database_id, m.name, dict(m.details))
                    for m in s.scalars(select(PersonModel).where(PersonModel.id.in_(list(ids))))}

    def add_person(self, db_id: int, name: str, details: dict[str, Any]) -> int:
        with self.catalog.session() as s, s.begin():
            if s.get(FaceDatabaseModel, db_id) is None:
                raise NotFoundError(f"face database {db_id} does not exist")
            m = PersonModel(database_id=db_id, name=name, details=details, created_ms=now_ms())
            s.add(m)
            s.flush()
            return m.id

    def update_person(self, person_id: int, name: str | None, details: dict[str, Any] | None) -> None:
        with self.catalog.session() as s, s.begin():
            m = s.get(PersonModel, person_id)
            if m is None:
                raise NotFoundError(f"person {person_id} does not exist")
            if name is not None:
                m.name = name
            if details is not None:
                m.details = {**m.details, **details}

    def delete_person(self, person_id: int) -> list[str]:
        with self.catalog.session() as s, s.begin():
            paths = list(s.scalars(select(FaceImageModel.path).where(FaceImageModel.person_id == person_id)))
            s.execute(delete(FaceImageModel).where(FaceImageModel.person_id == person_id))
            s.execute(delete(PersonModel).where(PersonModel.id == person_id))
            return paths

    # images
    def add_image(self, person_id: int, db_id: int, path: str, embedding: np.ndarray, quality: float,
                  source: str, model: str) -> int:
        with self.catalog.session() as s, s.begin():
            m = FaceImageModel(person_id=person_id, database_id=db_id, path=path, embedding=to_blob(embedding),
                               quality=quality, source=source, created_ms=now_ms(), model=model)
            s.add(m)
            s.flush()
            return m.id

    def image(self, image_id: int) -> FaceImageRow:
        with self.catalog.session() as s:
            m = s.get(FaceImageModel, image_id)
            if m is None:
                raise NotFoundError(f"face image {image_id} does not exist")
            return FaceImageRow(m.id, m.person_id, m.database_id, m.path, m.quality, m.source)

    def delete_image(self, image_id: int) -> str:
        with self.catalog.session() as s, s.begin():
            m = s.get(FaceImageModel, image_id)
            if m is None:
                raise NotFoundError(f"face image {image_id} does not exist")
            s.delete(m)
            return m.path

    def embeddings(self, model: str, batch: int = 5000
                   ) -> Iterator[tuple[list[int], np.ndarray, list[int], list[int]]]:
        """The enrolled vectors `model` made, in batches: (image ids, vectors, person ids, database ids)."""
        last = 0
        while True:
            with self.catalog.session() as s:
                rows = s.execute(select(FaceImageModel.id, FaceImageModel.embedding, FaceImageModel.person_id,
                                        FaceImageModel.database_id)
                                 .where(FaceImageModel.id > last, FaceImageModel.model == model)
                                 .order_by(FaceImageModel.id).limit(batch)).all()
            if not rows:
                return
            last = rows[-1][0]
            yield ([r[0] for r in rows], np.stack([from_blob(r[1]) for r in rows]), [r[2] for r in rows],
                   [r[3] for r in rows])

    def signature(self) -> tuple[int, int]:
        """(count, highest id) of the enrolled images: changes whenever another process enrols or deletes."""
        with self.catalog.session() as s:
            n, top = s.execute(select(func.count(), func.max(FaceImageModel.id))).one()
            return int(n), int(top or 0)

    def person_embeddings(self, person_id: int, model: str) -> list[np.ndarray]:
        with self.catalog.session() as s:
            return [from_blob(b) for b in s.scalars(select(FaceImageModel.embedding)
                                                    .where(FaceImageModel.person_id == person_id,
                                                           FaceImageModel.model == model))]

    def images_not_of(self, model: str) -> list[tuple[int, str]]:
        """(id, photo path) of the enrolled images whose vector another model made."""
        with self.catalog.session() as s:
            return [(int(i), str(p)) for i, p in s.execute(
                select(FaceImageModel.id, FaceImageModel.path).where(FaceImageModel.model != model)
                .order_by(FaceImageModel.id))]

    def set_image_embedding(self, image_id: int, embedding: np.ndarray, model: str) -> None:
        with self.catalog.session() as s, s.begin():
            m = s.get(FaceImageModel, image_id)
            if m is not None:
                m.embedding, m.model = to_blob(embedding), model

    def sightings_not_of(self, model: str, after: int = 0, batch: int = 500) -> list[tuple[int, str | None]]:
        """(event id, the event's picture) of face sightings whose vector another model made."""

        with self.catalog.session() as s:
            return [(int(e), snap) for e, snap in s.execute(
                select(FaceSightingModel.event_id, EventModel.snapshot)
                .join(EventModel, EventModel.id == FaceSightingModel.event_id, isouter=True)
                .where(FaceSightingModel.model != model, FaceSightingModel.event_id > after)
                .order_by(FaceSightingModel.event_id).limit(batch))]

    def set_sighting_embedding(self, event_id: int, embedding: np.ndarray, model: str) -> None:
        with self.catalog.session() as s, s.begin():
            m = s.get(FaceSightingModel, event_id)
            if m is not None:
                m.embedding, m.model = to_blob(embedding), model

    # sightings
    def add_sighting(self, event_id: int, camera_id: str, t_ms: int, embedding: np.ndarray, person_id: int | None,
                     score: float | None, attributes: dict[str, Any], model: str) -> None:
        def value(name: str) -> Any:
            a = attributes.get(name)
            return a.get("value") if isinstance(a, dict) else None

        with self.catalog.session() as s, s.begin():
            s.add(FaceSightingModel(event_id=event_id, camera_id=camera_id, t_ms=t_ms, embedding=to_blob(embedding),
                                    model=model, person_id=person_id, score=score, gender=value("gender"),
                                    age=value("age"), expression=value("expression")))

    def sighting_embeddings(self, model: str, batch: int = 5000) -> Iterator[tuple[list[int], np.ndarray]]:
        last = 0
        while True:
            with self.catalog.session() as s:
                rows = s.execute(select(FaceSightingModel.event_id, FaceSightingModel.embedding)
                                 .where(FaceSightingModel.event_id > last, FaceSightingModel.model == model)
                                 .order_by(FaceSightingModel.event_id)
                                 .limit(batch)).all()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[0] for r in rows], np.stack([from_blob(r[1]) for r in rows])

    def sightings(self, *, event_ids: Sequence[int] | None = None, person_id: int | None = None,
                  cameras: Sequence[str] | None = None, start_ms: int | None = None, end_ms: int | None = None,
                  gender: str | None = None, age_min: int | None = None, age_max: int | None = None,
                  expression: str | None = None, limit: int = 200) -> list[SightingRow]:
        with self.catalog.session() as s:
            q = select(FaceSightingModel)
            if event_ids is not None:
                q = q.where(FaceSightingModel.event_id.in_(list(event_ids)))
            if person_id is not None:
                q = q.where(FaceSightingModel.person_id == person_id)
            if cameras:
                q = q.where(FaceSightingModel.camera_id.in_(list(cameras)))
            if start_ms is not None:
                q = q.where(FaceSightingModel.t_ms >= start_ms)
            if end_ms is not None:
                q = q.where(FaceSightingModel.t_ms < end_ms)
            if gender:
                q = q.where(FaceSightingModel.gender == gender)
            if age_min is not None:
                q = q.where(FaceSightingModel.age >= age_min)
            if age_max is not None:
                q = q.where(FaceSightingModel.age <= age_max)
            if expression:
                q = q.where(FaceSightingModel.expression.in_(expression_values(expression)))
            q = q.order_by(FaceSightingModel.t_ms.desc()).limit(limit)
            return [SightingRow(m.event_id, m.camera_id, m.t_ms, m.person_id, m.score, m.gender, m.age, m.expression)
                    for m in s.scalars(q)]
