"""People counting and heat map over RTSP: a sim scene where 7 people walk in across a counting line, 3 walk
out, and one loiters in the top-right corner. Vigil counts in = 7, out = 3, occupancy 4, raises the occupancy
alarm above 5 and clears it, exports the counts as CSV, and the heat map's hottest cell is the loiterer's
corner — in the API and on the People page."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.e2e.conftest import logged_in
from tests.helpers import Server, Sim, wait_for

LEAD = 14.0  # seconds from now until the scene's cycle starts: sim and Vigil are up and the rule saved by then
DOOR = {"id": "door", "name": "Door", "kind": "counter", "points": [[0.5, 0.4], [0.5, 1.0]], "direction": "a_to_b",
        "max_occupancy": 5}


def clear_of_midnight(seconds: float) -> None:
    """Occupancy counts from local midnight (a counter's day starts empty): a scene that straddles midnight reads 0
    after it. Within `seconds` of midnight, wait for the new day instead."""
    lt = time.localtime()
    left = 86_400 - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec)
    if left < seconds:
        time.sleep(left + 1)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, float]]:
    clear_of_midnight(300)  # the scene's minute, its lead and the tests that read its counts
    tmp = tmp_path_factory.mktemp("people")
    epoch = time.time() + LEAD
    sim = Sim(tmp, cameras=2, codecs="h264", size="640x360", sub="none", scenes=("people", "plates"),
              scene_start=epoch).start()
    srv = Server(tmp, [{"id": "shop", "name": "Shop", "url": sim.url(1), "record": {"segment_seconds": 20},
                        "analytics": {"enabled": True}},
                       {"id": "gate", "name": "Gate", "url": sim.url(2), "record": {"segment_seconds": 20},
                        "analytics": {"enabled": True, "plates": True}}]).start()
    try:
        with srv.client() as c:
            c.put("/api/cameras/shop/rules", json=[DOOR]).raise_for_status()
            c.post("/api/plates", json={"plate": "kx19 abc", "list": "block", "note": "stolen"}).raise_for_status()
            c.post("/api/plates", json={"plate": "BD51-SMR", "list": "allow"}).raise_for_status()
            assert c.post("/api/plates", json={"plate": "--", "list": "block"}).status_code == 422
            assert [p["plate"] for p in c.get("/api/plates").json()] == ["BD51SMR", "KX19ABC"]
        assert time.time() < epoch, "the scene began before Vigil was ready: raise LEAD"
        # The 7th in crosses the line at ~26 s, the 3rd out at ~41 s; the loiterer stands until 44 s (heat is
        # gathered frame by frame); the two cars drive through the gate between 1 and 30 s.
        time.sleep(max(0.0, epoch + 47 - time.time()))
        yield srv, epoch
    finally:
        srv.stop()
        sim.stop()


def test_counts_occupancy_alarm_and_csv(scene: tuple[Server, float]) -> None:
    srv, epoch = scene
    window = {"start": int((epoch - 5) * 1000), "end": int((epoch + 65) * 1000)}
    counts = srv.get("/api/cameras/shop/counts", bucket="5m", **window)
    assert (counts["total_in"], counts["total_out"]) == (7, 3), counts
    assert counts["occupancy"] == {"door": 4} and counts["maximum"] == {"door": 5}
    alarms = [e for e in srv.get("/api/events", camera="shop", type="occupancy")]
    assert len(alarms) == 1 and alarms[0]["severity"] == "alarm", alarms
    assert alarms[0]["details"]["occupancy"] == 6 and alarms[0]["end_ms"] is not None  # raised at 6, cleared at 5
    hourly = srv.get("/api/cameras/shop/counts", bucket="1h", **window)
    assert sum(r["in"] for r in hourly["rows"]) == 7 and sum(r["out"] for r in hourly["rows"]) == 3
    r = httpx.get(srv.base + "/api/cameras/shop/counts", params={**window, "format": "csv", "bucket": "5m"},
                  headers=srv.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sum(int(x["in"]) for x in rows) == 7 and sum(int(x["out"]) for x in rows) == 3
    bad = httpx.get(srv.base + "/api/cameras/shop/counts", params={"rule": "nope"}, headers=srv.headers)
    assert bad.status_code == 404 and "counting line" in bad.json()["detail"]


def test_heat_map_hottest_cell_is_the_loiter_corner(scene: tuple[Server, float], browser: Any,
                                                     tmp_path: Path) -> None:
    srv, epoch = scene
    window = {"start": int((epoch - 5) * 1000), "end": int((epoch + 65) * 1000)}
    heat = srv.get("/api/cameras/shop/heatmap", **window)
    row, col = heat["hottest"]
    # The loiterer stands at x ≈ 0.885, feet at y ≈ 0.47: the top-right corner of the walkable picture.
    assert col >= heat["cols"] * 3 // 4 and row < heat["rows"] // 2, heat["hottest"]
    r = httpx.get(srv.base + "/api/cameras/shop/heatmap.png", params={**window, "background": "false"},
                  headers=srv.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    png = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    h, w = png.shape[:2]
    y, x = np.unravel_index(int(np.argmax(png[..., 3].astype(np.int32) * 1000 + png[..., 2])), (h, w))
    assert x > w * 0.75 and y < h * 0.5, (x, y)
    over = httpx.get(srv.base + "/api/cameras/shop/heatmap.png", params=window, headers=srv.headers)
    assert over.status_code == 200 and cv2.imdecode(np.frombuffer(over.content, np.uint8), 1).shape[:2] == (360, 640)

    ctx, pg, errors = logged_in(browser, srv)
    try:
        pg.goto(f"{srv.base}/#/people?camera=shop")
        wait_for(lambda: pg.text_content("#p-in") == "7", 15, what="the People page's counts")
        assert pg.text_content("#p-out") == "3" and pg.text_content(".occ[data-rule=door]") == "4"
        wait_for(lambda: pg.eval_on_selector("#p-heat", "i => i.complete && i.naturalWidth === 640"), 15,
                 what="the heat map picture")
        pg.screenshot(path=str(tmp_path / "people.png"))
    finally:
        ctx.close()
    assert not errors, errors


def test_blocklisted_plate_raises_the_alarm(scene: tuple[Server, float], browser: Any) -> None:
    srv, epoch = scene
    # The first cycle only: a slow run may reach the next one (the plates scene repeats every 70 s).
    events = [e for e in srv.get("/api/events", camera="gate")
              if str(e["type"]).startswith("plate_") and e["start_ms"] < (epoch + 40) * 1000]
    block = [e for e in events if e["type"] == "plate_blocklist"]
    match = [e for e in events if e["type"] == "plate_match"]
    assert len(block) == 1 and block[0]["plate"] == "KX19ABC" and block[0]["severity"] == "alarm", events
    assert "stolen" in str(block[0]["message"]) and block[0]["snapshot_url"] and block[0]["label"] in ("car", "truck")
    assert len(match) == 1 and match[0]["plate"] == "BD51SMR" and match[0]["severity"] == "info", events
    assert block[0]["start_ms"] < match[0]["start_ms"] < (epoch + 31) * 1000
    misread = [(e["plate"], e["start_ms"] / 1000 - epoch) for e in events if e["type"] == "plate_read"]
    assert not misread, misread  # nothing misread as another plate
    window = {"start": int(epoch * 1000) - 5000, "end": int((epoch + 40) * 1000)}
    found = srv.get("/api/search", plate="KX1?A*", **window)
    assert [h["id"] for h in found["hits"]] == [block[0]["id"]]
    assert srv.get("/api/search", plate="*SMR", **window)["total"] == 1
    r = httpx.get(srv.base + f"/api/events/{block[0]['id']}/snapshot.jpg", headers=srv.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"

    # The Plates page: the lists, the plates read, and adding / removing a plate.
    ctx, pg, errors = logged_in(browser, srv)
    try:
        pg.goto(f"{srv.base}/#/plates")
        pg.wait_for_selector("#pl-rows tr[data-plate=KX19ABC]")
        wait_for(lambda: "KX19ABC" in (pg.text_content("#pl-reads") or ""), 10, what="the plates read")
        assert "BD51SMR" in (pg.text_content("#pl-reads") or "")
        pg.fill("[name=plate]", "ab-12 cde")
        pg.fill("[name=note]", "visitor")
        pg.select_option("[name=list]", "allow")
        pg.click("#pl-form button[type=submit]")
        pg.wait_for_selector("#pl-rows tr[data-plate=AB12CDE]")
        assert {p["plate"]: p["list"] for p in srv.get("/api/plates")}["AB12CDE"] == "allow"
        pg.click("[data-del=AB12CDE]")
        pg.wait_for_selector("#pl-rows tr[data-plate=AB12CDE]", state="detached")
    finally:
        ctx.close()
    assert not errors, errors
