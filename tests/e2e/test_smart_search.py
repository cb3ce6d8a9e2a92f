"""Smart playback and the search page on a recorded hour: three 1-minute events in an hour of recording give
three ranges (± padding), the web player plays them back to back, and the search page finds events by colour."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import logged_in
from tests.helpers import Server, wait_for
from vigil.catalog.store import Catalog
from vigil.sim.history import write_history

PAD = 5000
MIN = 60_000


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int, list[tuple[int, int]]]]:
    tmp = tmp_path_factory.mktemp("smart")
    srv = Server(tmp, [{"id": "yard", "name": "Yard", "url": "rtsp://127.0.0.1:9/none", "enabled": False}])
    catalog = Catalog(f"sqlite:///{srv.db}")
    catalog.migrate()
    t0 = (int(time.time() * 1000) // MIN) * MIN - 2 * 3_600_000
    write_history(catalog, srv.storage, "yard", t0, 3600)
    events = [(t0 + m * MIN, t0 + (m + 1) * MIN) for m in (10, 25, 45)]
    for i, (a, b) in enumerate(events):
        catalog.add_event("smd", "person moving", camera_id="yard", severity="info", start_ms=a, end_ms=b,
                          label="person", score=0.8, attributes={"upper_color": ("red", "blue", "red")[i],
                                                                 "lower_color": "black"})
    catalog.add_event("camera_offline", "camera unreachable", camera_id="yard", start_ms=t0 + 55 * MIN,
                      end_ms=t0 + 56 * MIN)  # not something to watch
    catalog.close()
    srv.start()
    yield srv, t0, events
    srv.stop()


def test_smart_ranges_api(hour: tuple[Server, int, list[tuple[int, int]]]) -> None:
    srv, t0, events = hour
    r = srv.get("/api/cameras/yard/smart", start=t0, end=t0 + 3_600_000, padding=PAD)
    assert [(x["start_ms"], x["end_ms"]) for x in r["ranges"]] == [(a - PAD, b + PAD) for a, b in events]
    assert r["recorded_ms"] == 3_600_000 and r["interesting_ms"] == 3 * (MIN + 2 * PAD)
    # Padding wide enough to touch merges ranges; a window that cuts an event clips it; bad input is a 4xx.
    wide = srv.get("/api/cameras/yard/smart", start=t0, end=t0 + 3_600_000, padding=8 * MIN)
    assert len(wide["ranges"]) == 2
    cut = srv.get("/api/cameras/yard/smart", start=t0 + 10 * MIN + 30_000, end=t0 + 20 * MIN, padding=PAD)
    assert [(x["start_ms"], x["end_ms"]) for x in cut["ranges"]] == [(t0 + 10 * MIN + 30_000, t0 + 11 * MIN + PAD)]
    bad = httpx.get(srv.base + "/api/cameras/yard/smart", params={"padding": -1}, headers=srv.headers)
    assert bad.status_code == 422


def test_player_plays_the_ranges_back_to_back(browser: Any, hour: tuple[Server, int, list[tuple[int, int]]],
                                              tmp_path: Path) -> None:
    srv, t0, events = hour
    ctx, pg, errors = logged_in(browser, srv)
    try:
        # Start in the idle part before the first event, skipping idle parts, at 16× so 3 × 70 s play in ~15 s.
        pg.goto(f"{srv.base}/#/playback?camera=yard&at={t0 + 2 * MIN}&smart=skip&speed=16")
        ranges = [(a - PAD, b + PAD) for a, b in events]
        pg.wait_for_selector("#players")
        wait_for(lambda: pg.eval_on_selector("#players", "p => p.dataset.smart") is not None, 20, what="ranges")
        assert json.loads(pg.eval_on_selector("#players", "p => p.dataset.smart")) == [list(r) for r in ranges]
        heads: list[int] = []

        def sample() -> bool:
            h = pg.eval_on_selector("#players", "p => p.dataset.head")
            if h:
                heads.append(int(h))
            return (bool(heads) and heads[-1] >= ranges[2][1] - 3000) or pg.text_content("#play") == "Play"
        wait_for(sample, 90, interval=0.25, what="the player to reach the last range's end")
        jumps = json.loads(pg.eval_on_selector("#players", "p => p.dataset.jumps || '[]'"))
        # The first jump leaves the idle start for range 1; then range 1 → 2 and 2 → 3, each from its end.
        assert [j[1] for j in jumps] == [r[0] for r in ranges], jumps
        for (leave, _), (_, end) in zip(jumps[1:], ranges, strict=False):
            assert end - 1000 <= leave <= end + 6000, (leave, end)  # one 250 ms tick at 16× ≈ 4 s of video
        # Every instant the player showed after the first jump lies in a range (a tick's overshoot aside).
        shown = [h for h in heads if h >= ranges[0][0]]
        assert shown and all(any(a - 1000 <= h <= b + 6000 for a, b in ranges) for h in shown), shown
        assert sum(1 for h in shown if ranges[0][0] <= h <= ranges[0][1]) >= 2  # it played, not only jumped

        # Idle at 8×: over an idle part the speed rises, inside a range it is the chosen speed again.
        pg.goto(f"{srv.base}/#/playback?camera=yard&at={t0 + 5 * MIN}&smart=8&speed=1")
        pg.wait_for_selector("#players")
        wait_for(lambda: pg.eval_on_selector("#players", "p => p.dataset.rate") == "8", 20, what="8× over idle")
        pg.goto(f"{srv.base}/#/playback?camera=yard&at={events[0][0] + 5000}&smart=8&speed=1")
        pg.wait_for_selector("#players")
        wait_for(lambda: pg.eval_on_selector("#players", "p => p.dataset.rate") == "1", 20, what="1× in a range")
    finally:
        pg.screenshot(path=str(tmp_path / "smart.png"))
        ctx.close()
    assert not errors, errors


def test_search_page_finds_by_colour_and_plays_the_clip(browser: Any,
                                                        hour: tuple[Server, int, list[tuple[int, int]]]) -> None:
    srv, t0, _events = hour
    ctx, pg, errors = logged_in(browser, srv)
    try:
        pg.goto(f"{srv.base}/#/search?start={t0}")
        pg.wait_for_selector("#s-summary")
        pg.fill("[name=start]", time.strftime("%Y-%m-%dT%H:%M", time.localtime(t0 / 1000)))
        pg.select_option("[name=upper]", "red")
        pg.click("#s-form button[type=submit]")
        wait_for(lambda: pg.locator(".hit").count() == 2, 15, what="two red-top hits")
        assert "of 2 events" in (pg.text_content("#s-summary") or "")
        ids = [int(x) for x in pg.eval_on_selector_all(".hit", "hs => hs.map(h => h.dataset.id)")]
        api = srv.get("/api/search", start=t0, upper="red")
        assert ids == [h["id"] for h in api["hits"]] and api["total"] == 2
        assert all(h["upper_color"] == "red" for h in api["hits"])
        pg.click(".hit >> nth=0")
        wait_for(lambda: pg.eval_on_selector("#s-player", "v => v.readyState >= 2 && !!v.currentSrc"), 15,
                 what="the hit's clip to play")
        pg.select_option("[name=upper]", "blue")
        pg.click("#s-form button[type=submit]")
        wait_for(lambda: pg.locator(".hit").count() == 1, 15, what="one blue-top hit")
    finally:
        ctx.close()
    assert not errors, errors
