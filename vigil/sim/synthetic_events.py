"""Synthetic events for search tests and benchmarks: N events over D days and C cameras, with target classes,
colours, plates and face sightings in realistic proportions, written straight into a catalog.

`generate` returns the columns it wrote (NumPy arrays), so a test can compute the right answer of any query
without the database. Usage: `python -m vigil.sim.synthetic_events CATALOG_URL --events 1000000`.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass

import numpy as np

from vigil.analytics.colors import COLORS
from vigil.catalog.store import Catalog

TYPES = ("smd", "tripwire", "intrusion", "motion", "face_match")
TYPE_P = (0.5, 0.2, 0.15, 0.1, 0.05)
LABELS = ("person", "car", "truck", "bus", "motorcycle", "bicycle")
LABEL_P = (0.6, 0.2, 0.05, 0.03, 0.05, 0.07)
PLATED = {"car", "truck", "bus", "motorcycle"}
GENDERS = ("female", "male")
LETTERS = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
DIGITS = np.array(list("0123456789"))
DAY_MS = 86_400_000
BATCH = 50_000


@dataclass
class Synthetic:
    """The generated columns, index i is the event with id ids[i]."""

    ids: np.ndarray
    camera: np.ndarray  # object: "cam1" …
    type: np.ndarray
    label: np.ndarray  # object or None
    rule: np.ndarray
    start_ms: np.ndarray
    score: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    body: np.ndarray
    plate: np.ndarray
    person: np.ndarray  # int, -1: no face sighting / no identity
    gender: np.ndarray  # object or None
    age: np.ndarray  # int, -1: none
    end_ms: int
    days: int


def _plates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Plates shaped like "AB12CDE" (two letters, two digits, three letters)."""
    parts = [LETTERS[rng.integers(0, len(LETTERS), n)], LETTERS[rng.integers(0, len(LETTERS), n)],
             DIGITS[rng.integers(0, 10, n)], DIGITS[rng.integers(0, 10, n)],
             LETTERS[rng.integers(0, len(LETTERS), n)], LETTERS[rng.integers(0, len(LETTERS), n)],
             LETTERS[rng.integers(0, len(LETTERS), n)]]
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + p.astype(object)
    return out


def make(n: int, cameras: int = 8, days: int = 30, end_ms: int | None = None, seed: int = 1) -> Synthetic:
    rng = np.random.default_rng(seed)
    end_ms = end_ms if end_ms is not None else (int(time.time() * 1000) // DAY_MS) * DAY_MS
    start = np.sort(rng.integers(end_ms - days * DAY_MS, end_ms, n))
    cams = np.array([f"cam{i + 1}" for i in range(cameras)], dtype=object)[rng.integers(0, cameras, n)]
    types = np.array(TYPES, dtype=object)[rng.choice(len(TYPES), n, p=TYPE_P)]
    labels = np.array(LABELS, dtype=object)[rng.choice(len(LABELS), n, p=LABEL_P)]
    labels[types == "motion"] = None
    labels[types == "face_match"] = "person"
    human = labels == "person"
    vehicle = np.isin(labels, list(PLATED | {"bicycle"}))
    colors = np.array(COLORS, dtype=object)
    none = np.full(n, None, dtype=object)
    upper = np.where(human, colors[rng.integers(0, len(COLORS), n)], none)
    lower = np.where(human, colors[rng.integers(0, len(COLORS), n)], none)
    body = np.where(vehicle, colors[rng.integers(0, len(COLORS), n)], none)
    plate = np.where(np.isin(labels, list(PLATED)) & (rng.random(n) < 0.7), _plates(rng, n), none)
    rules = np.array(["line-a", "line-b", "zone-1"], dtype=object)[rng.integers(0, 3, n)]
    rules = np.where(np.isin(types, ["tripwire", "intrusion"]), rules, none)
    score = np.round(rng.uniform(0.3, 1.0, n), 3)
    face = types == "face_match"
    person = np.where(face, rng.integers(1, 200, n), -1)
    gender = np.where(face, np.array(GENDERS, dtype=object)[rng.integers(0, 2, n)], none)
    age = np.where(face, rng.integers(3, 90, n), -1)
    return Synthetic(np.arange(1, n + 1), cams, types, labels, rules, start, score, upper, lower, body, plate,
                     person, gender, age, end_ms, days)


def write(catalog: Catalog, d: Synthetic) -> None:
    """Appends the events (ids as generated: the table must be empty) and their face sightings. Plain DB-API
    executemany over tuples: SQLAlchemy's per-row dicts would take minutes for 10 M rows."""
    cols = ("id", "camera_id", "type", "severity", "start_ms", "end_ms", "message", "details", "rule_id", "label",
            "score", "upper_color", "lower_color", "body_color", "plate")
    n = len(d.ids)
    rows = zip(d.ids.tolist(), d.camera.tolist(), d.type.tolist(), ["info"] * n, d.start_ms.tolist(),
               (d.start_ms + 4000).tolist(), d.type.tolist(), ["{}"] * n, d.rule.tolist(), d.label.tolist(),
               d.score.tolist(), d.upper.tolist(), d.lower.tolist(), d.body.tolist(), d.plate.tolist(), strict=True)
    faces = np.flatnonzero(d.gender != None)  # noqa: E711 - NumPy element-wise comparison
    sightings = [(int(d.ids[i]), d.camera[i], int(d.start_ms[i]), b"", int(d.person[i]), 0.95, d.gender[i],
                  int(d.age[i])) for i in faces]
    mark = "%s" if catalog.engine.dialect.paramstyle in ("format", "pyformat") else "?"
    ev_sql = f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})"
    fs_sql = ("INSERT INTO face_sightings (event_id, camera_id, t_ms, embedding, person_id, score, gender, age) "
              f"VALUES ({', '.join([mark] * 8)})")
    raw = catalog.engine.raw_connection()
    try:
        cur = raw.cursor()
        indexes: list[str] = []
        if catalog.engine.dialect.name == "sqlite":  # building an index after the load is ~2× quicker
            cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' "
                        "AND sql IS NOT NULL")
            for name, sql in cur.fetchall():
                cur.execute(f"DROP INDEX {name}")
                indexes.append(sql)
        while batch := list(itertools.islice(rows, BATCH)):
            cur.executemany(ev_sql, batch)
        cur.executemany(fs_sql, sightings)
        for sql in indexes:
            cur.execute(sql)
        if indexes:
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("catalog", help="catalog URL, e.g. sqlite:////tmp/search.db")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    catalog = Catalog(args.catalog)
    catalog.migrate()
    t0 = time.perf_counter()
    write(catalog, make(args.events, args.cameras, args.days))
    print(f"{args.events} events written in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
