"""Face recognition as a service: the face databases, enrolment (upload, folder import, promotion of an
event's face), the in-memory 1:N index rebuilt from the catalog at start, identification of a camera's
face, and "when was this person here" search over every face event.

Pictures stay on disk under <storage>/_faces/<database>/<person>/; vectors live in the catalog and in the
index, and deleting a person deletes both.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vigil.analytics.faces.detect import FaceBox
from vigil.analytics.faces.engine import FaceEngine
from vigil.analytics.faces.index import VectorIndex
from vigil.analytics.faces.quality import quality
from vigil.catalog.faces import DB_KINDS, FaceCatalog, FaceDatabaseRow, FaceImageRow, PersonRow, SightingRow
from vigil.catalog.store import Catalog
from vigil.config import FacesConfig
from vigil.errors import ConfigError, FaceImageError, NotFoundError
from vigil.layout import face_photo_path
from vigil.log import get_logger
from vigil.recognition.reembed import Reembedder

log = get_logger(__name__)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
MAX_ENROL_SIDE = 1280  # photos are scaled down to this before detection: a passport photo's face stays large
SECOND_FACE = 0.4  # a second face this big (relative to the biggest) makes a photo ambiguous
ENROL_MIN_FACE_PX = 40
CATALOG_CHECK_S = 5.0


@dataclass(frozen=True)
class Match:
    person: PersonRow
    database: FaceDatabaseRow
    score: float


@dataclass
class ImportReport:
    enrolled: int = 0
    persons: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, what is wrong)


def decode_image(data: bytes, what: str = "the image") -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if img is None:
        raise FaceImageError(f"{what} is not a picture OpenCV can read: send a JPEG or PNG file")
    return img


def _scaled(img: np.ndarray) -> np.ndarray:
    k = MAX_ENROL_SIDE / max(img.shape[:2])
    return cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_AREA) if k < 1 else img


class FaceService:
    def __init__(self, catalog: Catalog, storage: Path, cfg: FacesConfig, engine: FaceEngine | None = None) -> None:
        self.store = FaceCatalog(catalog)
        self.storage = storage
        self.cfg = cfg
        self.engine = engine or FaceEngine(cfg)
        self.index = VectorIndex()
        self.sightings = VectorIndex()
        self._dbs: dict[int, FaceDatabaseRow] = {}
        self._persons: dict[int, PersonRow] = {}
        self._signature = (0, 0)
        self._checked = 0.0
        self.reembed: Reembedder | None = None

    def load(self) -> None:
        """Rebuilds both indexes from the catalog (the vectors of the configured model); vectors another model
        made are embedded again in the background (`reembed`)."""
        t0 = time.perf_counter()
        model = self.engine.model
        self.index, self.sightings = VectorIndex(), VectorIndex()
        for ids, vecs, persons, dbs in self.store.embeddings(model):
            self.index.add(ids, vecs, persons, dbs)
        for eids, vecs in self.store.sighting_embeddings(model):
            self.sightings.add(eids, vecs, eids, [0] * len(eids))
        self._refresh()
        self._changed()
        self._checked = time.monotonic()
        log.info("faces_loaded", images=len(self.index), sightings=len(self.sightings), databases=len(self._dbs),
                 model=model, ms=round((time.perf_counter() - t0) * 1000))
        if self.reembed is None or not self.reembed.status.running:
            reembed = Reembedder(self.store, self.storage, model, self.the_face, self.engine.embed,
                                 self._reembedded_image, self._reembedded_sighting)
            if reembed.needed():
                self.reembed = reembed
                reembed.start()

    def _reembedded_image(self, image_id: int, vec: np.ndarray) -> None:
        row = self.store.image(image_id)
        self.index.add([image_id], vec[None], [row.person_id], [row.database_id])

    def _reembedded_sighting(self, event_id: int, vec: np.ndarray) -> None:
        self.sightings.add([event_id], vec[None], [event_id], [0])

    def status(self) -> dict[str, Any]:
        """The models in use and, after a change of model, how far re-embedding has come."""
        return {"model": self.engine.model, "detector": self.cfg.detector,
                "match_threshold": self.engine.match_threshold, "images": len(self.index),
                "sightings": len(self.sightings),
                "reembedding": self.reembed.status.as_dict() if self.reembed is not None else None}

    def _follow_catalog(self) -> None:
        """Reloads the index when another process (the CLI's import, another node) changed the enrolled faces;
        looked at once every few seconds, at the next recognition."""
        if time.monotonic() - self._checked < CATALOG_CHECK_S:
            return
        self._checked = time.monotonic()
        sig = self.store.signature()
        if sig != self._signature:
            self.load()
        else:
            self._refresh()

    def _changed(self) -> None:
        """Our own change of the enrolled images: the catalog's signature moves with it, no reload needed."""
        self._signature = self.store.signature()

    def _refresh(self) -> None:
        self._dbs = {d.id: d for d in self.store.databases()}
        self._persons = {}

    def _person(self, person_id: int) -> PersonRow | None:
        p = self._persons.get(person_id)
        if p is None:
            p = self.store.persons_by_id([person_id]).get(person_id)
            if p is not None:
                self._persons[person_id] = p
        return p

    # databases and persons
    def databases(self) -> list[FaceDatabaseRow]:
        return self.store.databases()

    def create_database(self, name: str, kind: str = "allow", description: str = "") -> FaceDatabaseRow:
        name = name.strip()
        if not name:
            raise ConfigError("a face database needs a name")
        if kind not in DB_KINDS:
            raise ConfigError(f"face database kind {kind!r} is not one of {', '.join(DB_KINDS)}")
        dbs = self.store.databases()
        if any(d.name == name for d in dbs):
            raise ConfigError(f"a face database named {name!r} exists already: pick another name")
        if len(dbs) >= self.cfg.max_databases:
            raise ConfigError(f"there are {len(dbs)} face databases, the most allowed "
                              f"(analytics.faces.max_databases): delete one or raise the limit")
        db_id = self.store.add_database(name, kind, description)
        self._refresh()
        return self.store.database(db_id)

    def update_database(self, db_id: int, **fields: Any) -> FaceDatabaseRow:
        if fields.get("kind") is not None and fields["kind"] not in DB_KINDS:
            raise ConfigError(f"face database kind {fields['kind']!r} is not one of {', '.join(DB_KINDS)}")
        name = fields.get("name")
        if name is not None and any(d.name == name and d.id != db_id for d in self.store.databases()):
            raise ConfigError(f"a face database named {name!r} exists already: pick another name")
        self.store.update_database(db_id, **{k: v for k, v in fields.items() if v is not None})
        self._refresh()
        return self.store.database(db_id)

    def delete_database(self, db_id: int) -> None:
        self.store.database(db_id)
        self._remove_files(self.store.delete_database(db_id))
        self.index.remove(groups=[db_id])
        self._changed()
        self._refresh()

    def database_ids(self, names: Sequence[str]) -> list[int] | None:
        """Database ids for names (None: all databases); unknown names are ignored with a warning."""
        if not names:
            return None
        by_name = {d.name: d.id for d in self._dbs.values()}
        missing = [n for n in names if n not in by_name]
        if missing:
            log.warning("face_database_unknown", names=",".join(missing))
        return [by_name[n] for n in names if n in by_name]

    def add_person(self, db_id: int, name: str, details: dict[str, Any]) -> PersonRow:
        if not name.strip():
            raise ConfigError("a person needs a name")
        return self.store.person(self.store.add_person(db_id, name.strip(), details))

    def update_person(self, person_id: int, name: str | None, details: dict[str, Any] | None) -> PersonRow:
        self.store.update_person(person_id, name, details)
        self._persons.pop(person_id, None)
        return self.store.person(person_id)

    def delete_person(self, person_id: int) -> None:
        self.store.person(person_id)
        self._remove_files(self.store.delete_person(person_id))
        self.index.remove(owners=[person_id])
        self._changed()
        self._persons.pop(person_id, None)

    def delete_image(self, image_id: int) -> None:
        self._remove_files([self.store.delete_image(image_id)])
        self.index.remove(ids=[image_id])
        self._changed()

    def _remove_files(self, paths: Sequence[str]) -> None:
        for p in paths:
            (self.storage / p).unlink(missing_ok=True)

    def image_path(self, image_id: int) -> Path:
        return self.storage / self.store.image(image_id).path

    # enrolment
    def the_face(self, img: np.ndarray, what: str) -> tuple[np.ndarray, FaceBox]:
        """The one face of a photo (scaled), or an error that says what is wrong with it."""
        img = _scaled(img)
        faces = [f for f in self.engine.find(img) if f.height >= ENROL_MIN_FACE_PX]
        if not faces:
            raise FaceImageError(f"{what}: no face found (a face must be at least {ENROL_MIN_FACE_PX} px tall, "
                                 "looking roughly at the camera)")
        faces.sort(key=lambda f: -f.height)
        rivals = [f for f in faces[1:] if f.height >= SECOND_FACE * faces[0].height]
        if rivals:
            raise FaceImageError(f"{what}: {len(rivals) + 1} faces found; crop the photo to the one person")
        return img, faces[0]

    def enrol(self, person_id: int, img: np.ndarray, source: str = "upload", what: str = "the image"
              ) -> FaceImageRow:
        self.store.person(person_id)
        img, face = self.the_face(img, what)
        return self._enrol_face(person_id, img, face, source, what)

    def _enrol_face(self, person_id: int, img: np.ndarray, face: FaceBox, source: str, what: str) -> FaceImageRow:
        person = self.store.person(person_id)
        vec = self.engine.embed(img, face)
        x1, y1, x2, y2 = face.box
        m = 0.5 * (x2 - x1)
        crop = img[max(0, int(y1 - m)) : int(y2 + m), max(0, int(x1 - m)) : int(x2 + m)]
        rel = face_photo_path(person.database_id, person_id, uuid.uuid4().hex[:16])
        path = self.storage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, jpg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if not ok:
            raise FaceImageError(f"{what}: the face could not be encoded as JPEG")
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpg.tobytes())
        tmp.replace(path)
        image_id = self.store.add_image(person_id, person.database_id, str(rel), vec, quality(img, face), source,
                                        self.engine.model)
        self.index.add([image_id], vec[None], [person_id], [person.database_id])
        self._changed()
        return self.store.image(image_id)

    def import_folder(self, folder: Path, db_id: int, progress: Callable[[int, int, str], None] | None = None
                      ) -> ImportReport:
        """One sub-folder per person (its name is the person's name), each with one or more photos."""
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder: give a folder holding one sub-folder per person")
        self.store.database(db_id)
        people = sorted(p for p in folder.iterdir() if p.is_dir())
        files = [(p, f) for p in people for f in sorted(p.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
        report = ImportReport()
        existing = {p.name: p.id for p in self.store.persons(db_id, limit=1_000_000)}
        for i, (pdir, f) in enumerate(files):
            if progress:
                progress(i, len(files), str(f.relative_to(folder)))
            what = str(f.relative_to(folder))
            try:
                img = cv2.imread(str(f))
                if img is None:
                    raise FaceImageError(f"{what}: not a picture OpenCV can read")
                img, face = self.the_face(img, what)  # before creating the person: no empty persons
                pid = existing.get(pdir.name)
                if pid is None:
                    pid = existing[pdir.name] = self.store.add_person(db_id, pdir.name, {})
                    report.persons += 1
                self._enrol_face(pid, img, face, "import", what)
                report.enrolled += 1
            except FaceImageError as err:
                report.problems.append((what, str(err).split(": ", 1)[-1]))
        if progress:
            progress(len(files), len(files), "")
        return report

    # recognition
    def identify(self, vec: np.ndarray, db_ids: Sequence[int] | None = None) -> tuple[Match | None, float]:
        """The enrolled person this face is (at or above the threshold), and the best similarity seen."""
        self._follow_catalog()
        hits = self.index.search(vec, k=1, groups=db_ids)
        if not hits:
            return None, 0.0
        hit = hits[0]
        if hit.score < self.engine.match_threshold:
            return None, hit.score
        person, db = self._person(hit.owner), self._dbs.get(hit.group)
        if person is None or db is None:
            self._refresh()
            person, db = self._person(hit.owner), self._dbs.get(hit.group)
            if person is None or db is None:
                return None, hit.score
        return Match(person, db, hit.score), hit.score

    def record_sighting(self, event_id: int, camera_id: str, t_ms: int, vec: np.ndarray, match: Match | None,
                        score: float, attributes: dict[str, Any]) -> None:
        self.store.add_sighting(event_id, camera_id, t_ms, vec, match.person.id if match else None,
                                round(score, 4), attributes, self.engine.model)
        self.sightings.add([event_id], vec[None], [event_id], [0])

    # search
    def search_photo(self, img: np.ndarray, *, cameras: Sequence[str] | None = None, start_ms: int | None = None,
                     end_ms: int | None = None, min_score: float | None = None, limit: int = 50
                     ) -> list[tuple[SightingRow, float]]:
        """Face events most like the photo's face, best first (every face event, not only enrolled people)."""
        img, face = self.the_face(img, "the photo")
        vec = self.engine.embed(img, face)
        return self.search_vector(vec, cameras=cameras, start_ms=start_ms, end_ms=end_ms,
                                  min_score=self.engine.match_threshold - 0.05 if min_score is None else min_score,
                                  limit=limit)

    def search_vector(self, vec: np.ndarray, *, cameras: Sequence[str] | None, start_ms: int | None,
                      end_ms: int | None, min_score: float, limit: int) -> list[tuple[SightingRow, float]]:
        hits = self.sightings.search(vec, k=max(limit * 4, 200), min_score=min_score)
        scores = {h.id: h.score for h in hits}
        rows = self.store.sightings(event_ids=list(scores), cameras=cameras, start_ms=start_ms, end_ms=end_ms,
                                    limit=len(scores) or 1)
        out = sorted(((r, scores[r.event_id]) for r in rows), key=lambda rs: (-rs[1], -rs[0].t_ms))
        return out[:limit]

    def search_person(self, person_id: int, *, cameras: Sequence[str] | None = None, start_ms: int | None = None,
                      end_ms: int | None = None, limit: int = 50) -> list[tuple[SightingRow, float]]:
        """Events where the person was recognised, plus face events that look like any of their images
        (seen before they were enrolled, or on a camera not matching their database)."""
        self.store.person(person_id)
        found: dict[int, tuple[SightingRow, float]] = {
            r.event_id: (r, r.score or 0.0)
            for r in self.store.sightings(person_id=person_id, cameras=cameras, start_ms=start_ms, end_ms=end_ms,
                                          limit=limit)
        }
        for vec in self.store.person_embeddings(person_id, self.engine.model):
            for r, s in self.search_vector(vec, cameras=cameras, start_ms=start_ms, end_ms=end_ms,
                                           min_score=self.engine.match_threshold, limit=limit):
                if r.event_id not in found or found[r.event_id][1] < s:
                    found[r.event_id] = (r, s)
        return sorted(found.values(), key=lambda rs: -rs[0].t_ms)[:limit]

    def promote(self, person_id: int, snapshot: bytes | None) -> FaceImageRow:
        """Enrols the face of an event's snapshot (the JPEG's bytes; None: gone) for a person."""
        if snapshot is None:
            raise NotFoundError("the event's face picture is gone (retention removed it)")
        return self.enrol(person_id, decode_image(snapshot, "the event's picture"),
                          source="event", what="the event's picture")
