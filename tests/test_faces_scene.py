"""Faces end to end: real face photographs walking past a simulated door camera over RTSP → Vigil's analysis →
one face event per passage (the enrolled person, the blocklisted person's alarm on the live WebSocket, a
stranger) → search by uploaded photo, by person and by attributes through the API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from tests.helpers import Server, Sim, listen_events
from vigil.sim import face_photos as fp
from vigil.sim.scripted import SCRIPTS

OSD = [[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]
SCRIPT = SCRIPTS["faces"]
WHO = {"face-obama": ("face_match", "Barack Obama"), "face-biden": ("face_blocklist", "Joe Biden"),
       "face-stranger": ("face_stranger", None)}
# Long enough to hold every passage of the 45 s script whole, wherever in its cycle the run starts, plus the
# time a face track takes to be decided after it leaves.
RUN_SECONDS = SCRIPT.period + 8 + 8
WARMUP_S = 2  # passages starting this soon after the run starts are not counted either way
DECIDE_S = 4  # a passage ending this close to the run's end may be decided after it


def jpeg(img: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("faces-scene")
    sim = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="none", scenes=("faces",)).start()
    cams = [{"id": "door", "url": sim.url(1), "record": {"segment_seconds": 10},
             "analytics": {"enabled": True, "fps": 5, "motion_masks": [OSD], "faces": True, "motion_events": False}}]
    server = Server(tmp, cams).start()
    try:
        with server.client() as c:
            staff = c.post("/api/faces/databases", json={"name": "staff", "kind": "allow"}).json()
            banned = c.post("/api/faces/databases", json={"name": "banned", "kind": "block"}).json()
            obama = c.post(f"/api/faces/databases/{staff['id']}/persons",
                           json={"name": "Barack Obama", "gender": "male", "country": "US",
                                 "credential_type": "passport", "credential_number": "X123"}).json()
            biden = c.post(f"/api/faces/databases/{banned['id']}/persons", json={"name": "Joe Biden"}).json()
            # Enrolment photographs differ from the walkers': Obama walks as his third photograph, Biden mirrored.
            for p, photo in ((obama, fp.PHOTOS[0]), (obama, fp.PHOTOS[1]), (biden, fp.PHOTOS[3])):
                r = c.post(f"/api/faces/persons/{p['id']}/images", content=jpeg(fp.crop(photo)),
                           headers={"Content-Type": "image/jpeg"})
                assert r.status_code == 201, r.text
        t0 = time.time()
        live = [m["event"] for m in listen_events(server, RUN_SECONDS) if m["kind"] == "new"]
        t1 = time.time()
        yield {"server": server, "t0": t0, "t1": t1, "live": live, "obama": obama, "biden": biden, "staff": staff}
    finally:
        server.stop()
        sim.stop()


def passages(t0: float, t1: float) -> list[tuple[str, float, float]]:
    """(walker, wall start, wall end) of every passage inside the run."""
    out = []
    cycle = int(t0 // SCRIPT.period) - 1
    while cycle * SCRIPT.period < t1:
        for a in SCRIPT.actors:
            start, end = cycle * SCRIPT.period + a.path[0][0], cycle * SCRIPT.period + a.path[-1][0]
            if end > t0 and start < t1:
                out.append((a.kind, start, end))
        cycle += 1
    return out


def face_events(server: Server, t0: float) -> list[dict[str, Any]]:
    got = [e for t in ("face_match", "face_blocklist", "face_stranger")
           for e in server.get("/api/events", type=t, camera="door", limit=500)]
    return [e for e in got if e["start_ms"] >= t0 * 1000 - 1000]


def test_one_event_per_passage_with_the_right_person(run: dict[str, Any]) -> None:
    server, t0, t1 = run["server"], run["t0"], run["t1"]
    events = face_events(server, t0)
    whole = [p for p in passages(t0, t1) if p[1] >= t0 + WARMUP_S and p[2] <= t1 - DECIDE_S]
    assert {p[0] for p in whole} == set(WHO), "the run must hold every walker's passage whole"
    used: set[int] = set()
    for walker, start, end in whole:
        during = [e for e in events if start * 1000 - 1500 <= e["start_ms"] <= end * 1000 + 500]
        assert len(during) == 1, (walker, during)  # one event per passage, not one per frame
        e = during[0]
        used.add(e["id"])
        kind, name = WHO[walker]
        assert e["type"] == kind, (walker, e)
        assert e["details"].get("person_name") == name, (walker, e["details"])
        assert e["label"] == "face" and e["snapshot_url"]
        if kind == "face_blocklist":
            assert e["severity"] == "alarm"
        if name:
            assert e["score"] >= e["details"]["threshold"]
        else:
            assert e["score"] < e["details"]["threshold"]
        r = httpx.get(server.base + e["snapshot_url"], headers=server.headers)
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
        attrs = e["details"]["attributes"]
        assert attrs["gender"]["value"] in ("male", "female") and "glasses" in attrs["unsupported"]
    # Nothing else during the run but (possibly) passages cut by its edges.
    inside = [e for e in events if t0 + WARMUP_S + 2 <= e["start_ms"] / 1000 <= t1 - DECIDE_S - 9]
    assert {e["id"] for e in inside} <= used, inside


def test_analytics_status_counts_faces(run: dict[str, Any]) -> None:
    st = run["server"].get("/api/cameras/door/analytics")
    assert st["faces"] is True and st["faces_error"] is None
    assert st["faces_seen"] > st["face_events"] >= 3
    fs = run["server"].get("/api/faces/status")
    assert fs["model"] == "sface-2021dec-int8bq" and fs["images"] >= 3 and fs["reembedding"] is None, fs
    attrs = run["server"].get("/api/faces/attributes")
    assert set(attrs["measured"]) <= set(attrs["supported"]) and "expression" in attrs["measured"]


def test_blocklisted_person_raises_the_alarm_on_the_bus(run: dict[str, Any]) -> None:
    alarms = [e for e in run["live"] if e["type"] == "face_blocklist"]
    assert alarms and all(e["severity"] == "alarm" and e["details"]["person_name"] == "Joe Biden" for e in alarms)
    assert all(e["details"]["database"] == "banned" for e in alarms)


def test_search_by_uploaded_photo_finds_that_person_first(run: dict[str, Any]) -> None:
    server = run["server"]
    with server.client() as c:
        # Obama's first photograph again, as a user would upload it; the walker is his third one.
        r = c.post("/api/faces/search", content=jpeg(fp.load("obama.jpg")), headers={"Content-Type": "image/jpeg"},
                   params={"camera": "door"})
        assert r.status_code == 200, r.text
        hits = r.json()
    assert hits, "no face event looks like the photo"
    obama_id = run["obama"]["id"]
    assert hits[0]["event"]["details"].get("person_id") == obama_id
    flags = [h["event"]["details"].get("person_id") == obama_id for h in hits]
    assert flags == sorted(flags, reverse=True), "every Obama event comes before any other"
    threshold = server.get("/api/faces/status")["match_threshold"]
    assert all(h["similarity"] >= threshold - 0.05 for h in hits)


def test_search_by_person_and_by_attributes(run: dict[str, Any]) -> None:
    server = run["server"]
    by_person = server.get("/api/faces/search", person=run["obama"]["id"])
    assert by_person and all(h["event"]["details"].get("person_name") == "Barack Obama" for h in by_person)
    women = server.get("/api/faces/search", gender="female", camera="door")
    men = server.get("/api/faces/search", gender="male", camera="door")
    assert women and all(h["gender"] == "female" for h in women)
    assert any(h["event"]["type"] == "face_stranger" for h in women)  # the stranger is a young woman
    assert {h["event"]["details"].get("person_name") for h in men} >= {"Barack Obama", "Joe Biden"}
    r = httpx.get(server.base + "/api/faces/search", params={"age_group": "ancient"}, headers=server.headers)
    assert r.status_code == 422 and "age_group" in r.json()["detail"]


def test_enrolment_errors_and_promotion_from_an_event(run: dict[str, Any]) -> None:
    server = run["server"]
    with server.client() as c:
        p = c.post(f"/api/faces/databases/{run['staff']['id']}/persons", json={"name": "Visitor"}).json()
        blank = c.post(f"/api/faces/persons/{p['id']}/images", content=jpeg(fp.load("t1.jpg")),
                       headers={"Content-Type": "image/jpeg"})
        assert blank.status_code == 422 and "6 faces" in blank.json()["detail"]
        junk = c.post(f"/api/faces/persons/{p['id']}/images", content=b"not a picture",
                      headers={"Content-Type": "image/jpeg"})
        assert junk.status_code == 422 and "JPEG or PNG" in junk.json()["detail"]
        stranger = next(e for e in face_events(server, run["t0"]) if e["type"] == "face_stranger")
        r = c.post(f"/api/faces/persons/{p['id']}/images/from-event/{stranger['id']}")
        assert r.status_code == 201, r.text
        assert c.get(r.json()["url"]).content[:2] == b"\xff\xd8"
        person = c.get(f"/api/faces/persons/{p['id']}").json()
        assert person["images"] == [r.json()["id"]]
        o = c.get(f"/api/faces/persons/{run['obama']['id']}").json()
        assert o["credential_number"] == "X123" and len(o["images"]) == 2
        assert c.delete(f"/api/faces/persons/{p['id']}").status_code == 204
        assert c.get(f"/api/faces/persons/{p['id']}").status_code == 404


def test_faces_page_in_a_browser(run: dict[str, Any], tmp_path: Path) -> None:
    """The Faces page: create a database, add a person with a photo, and ask "who is this?" with a photo."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
    from tests.helpers import ADMIN_PASSWORD

    server = run["server"]
    hanks, obama = tmp_path / "hanks.jpg", tmp_path / "obama.jpg"
    cv2.imwrite(str(hanks), cv2.resize(fp.load("Tom_Hanks_54745.png"), (224, 224)))
    cv2.imwrite(str(obama), fp.load("obama.jpg"))
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        # wait_for_function evaluates a string, which the CSP forbids (see tests/e2e/conftest.py logged_in)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.base + "/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header#top:not([hidden])")
        page.click("header nav a[data-page=faces]")
        page.wait_for_selector("#fdb-list li[data-db]")
        assert "staff" in page.inner_text("#fdb-list") and "banned" in page.inner_text("#fdb-list")
        page.fill("#fdb-name", "visitors")
        page.click("#fdb-form button")
        page.wait_for_function("document.querySelector('#fp-title').textContent === 'Persons in visitors'")
        page.click("details summary")
        page.fill("#fp-name", "Tom Hanks")
        page.select_option("#fp-gender", "male")
        page.fill("#fp-country", "US")
        page.set_input_files("#fp-photo", str(hanks))
        page.click("#fp-form button")
        page.wait_for_selector("#fp-rows img.face-thumb")
        page.wait_for_function(
            "[...document.querySelectorAll('#fp-rows img.face-thumb')].every(i => i.naturalWidth > 0)")
        assert "Tom Hanks" in page.inner_text("#fp-rows") and "male · US" in page.inner_text("#fp-rows")
        page.set_input_files("#fs-photo", str(obama))
        page.wait_for_selector("#fs-rows tr[data-event]")
        first = page.inner_text("#fs-rows tr[data-event]")
        assert "Barack Obama" in first, first
        page.click("#fs-rows tr[data-event]")
        page.wait_for_function("document.querySelector('#fs-player').src.includes('playback.mp4')")
        # A stranger found by attributes is enrolled from the results (into the selected database).
        page.select_option("#fs-gender", "female")
        page.click("#fs-go")
        page.wait_for_selector("#fs-rows [data-promote]")
        page.once("dialog", lambda d: d.accept("New Colleague"))
        page.click("#fs-rows [data-promote]")
        page.wait_for_function("document.querySelector('#fp-rows').textContent.includes('New Colleague')")
        page.screenshot(path=str(ARTIFACTS / "faces.png"))
        browser.close()
    assert not errors, errors
    persons = server.get("/api/faces/databases")
    visitors = next(d for d in persons if d["name"] == "visitors")
    assert visitors["persons"] == 2 and visitors["images"] == 2
