"""AI search on 1,000,000 synthetic events: every filter returns the right rows (checked against the generated
columns with NumPy), the queries walk an index, and the latency goals hold on SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.services import fresh_database
from vigil.analytics.colors import COLORS, dominant, target_colors
from vigil.catalog.search import COUNT_CAP, SearchError, SearchQuery, ordered, search
from vigil.catalog.store import Catalog
from vigil.sim.synthetic_events import DAY_MS, Synthetic, make, write

N = 1_000_000


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, Synthetic]:
    path: Path = tmp_path_factory.mktemp("search") / "catalog.db"
    catalog = Catalog(f"sqlite:///{path}")
    catalog.migrate()
    d = make(N, cameras=8, days=30, seed=3)
    t0 = time.perf_counter()
    write(catalog, d)
    print(f"\n{N} synthetic events written in {time.perf_counter() - t0:.1f} s")
    return catalog, d


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def both(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, Synthetic]:
    """100,000 events on each backend, for the filters' correctness (the latency test has its million)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('search-small') / 'catalog.db'}"
    else:
        url = fresh_database(request.getfixturevalue("pg_url"), "search_small")
    catalog = Catalog(url)
    catalog.migrate()
    d = make(100_000, cameras=8, days=30, seed=3)
    write(catalog, d)
    return catalog, d


def window(d: Synthetic, days: int) -> tuple[int, int, np.ndarray]:
    t0 = d.end_ms - days * DAY_MS
    return t0, d.end_ms, (d.start_ms >= t0) & (d.start_ms < d.end_ms)


def check(catalog: Catalog, q: SearchQuery, mask: np.ndarray, by_score: bool = False) -> int:
    """The page and the total match what the generated columns say; returns the number of matches."""
    page = search(catalog, q)
    idx = np.flatnonzero(mask)
    if by_score:  # score desc, then id desc
        order = np.lexsort((-idx, -d_score[idx]))
        want = idx[order]
    else:  # rows are generated in time order, so newest first is the reverse (ties: higher id first)
        want = idx[np.lexsort((-idx, -d_start[idx]))]
    want_ids = [int(i) + 1 for i in want[q.offset:q.offset + q.limit]]
    assert [h.id for h in page.hits] == want_ids, q
    assert page.total == min(len(idx), COUNT_CAP) and page.total_capped == (len(idx) > COUNT_CAP), q
    return len(idx)


d_start: np.ndarray
d_score: np.ndarray


def test_every_filter_returns_the_right_rows(both: tuple[Catalog, Synthetic]) -> None:
    global d_start, d_score
    catalog, d = both
    d_start, d_score = d.start_ms, d.score
    t0, t1, day = window(d, 1)
    _, _, month = window(d, 30)
    _, _, week = window(d, 7)
    person, vehicle = d.label == "person", np.isin(d.label, ["car", "truck"])
    cases: list[tuple[SearchQuery, np.ndarray]] = [
        (SearchQuery(t0, t1, cameras=("cam3",), labels=("person",)), day & (d.camera == "cam3") & person),
        (SearchQuery(t0, t1, cameras=("cam1", "cam2")), day & np.isin(d.camera, ["cam1", "cam2"])),
        (SearchQuery(d.end_ms - 30 * DAY_MS, t1, upper_color="red"), month & (d.upper == "red")),
        (SearchQuery(d.end_ms - 7 * DAY_MS, t1, lower_color="blue", labels=("person",), cameras=("cam5",)),
         week & (d.lower == "blue") & person & (d.camera == "cam5")),
        (SearchQuery(d.end_ms - 7 * DAY_MS, t1, body_color="white", labels=("car", "truck")),
         week & (d.body == "white") & vehicle),
        (SearchQuery(t0, t1, color="green"), day & ((d.upper == "green") | (d.lower == "green") | (d.body == "green"))),
        (SearchQuery(d.end_ms - 7 * DAY_MS, t1, types=("tripwire",), rules=("line-a",)),
         week & (d.type == "tripwire") & (d.rule == "line-a")),
        (SearchQuery(t0, t1, types=("motion", "intrusion")), day & np.isin(d.type, ["motion", "intrusion"])),
    ]
    for q, mask in cases:
        assert check(catalog, q, mask) > 0, q  # a filter that matches nothing would prove little

    # Plates: exact, a prefix with `*`, `?` for one character, lower case and separators ignored.
    plated = d.plate != None  # noqa: E711
    some = str(d.plate[np.flatnonzero(month & plated)[-1]])
    plate = np.where(plated, d.plate, "").astype(str)
    m0 = d.end_ms - 30 * DAY_MS
    assert check(catalog, SearchQuery(m0, t1, plate=some), month & (plate == some)) >= 1
    assert check(catalog, SearchQuery(m0, t1, plate=some[:2].lower() + "-*"),
                 month & np.char.startswith(plate, some[:2])) > 1
    pattern = some[:2] + "??" + some[4:]  # the digits unknown
    mask = month & np.array([len(p) == 7 and p[:2] == some[:2] and p[4:] == some[4:] for p in plate])
    assert check(catalog, SearchQuery(m0, t1, plate=pattern), mask) >= 1
    mask = month & np.char.endswith(plate, some[-3:]) & (np.char.str_len(plate) == 7)
    assert check(catalog, SearchQuery(m0, t1, plate="*" + some[-3:]), mask) >= 1

    # Faces: attributes and identity (joined from face sightings).
    female = d.gender == "female"
    assert check(catalog, SearchQuery(d.end_ms - 7 * DAY_MS, t1, gender="female", age_min=30, age_max=45),
                 week & female & (d.age >= 30) & (d.age <= 45)) > 0
    assert check(catalog, SearchQuery(m0, t1, person_ids=(7, 9)), month & np.isin(d.person, [7, 9])) > 0

    # Sorting by score and paging.
    q = SearchQuery(t0, t1, cameras=("cam4",), sort="score", limit=20)
    assert check(catalog, q, day & (d.camera == "cam4"), by_score=True) > 20
    p1 = search(catalog, SearchQuery(t0, t1, cameras=("cam4",), limit=30))
    p2 = search(catalog, SearchQuery(t0, t1, cameras=("cam4",), limit=30, offset=30))
    assert p1.hits[-1].start_ms >= p2.hits[0].start_ms and not {h.id for h in p1.hits} & {h.id for h in p2.hits}
    check(catalog, SearchQuery(t0, t1, cameras=("cam4",), limit=30, offset=30), day & (d.camera == "cam4"))

    for bad in (SearchQuery(plate="--"), SearchQuery(start_ms=t1, end_ms=t0), SearchQuery(limit=0)):
        with pytest.raises(SearchError):
            search(catalog, bad)


