"""Search benchmark: AI-search latency over 1 M and 10 M synthetic events on SQLite and PostgreSQL, beside the same
queries run as a full scan (no index) in the same run.

Usage: python bench/search.py [--sizes 1000000,10000000] [--postgres auto|none|URL] [--queries 40]

`--postgres auto` starts a throw-away PostgreSQL server from Debian's packages (`postgresql`, installed by
`make bench`) on a free port; a URL uses an existing server (the database must be empty).
Queries (each with a page of 50 hits, newest first, and the capped total): one day × one camera × one class;
30 days × one colour; 30 days × a plate prefix with a wildcard; 7 days × face gender and age range.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlalchemy import func, select

from tests.services import fresh_database, postgres_server
from vigil.analytics.colors import COLORS
from vigil.catalog.models import EventModel
from vigil.catalog.search import COUNT_CAP, SearchQuery, build, ordered, search
from vigil.catalog.store import Catalog
from vigil.sim.synthetic_events import DAY_MS, Synthetic, make, write


def queries(d: Synthetic, rng: np.random.Generator) -> dict[str, Callable[[], SearchQuery]]:
    def day() -> SearchQuery:
        end = d.end_ms - int(rng.integers(0, d.days - 1)) * DAY_MS
        return SearchQuery(end - DAY_MS, end, cameras=(f"cam{rng.integers(1, 9)}",),
                           labels=(str(rng.choice(["person", "car", "bicycle"])),))

    def colour() -> SearchQuery:
        field = str(rng.choice(["upper_color", "lower_color", "body_color"]))
        return SearchQuery(d.end_ms - 30 * DAY_MS, d.end_ms, **{field: str(rng.choice(COLORS))})  # type: ignore[arg-type]

    def plate() -> SearchQuery:
        return SearchQuery(d.end_ms - 30 * DAY_MS, d.end_ms, plate=str(rng.choice(list("ABCDEFGH"))) + "K*")

    def face() -> SearchQuery:
        a = int(rng.integers(18, 60))
        return SearchQuery(d.end_ms - 7 * DAY_MS, d.end_ms, gender=str(rng.choice(["female", "male"])),
                           age_min=a, age_max=a + 10)

    return {"1 day, 1 camera, 1 class": day, "30 days, 1 colour": colour, "30 days, plate prefix*": plate,
            "7 days, face gender + age": face}


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def full_scan(catalog: Catalog, q: SearchQuery) -> float:
    """The same two statements as `search` (the page and the capped count) with every index out of play: what
    the search would cost without them."""
    counted = build(q).with_only_columns(EventModel.id).limit(COUNT_CAP + 1).subquery()
    statements = [str(s.compile(catalog.engine, compile_kwargs={"literal_binds": True}))
                  for s in (ordered(q), select(func.count()).select_from(counted))]
    with catalog.engine.connect() as conn:
        if catalog.engine.dialect.name == "sqlite":
            statements = [sql.replace("FROM events", "FROM events NOT INDEXED", 1)
                          .replace("JOIN face_sightings", "JOIN face_sightings NOT INDEXED", 1) for sql in statements]
        else:
            for knob in ("indexscan", "bitmapscan", "indexonlyscan"):
                conn.exec_driver_sql(f"SET enable_{knob} = off")
        return timed(lambda: [conn.exec_driver_sql(sql).fetchall() for sql in statements])


def bench(label: str, url: str, n: int, count: int) -> None:
    catalog = Catalog(url)
    catalog.migrate()
    d = make(n, cameras=8, days=30, seed=3)
    t0 = time.perf_counter()
    write(catalog, d)
    if catalog.engine.dialect.name == "postgresql":
        with catalog.engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
            c.commit()
    print(f"\n{label}, {n:,} events (written in {time.perf_counter() - t0:.0f} s):")
    print(f"  {'query':30} {'p50 ms':>8} {'p95 ms':>8} {'full scan ms':>13} {'× faster':>9}")
    rng = np.random.default_rng(1)
    for name, gen in queries(d, rng).items():
        search(catalog, gen())  # warm the cache as a running server's would be
        times = [timed(lambda g=gen: search(catalog, g())) for _ in range(count)]
        scan = float(np.median([full_scan(catalog, gen()) for _ in range(3)]))
        p50, p95 = float(np.percentile(times, 50)), float(np.percentile(times, 95))
        print(f"  {name:30} {p50:8.1f} {p95:8.1f} {scan:13.0f} {scan / p50:9.0f}")
    catalog.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--postgres", default="auto", help="auto | none | URL of a server")
    ap.add_argument("--queries", type=int, default=40)
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print("goals: p95 < 50 ms for 1 day × 1 camera × 1 class, < 200 ms for 30 days × 1 colour (SQLite, 1 M)")
    with tempfile.TemporaryDirectory(prefix="vigil-search-") as tmp_name:
        tmp = Path(tmp_name)
        for n in sizes:
            bench("SQLite", f"sqlite:///{tmp / f'search-{n}.db'}", n, args.queries)
            (tmp / f"search-{n}.db").unlink()
        if args.postgres == "none":
            return
        pg_dir = tmp / "postgres"
        pg_dir.mkdir()
        with (postgres_server(pg_dir) if args.postgres == "auto" else contextlib.nullcontext(args.postgres)) as url:
            for n in sizes:
                bench("PostgreSQL", fresh_database(url, f"search_{n}"), n, args.queries)


if __name__ == "__main__":
    main()
