"""Faces benchmark: 1:N search latency, enrolment throughput, recognition throughput per channel.

Usage: python bench/faces.py [--queries 300] [--scene-seconds 45] [--dataset DIR]

- 1:N search over 20,000 and 200,000 enrolled 128-D vectors (median and p99 of one query: best person, with
  the database filter on), beside a plain NumPy brute force (`argmax(M @ v)`) in the same run. Vectors are
  random unit vectors: a search costs the same whatever faces they came from.
- Accuracy: top-1, stranger rejection and TAR at FAR 1 % on the packaged photographs, or on `--dataset DIR`
  (one sub-folder of photos per identity, e.g. LFW) where a real face set is at hand.
- Enrolment: photos per second through detection + alignment + embedding (the packaged photographs).
- Recognition per channel: the face scene at 5 fps through face detection, face tracks and one embedding +
  attributes per track, as a camera runs it; and the raw rate of face images (detect + embed + attributes)
  one channel's worker can take.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vigil.analytics.faces.engine import FaceEngine
from vigil.analytics.faces.index import VectorIndex
from vigil.analytics.faces.tracks import FaceTracks
from vigil.config import FacesConfig
from vigil.recognition import FaceService
from vigil.sim import face_photos as fp
from vigil.sim.scripted import SCRIPTS, ScriptedScene


def pct(xs: list[float], q: float) -> float:
    return float(np.quantile(xs, q))


def search_latency(n: int, queries: int) -> None:
    rng = np.random.default_rng(n)
    vecs = rng.normal(size=(n, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    persons = np.arange(n) // 2  # two images per person
    dbs = persons % 10 + 1  # ten databases
    idx = VectorIndex()
    t0 = time.perf_counter()
    idx.add(range(n), vecs, persons.tolist(), dbs.tolist())
    load_ms = (time.perf_counter() - t0) * 1000
    probes = vecs[rng.integers(0, n, queries)] + rng.normal(scale=0.05, size=(queries, 128)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    ours, ours_db, brute = [], [], []
    for v in probes:
        t = time.perf_counter()
        idx.search(v, k=1)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        idx.search(v, k=1, groups=[1, 2, 3])
        ours_db.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        int(np.argmax(vecs @ v))
        brute.append((time.perf_counter() - t) * 1000)
    print(f"1:N search over {n:>7,} vectors: Vigil {statistics.median(ours):6.2f} ms median / {pct(ours, 0.99):6.2f} "
          f"p99; with a 3-database filter {statistics.median(ours_db):6.2f} / {pct(ours_db, 0.99):6.2f}; "
          f"NumPy brute force {statistics.median(brute):6.2f} / {pct(brute, 0.99):6.2f} (index built in "
          f"{load_ms:.0f} ms)")


def enrolment(service: FaceService, rounds: int) -> None:
    files = [p.file for p in fp.PHOTOS]
    photos = [fp.load(f) for f in dict.fromkeys(files) if files.count(f) == 1]  # one person in the picture
    service.the_face(photos[0], "warm-up")
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for img in photos:
            scaled, face = service.the_face(img, "bench")
            service.engine.embed(scaled, face)
            n += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"[{service.engine.model}] enrolment: {n / wall:.1f} photos/s (detection + alignment + embedding; "
          f"{cpu / n * 1000:.0f} CPU-ms per photo, photos scaled to ≤ 1280 px)")


def recognition(engine: FaceEngine, seconds: float) -> None:
    scene = ScriptedScene(640, 360, "BENCH", SCRIPTS["faces"])
    start = 1_000_000 * SCRIPTS["faces"].period
    fps = 5
    frames = [(round((start + i / fps) * 1000), scene.draw(i, fps, start + i / fps)) for i in range(int(seconds * fps))]
    engine.find(frames[0][1])
    for f in engine.find(frames[len(frames) // 2][1])[:1]:
        engine.describe(frames[len(frames) // 2][1], f)  # first-call set-up of every network, not timed
    tracks = FaceTracks()
    faces = decided = 0
    det_ms: list[float] = []
    desc_ms: list[float] = []
    c0, t0 = time.process_time(), time.perf_counter()
    for t_ms, img in frames:
        t = time.perf_counter()
        found = engine.find(img)
        det_ms.append((time.perf_counter() - t) * 1000)
        faces += len(found)
        for tr in tracks.update(t_ms, img, found):
            assert tr.best is not None
            t = time.perf_counter()
            engine.describe(tr.best.crop, tr.best.face)
            desc_ms.append((time.perf_counter() - t) * 1000)
            decided += 1
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    video_s = len(frames) / fps
    print(f"[{engine.model}] face scene, one channel at {fps} fps: {faces} face sightings, {decided} tracks "
          f"recognised; {cpu / video_s * 100:.0f} % of one core per channel ({wall / video_s * 100:.0f} % wall) → "
          f"{video_s / wall:.1f} such channels per machine in real time")
    per_face = statistics.median(det_ms) + statistics.median(desc_ms)
    print(f"[{engine.model}] per face image: detection {statistics.median(det_ms):.1f} ms (whole 640×360 picture) + "
          f"embedding and attributes {statistics.median(desc_ms):.1f} ms → {1000 / per_face:.1f} face images/s "
          f"per channel (goal ≥ 12); tracks recognise once per passage, so a channel needs ≈ 1 of these per visitor")


def accuracy(service: FaceService, dataset: Path | None) -> None:
    """Identification accuracy: the packaged photographs' protocol, or a folder of real faces (one sub-folder
    per identity, LFW-style): the first photo of each identity with 2+ photos is enrolled and the others probe
    it; identities with a single photo are strangers."""
    from vigil.analytics.faces.evaluation import evaluate
    from vigil.errors import FaceImageError

    def emb(items: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
        out = []
        for ident, img in items:
            try:
                scaled, face = service.the_face(img, ident)
            except FaceImageError:
                continue
            out.append((ident, service.engine.embed(scaled, face)))
        return out

    if dataset is None:
        pr = fp.protocol()
        gallery, probes, strangers = emb(pr.gallery), emb(pr.probes), emb(pr.strangers)
        ids = {i for i, _ in pr.gallery} | {i for i, _ in pr.strangers}
        what = (f"packaged photographs ({len(ids)} identities; real photographs years apart where there are two or "
                "more, and CCTV-degraded copies)")
    else:
        import cv2

        gallery, probes, strangers = [], [], []
        for d in sorted(p for p in dataset.iterdir() if p.is_dir()):
            imgs = [(d.name, im) for f in sorted(d.iterdir()) if (im := cv2.imread(str(f))) is not None]
            if len(imgs) == 1:
                strangers += emb(imgs)
            elif imgs:
                gallery += emb(imgs[:1])
                probes += emb(imgs[1:])
        what = str(dataset)
    acc = evaluate(gallery, probes, strangers, service.engine.match_threshold)
    print(f"[{service.engine.model}] accuracy on {what}: top-1 {acc.top1:.3f} of {acc.probes} probes at threshold "
          f"{service.engine.match_threshold}; strangers rejected {acc.rejection:.3f} of {acc.strangers}; TAR "
          f"{acc.tar_at_far1:.3f} at FAR 1 % (threshold {acc.far1_threshold:.3f}); mean cosine genuine "
          f"{acc.genuine_mean:.3f}, impostor {acc.impostor_mean:.3f}")


def throughput(model: str, detector: str, workers: int, seconds: float) -> None:
    """Face images one channel takes per second: detection on its pictures in its own thread, each face's
    embedding handed to the worker processes as soon as it is found (attributes after), pipelined."""
    engine = FaceEngine(FacesConfig.model_validate({"model": model, "detector": detector, "embed_workers": workers}))
    engine.load()
    scene = ScriptedScene(640, 360, "BENCH", SCRIPTS["faces"])
    start = 1_000_000 * SCRIPTS["faces"].period + 5  # Obama mid-way through his passage
    frames = [scene.draw(i, 5, start + i / 5) for i in range(10)]
    engine.find(frames[0])
    n, t0 = 0, time.perf_counter()
    pending = []
    while time.perf_counter() - t0 < seconds:
        img = frames[n % len(frames)]
        for f in engine.find(img):
            pending.append(engine.embed_async(img, f))
            n += 1
        while len(pending) > 2 * max(1, workers):  # bounded queue: the channel cannot run away from its workers
            pending.pop(0).result()
    for p in pending:
        p.result()
    wall = time.perf_counter() - t0
    engine.close()
    print(f"[{model}, {detector}] face images per channel, detection + embedding pipelined, embed_workers={workers}: "
          f"{n / wall:.1f} faces/s (goal ≥ 12)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--scene-seconds", type=float, default=45)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dataset", type=Path, help="a folder of real faces, one sub-folder per identity")
    a = ap.parse_args()
    for n in (20_000, 200_000):
        search_latency(n, a.queries)
    import tempfile

    from vigil.catalog.store import Catalog

    # The old path (CenterFace + dlib) beside the new default (YuNet + SFace), same pictures, same run.
    for model, detector in (("dlib", "centerface"), ("sface", "yunet")):
        with tempfile.TemporaryDirectory() as tmp:
            cat = Catalog(f"sqlite:///{tmp}/bench.db")
            cat.migrate()
            service = FaceService(cat, Path(tmp), FacesConfig.model_validate({"model": model, "detector": detector}))
            accuracy(service, a.dataset)
            enrolment(service, a.rounds)
            recognition(service.engine, a.scene_seconds)
            cat.close()
        for workers in (0, 2):
            throughput(model, detector, workers, 10)


if __name__ == "__main__":
    main()