def p95(catalog: Catalog, queries: list[SearchQuery]) -> float:
    times = []
    for q in queries:
        t = time.perf_counter()
        search(catalog, q)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 95))


def test_latency_on_a_million_events(data: tuple[Catalog, Synthetic]) -> None:
    catalog, d = data
    rng = np.random.default_rng(5)

    def day_query() -> SearchQuery:
        end = d.end_ms - int(rng.integers(0, 29)) * DAY_MS
        return SearchQuery(end - DAY_MS, end, cameras=(f"cam{rng.integers(1, 9)}",),
                           labels=(str(rng.choice(["person", "car", "bicycle"])),))

    def colour_query() -> SearchQuery:
        field = str(rng.choice(["upper_color", "lower_color", "body_color"]))
        return SearchQuery(d.end_ms - 30 * DAY_MS, d.end_ms, **{field: str(rng.choice(COLORS))})  # type: ignore[arg-type]

    # Each query walks an index that starts with its most selective filter (never a scan of the table).
    for make_q in (day_query, colour_query):
        q = make_q()
        sql = str(ordered(q).compile(catalog.engine, compile_kwargs={"literal_binds": True}))
        with catalog.engine.connect() as conn:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX" in plan and "SCAN events" not in plan, plan

    figures: dict[str, float] = {}
    for name, make_q, goal in (("one day, one camera, one class", day_query, 50.0),
                               ("30 days, all cameras, one colour", colour_query, 200.0)):
        gen: Callable[[], SearchQuery] = make_q
        # The best of three rounds of 40 queries: a busy CI neighbour should not decide the figure.
        figures[name] = min(p95(catalog, [gen() for _ in range(40)]) for _ in range(3))
        print(f"search p95 over {N:,} events, {name}: {figures[name]:.1f} ms (goal < {goal:.0f} ms)")
        assert figures[name] < goal, figures


def test_colour_names_of_crops() -> None:
    def solid(bgr: tuple[int, int, int]) -> np.ndarray:
        img = np.zeros((40, 30, 3), np.uint8)
        img[:] = bgr
        return cv2.GaussianBlur(img + np.random.default_rng(1).integers(0, 12, img.shape, dtype=np.uint8), (3, 3), 0)

    expect = {"red": (30, 30, 200), "blue": (180, 60, 20), "green": (40, 160, 40), "yellow": (30, 210, 230),
              "white": (235, 235, 235), "black": (15, 15, 15), "gray": (128, 128, 128), "orange": (20, 120, 240)}
    for name, bgr in expect.items():
        assert dominant(solid(bgr)) == name, (name, bgr)
    assert dominant(np.zeros((2, 2, 3), np.uint8)) is None  # too small to tell

    # A person in a red top and blue trousers on a green background; a white car.
    img = np.zeros((360, 640, 3), np.uint8)
    img[:] = (40, 150, 40)
    cv2.rectangle(img, (100, 100), (160, 180), (30, 30, 200), -1)  # torso
    cv2.rectangle(img, (105, 180), (155, 280), (150, 60, 20), -1)  # legs
    c = target_colors(img, (90 / 640, 70 / 360, 170 / 640, 290 / 360), "person")
    assert (c.upper, c.lower, c.body) == ("red", "blue", None)
    cv2.rectangle(img, (300, 200), (500, 300), (240, 240, 240), -1)
    assert target_colors(img, (300 / 640, 200 / 360, 500 / 640, 300 / 360), "car").body == "white"


def test_search_cli(data: tuple[Catalog, Synthetic], tmp_path: Path) -> None:
    catalog, d = data
    config = tmp_path / "vigil.yml"
    config.write_text(f"catalog:\n  url: {catalog.url}\nstorage:\n  path: {tmp_path / 'rec'}\n")
    since, until = str(d.end_ms - 2 * DAY_MS), str(d.end_ms)
    base = [sys.executable, "-m", "vigil.cli", "search", "--config", str(config), "--since", since, "--until", until]
    r = subprocess.run([*base, "--upper", "red", "--class", "human", "--camera", "cam2", "--limit", "3", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    hits = [json.loads(line) for line in r.stdout.splitlines()]
    mask = (d.start_ms >= d.end_ms - 2 * DAY_MS) & (d.start_ms < d.end_ms) & (d.upper == "red") & (d.camera == "cam2")
    assert [h["id"] for h in hits] == [int(i) + 1 for i in np.flatnonzero(mask)[::-1][:3]]
    table = subprocess.run([*base, "--plate", "AB*"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and "events" in table.stdout and "AB" in table.stdout
    bad = subprocess.run([*base, "--upper", "rouge"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "colours are black" in bad.stderr
