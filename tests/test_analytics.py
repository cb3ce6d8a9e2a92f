"""Smart motion and perimeter rules end to end: scripted scenes of real photographs over RTSP → Vigil's
analysis → events in the catalog and the API, compared with each scene's ground truth."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.helpers import Server, Sim, listen_events
from vigil.analytics.rules import Firing
from vigil.analytics.rulespec import RuleSpec
from vigil.sim.actors import photos_available
from vigil.sim.scripted import SCRIPTS, ground_truth

pytestmark = pytest.mark.skipif(not photos_available(), reason="needs Debian's darknet photographs (make test)")

LINE = [[0.5, 0.3], [0.5, 1.0]]  # drawn top to bottom: side A is the picture's left
ZONE = [[0.35, 0.5], [0.65, 0.5], [0.65, 1.0], [0.35, 1.0]]
OSD = [[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]
SCENES = ("crossing", "loiter", "distractors", "distractors-person")
RULES: dict[str, list[dict[str, Any]]] = {
    "cam1": [
        {"id": "in", "name": "Gate in", "kind": "tripwire", "points": LINE, "targets": "human", "direction": "a_to_b"},
        {"id": "cars", "kind": "tripwire", "points": LINE, "targets": "vehicle", "direction": "both"},
    ],
    "cam2": [{"id": "zone", "kind": "intrusion", "points": ZONE, "targets": "human", "loiter_seconds": 10}],
    "cam3": [{"id": "smd", "kind": "smd", "targets": "both"}],
    "cam4": [{"id": "smd", "kind": "smd", "targets": "both"}],
}
PRE_S, POST_S = 4, 6
RUN_SECONDS = 121  # the acceptance asks for 2 minutes of the distractor scene
EDGE_S = 4  # firings this close to the window's ends may be cut by it: not counted either way
# A target already in view when the rules are set starts its story mid-way (the perfect replay and Vigil start
# it at slightly different instants): a still one is noticed at the detector's idle heartbeat (10 s), and its
# loiter follows 10 s later. Firings of the first 22 s are not counted either way.
START_EDGE_S = 22
MATCH_MS = 2000
# Smart motion fires on a target's first confident sightings; one entering at the picture's edge is
# recognised only once most of it is in view, so its event may come up to 4 s after the perfect one.
SMD_LATE_MS = 4000


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("analytics")
    sim = Sim(tmp, cameras=4, codecs="h264", size="640x360", sub="none", scenes=SCENES).start()
    cams = [{"id": f"cam{i}", "url": sim.url(i), "record": {"segment_seconds": 10},
             "analytics": {"enabled": True, "fps": 5, "motion_masks": [OSD]}} for i in range(1, 5)]
    # Rain and foliage keep the detector busy on every picture of the distractor scenes: they are analysed at
    # 3 fps so that four analysed cameras, their sim and the recorder fit this 2-core machine with room to spare.
    for cam in cams[2:]:
        cam["analytics"]["fps"] = 3
    # The crossing camera records only around its AI events ("intelligent" mode), the others continuously.
    cams[0]["record"].update({"mode": "intelligent", "pre_seconds": PRE_S, "post_seconds": POST_S})
    server = Server(tmp, cams).start()
    try:
        with server.client() as c:
            for cam, rules in RULES.items():
                r = c.put(f"/api/cameras/{cam}/rules", json=rules)
                assert r.status_code == 200, r.text
        t0 = time.time()
        live = listen_events(server, RUN_SECONDS)  # it must carry what the catalog gets
        t1 = time.time()
        yield {"server": server, "t0": t0, "t1": t1, "live": live, "tmp": tmp}
    finally:
        server.stop()
        sim.stop()


def events(server: Server, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = server.get("/api/events", limit=1000, **params)
    return out


def truth_for(cam: str, t0: float, t1: float) -> list[Firing]:
    """Every ground-truth firing of the run (the window's edges are applied when counting)."""
    script = SCRIPTS[SCENES[int(cam[3:]) - 1]]
    rules = [RuleSpec.model_validate(r).to_rule() for r in RULES[cam]]
    return ground_truth(script, rules, t0, t1)


def key(rule: str | None, event: str | None, direction: str | None) -> tuple[str | None, str | None, str | None]:
    return rule, event, direction


def inner(t0: float, t1: float, t_ms: int) -> bool:
    return t0 + START_EDGE_S <= t_ms / 1000 <= t1 - EDGE_S


def match(cam: str, got: list[dict[str, Any]], t0: float, t1: float,
          rule: str | None = None) -> tuple[int, int, int, int]:
    """(Vigil's firings that match the truth, Vigil's firings, true firings Vigil found, true firings), each
    counted inside the window's edges; matching itself runs over the whole run, so a firing just inside the
    edge whose twin fell just outside it is neither a miss nor a false alarm."""
    truth = [f for f in truth_for(cam, t0, t1) if rule in (None, f.rule_id)]
    mine = [e for e in got if e["rule_id"] and rule in (None, e["rule_id"])]
    used: dict[int, int] = {}  # truth index -> event id
    for e in mine:
        k = key(e["rule_id"], e["details"].get("event"), e["details"].get("direction"))
        for i, f in enumerate(truth):
            late = _fired_at(e) - f.t_ms
            ok = -MATCH_MS < late < (SMD_LATE_MS if f.kind == "smd" else MATCH_MS)
            if i not in used and key(f.rule_id, f.event, f.direction) == k and ok:
                used[i] = e["id"]
                break
    matched_ids = set(used.values())
    mine_in = [e for e in mine if inner(t0, t1, _fired_at(e))]
    truth_in = [i for i, f in enumerate(truth) if inner(t0, t1, f.t_ms)]
    return (sum(1 for e in mine_in if e["id"] in matched_ids), len(mine_in),
            sum(1 for i in truth_in if i in used), len(truth_in))


def timeline(cam: str, got: list[dict[str, Any]], t0: float, t1: float) -> str:
    """Both sides' firings in seconds from the run's start, for a failure message a person can read."""
    mine = sorted(f"{(_fired_at(e) / 1000 - t0):.1f}s {e['rule_id']}/{e['details'].get('event')}/{e['label']}"
                  for e in got if e["rule_id"])
    truth = sorted(f"{(f.t_ms / 1000 - t0):.1f}s {f.rule_id}/{f.event}" for f in truth_for(cam, t0, t1))
    return f"{cam}: Vigil {mine}, truth {truth}"


def _fired_at(e: dict[str, Any]) -> int:
    """The instant the rule fired: a loiter or exit event starts when the target entered."""
    return int(e["start_ms"] + e["details"].get("dwell_ms", 0)) if e["details"].get("event") in (
        "loiter", "exit") else int(e["start_ms"])


def test_tripwire_fires_once_per_crossing_in_its_direction_and_class(run: dict[str, Any]) -> None:
    got = events(run["server"], camera="cam1", type="tripwire")
    t0, t1 = run["t0"], run["t1"]
    inside = [e for e in got if t0 + EDGE_S <= e["start_ms"] / 1000 <= t1 - EDGE_S]
    people_in = [e for e in got if e["rule_id"] == "in"]
    # One event per L→R passage, none for the way back (B→A) nor for the car.
    right, fired, found, truth = match("cam1", people_in, t0, t1, rule="in")
    assert truth > 0, "the run must contain at least one A→B crossing"
    assert right == fired and found == truth, (right, fired, found, truth)
    assert all(e["details"]["direction"] == "a_to_b" and e["label"] == "person" for e in people_in)
    cars = [e for e in inside if e["rule_id"] == "cars"]
    assert cars and all(e["label"] in ("car", "truck", "bus") for e in cars), cars
    assert "Gate in" in people_in[0]["message"] and "A→B" in people_in[0]["message"]


def test_intrusion_enter_loiter_exit(run: dict[str, Any]) -> None:
    got = sorted(events(run["server"], camera="cam2", type="intrusion", rule="zone"), key=_fired_at)
    kinds = [e["details"]["event"] for e in got]
    assert "enter" in kinds and "loiter" in kinds and "exit" in kinds, kinds
    # The scene runs before the rules are set: a visitor already inside then is one that "appear"s, rightly. Every
    # other loiter follows an enter of the same target, and that target later leaves.
    appeared = {e["track_id"] for e in got if e["details"]["event"] == "appear"}
    loiters = [e for e in got if e["details"]["event"] == "loiter" and e["track_id"] not in appeared]
    assert loiters, [(e["details"]["event"], e["track_id"], round(_fired_at(e) / 1000 - run["t0"], 1)) for e in got]
    loiter = loiters[0]
    assert loiter["details"]["dwell_ms"] >= 10_000
    enter = next((e for e in got if e["details"]["event"] == "enter" and e["track_id"] == loiter["track_id"]), None)
    assert enter is not None, [(e["details"]["event"], e["track_id"], round(_fired_at(e) / 1000 - run["t0"], 1))
                               for e in got]
    assert enter["start_ms"] < loiter["start_ms"] + loiter["details"]["dwell_ms"]
    assert enter["end_ms"] is not None and enter["details"]["path"], "the enter event closes with the target's path"


def test_smd_ignores_distractors_but_not_people(run: dict[str, Any]) -> None:
    server = run["server"]
    assert run["t1"] - run["t0"] >= 120
    assert events(server, camera="cam3", type="smd") == [], "foliage, rain, headlights and a dog are not targets"
    assert events(server, camera="cam3", type="motion"), "plain pixel motion does fire on the distractors"
    smd = events(server, camera="cam4", type="smd")
    assert smd and all(e["label"] == "person" for e in smd), smd
    right, fired, found, truth = match("cam4", smd, run["t0"], run["t1"])
    assert right == fired and found == truth > 0, ((right, fired, found, truth),
                                                   timeline("cam4", smd, run["t0"], run["t1"]))


def test_precision_and_recall_over_the_scene_set(run: dict[str, Any]) -> None:
    right = fired = found = truth = 0
    for cam in RULES:
        a, b, c, d = match(cam, events(run["server"], camera=cam), run["t0"], run["t1"])
        right, fired, found, truth = right + a, fired + b, found + c, truth + d
    precision, recall = right / max(1, fired), found / max(1, truth)
    print(f"analytics scene set: {fired} fired ({right} right), {truth} expected ({found} found): "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert truth >= 10
    assert precision >= 0.95 and recall >= 0.95, (
        (precision, recall), [timeline(cam, events(run["server"], camera=cam), run["t0"], run["t1"]) for cam in RULES])


def test_events_carry_snapshots_with_boxes(run: dict[str, Any]) -> None:
    server = run["server"]
    e = events(server, camera="cam1", rule="in")[0]
    r = httpx.get(server.base + e["snapshot_url"], headers=server.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    x1, y1, x2, _ = (round(v * s) for v, s in zip(e["details"]["box"], (w, h, w, h), strict=True))
    edge = img[max(0, y1 - 1) : y1 + 2, x1:x2].reshape(-1, 3).astype(int)
    red = (edge[:, 2] > 180) & (edge[:, 1] < 90) & (edge[:, 0] < 90)
    assert red.mean() > 0.5, "the target's box is drawn on the snapshot"
    # The clip reference plays the recording around the event.
    clip = httpx.get(server.base + e["clip_url"], headers=server.headers, timeout=30)
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"
    assert httpx.get(server.base + "/api/events/999999/snapshot.jpg", headers=server.headers).status_code == 404


def test_event_filters(run: dict[str, Any]) -> None:
    server = run["server"]
    # Analysis goes on while the test asks, and an event may be written a little after the instant it starts at
    # (a loiter starts when its target entered). Every query is bounded to the run, and only the events that
    # were already in the catalog at the first query (ids grow) are compared.
    t_end = int(run["t1"] * 1000)
    every = events(server, end=t_end)
    known = max(e["id"] for e in every)

    def query(**params: Any) -> list[dict[str, Any]]:
        return [e for e in events(server, **params) if e["id"] <= known]

    assert {e["camera_id"] for e in every} == {"cam1", "cam2", "cam3", "cam4"}
    for params, check in [
        ({"camera": "cam2"}, lambda e: e["camera_id"] == "cam2"),
        ({"type": "motion"}, lambda e: e["type"] == "motion"),
        ({"class": "person"}, lambda e: e["label"] == "person"),
        ({"class": "vehicle"}, lambda e: e["label"] in ("car", "truck", "bus", "motorcycle", "bicycle")),
        ({"rule": "cars"}, lambda e: e["rule_id"] == "cars"),
    ]:
        got = query(end=t_end, **params)
        assert got and all(check(e) for e in got), params
        assert len(got) == sum(1 for e in every if check(e)), params
    mid = int((run["t0"] + run["t1"]) / 2 * 1000)
    later = query(start=mid, end=t_end)
    assert later and all(mid <= e["start_ms"] <= t_end for e in later)
    assert len(later) + len(query(end=mid - 1)) == len(every)
    r = httpx.get(server.base + "/api/events", params={"start": "soon"}, headers=server.headers)
    assert r.status_code == 422 and "ISO-8601" in r.json()["detail"]


def test_live_event_stream_carries_the_events(run: dict[str, Any]) -> None:
    new = [m["event"] for m in run["live"] if m["kind"] == "new"]
    stored = {e["id"] for e in events(run["server"])}
    assert new and {e["id"] for e in new} <= stored
    assert any(m["kind"] == "update" and m["event"]["end_ms"] for m in run["live"]), "closing updates are sent"


def test_rules_api_validates_and_persists(run: dict[str, Any]) -> None:
    server = run["server"]
    with server.client() as c:
        assert [r["id"] for r in c.get("/api/cameras/cam1/rules").json()] == ["in", "cars"]
        bad = c.post("/api/cameras/cam1/rules", json={"id": "x", "kind": "tripwire", "points": [[0.1, 0.1]]})
        assert bad.status_code == 422 and "2 points" in bad.json()["detail"]
        zone = {"id": "x", "kind": "intrusion", "points": [[0, 0], [2, 0], [0, 1]]}
        bad = c.post("/api/cameras/cam1/rules", json=zone)
        assert bad.status_code == 422 and "between 0 and 1" in bad.json()["detail"]
        too_many = [{"id": f"r{i}", "kind": "smd"} for i in range(11)]
        r = c.put("/api/cameras/cam3/rules", json=too_many)
        assert r.status_code == 422 and "at most 10" in r.json()["detail"]
        night = {"id": "night", "kind": "smd", "schedule": [{"days": [5, 6], "start": "22:00", "end": "06:00"}]}
        r = c.post("/api/cameras/cam3/rules", json=night)
        assert r.status_code == 422 and "after the start" in r.json()["detail"]
        assert c.post("/api/cameras/nope/rules", json={"id": "a", "kind": "smd"}).status_code == 404
        assert c.delete("/api/cameras/cam3/rules/smd").status_code == 204
        assert c.get("/api/cameras/cam3/rules").json() == []
        status = c.get("/api/cameras/cam1/analytics").json()
        assert status["enabled"] and status["frames"] > 100 and 0 < status["detections_run"] <= status["frames"]
        # How the analysis keeps up, in the status and on the camera list the Cameras page draws.
        assert 0 < status["analysed_fps"] <= 6 and 0 <= status["dropped_percent"] <= 100, status
        listed = {cam["id"]: cam for cam in c.get("/api/cameras").json()}
        load = listed["cam1"]["analysis"]
        assert load["fps"] == 5 and load["analysed_fps"] > 0 and 0 <= load["dropped_percent"] <= 100, load


def test_snapshots_live_under_the_storage_root(run: dict[str, Any]) -> None:
    files = list(Path(run["server"].storage, "_events").rglob("*.jpg"))
    assert files and all(f.stat().st_size > 1000 for f in files)


def test_intelligent_mode_records_only_around_events(run: dict[str, Any]) -> None:
    server, t0, t1 = run["server"], run["t0"], run["t1"]
    window = {"start": int(t0 * 1000), "end": int(t1 * 1000)}

    def ranges(cam: str) -> list[tuple[int, int]]:
        return [(r["start_ms"], r["end_ms"]) for r in server.get(f"/api/cameras/{cam}/recordings", **window)["ranges"]]

    cam1 = ranges("cam1")
    fired = [e for e in events(server, camera="cam1") if e["rule_id"] and t0 + 10 <= e["start_ms"] / 1000 <= t1 - 15]
    assert fired
    for e in fired:  # pre-event video from the RAM buffer, post-event video after it
        assert any(a <= e["start_ms"] - (PRE_S - 1) * 1000 and b >= e["start_ms"] + (POST_S - 1) * 1000
                   for a, b in cam1), (e["start_ms"], cam1)
    recorded = sum(b - a for a, b in cam1)
    span = (t1 - t0) * 1000
    gaps = [b2 - a1 for (_, a1), (b2, _) in itertools.pairwise(cam1)]
    print(f"intelligent mode: cam1 recorded {recorded / span:.0%} of the run, gaps {[round(g / 1000) for g in gaps]} s")
    assert recorded < 0.85 * span and max(gaps) >= 5000, cam1
    continuous = sum(b - a for a, b in ranges("cam2"))
    assert continuous > 0.9 * span
