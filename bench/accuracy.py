"""Accuracy on real footage: each real clip of bench/truth through one camera's analysis (vigil.yml defaults),
scored against the hand-annotated ground truth.

Usage: python bench/accuracy.py [--clips vtest,tree] [--precision fp32|int8] [--json FILE]

Per clip and line: crossings found against the truth (matched within ±1 s, same direction), precision and
recall; for clips with annotated boxes, person detection precision/recall at IoU 0.5 for people ≥ 40 px tall,
and MOTA/IDF1 of the confirmed tracks (motmetrics); for clips with no target, the human/vehicle events raised
(must be none). The same run prints the stage losses: true crossings with a detection near the line, with a
confirmed track crossing it, and with a rule firing — where people are lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import itertools

from bench.realclips import Clip, Run, analyse, clip_size, load, names, people_score
from vigil.analytics.detector import Detector
from vigil.analytics.engines import make_detector
from vigil.analytics.scoring import score_crossings, score_tracks
from vigil.config import AnalyticsConfig


def pixel_tracks(run: Run, width: int, height: int) -> dict[int, list[tuple[int, tuple[float, ...]]]]:
    return {n: [(i, (b[0] * width, b[1] * height, b[2] * width, b[3] * height)) for i, b in ts]
            for n, ts in run.tracks.items()}


def report(clip: Clip, detector: Detector | None = None) -> dict[str, object]:
    t0 = time.perf_counter()
    run = analyse(clip, detector)
    wall = time.perf_counter() - t0
    out: dict[str, object] = {"clip": clip.name, "frames": run.frames, "detector_runs": run.detector_runs,
                              "detector_ms_per_run": round(run.detector_ms / max(1, run.detector_runs), 1),
                              "seconds": round(wall, 1)}
    print(f"\n{clip.name}: {clip.title}\n  {run.frames} pictures analysed, detector run on {run.detector_runs} "
          f"({out['detector_ms_per_run']} ms each), {wall:.1f} s")
    if clip.no_targets:
        out["events"] = len(run.labels)
        print(f"  no target in view: {len(run.labels)} human/vehicle events (want 0) {sorted(set(run.labels))}")
    for line in clip.lines:
        truth = [c for c in clip.crossings if c.line == line]
        if not truth:
            continue
        s = score_crossings(truth, [c for c in run.crossings if c.line == line])
        out[f"line_{line}"] = {"truth": s.truth, "hits": s.hits, "false": s.false,
                               "recall": round(s.recall, 3), "precision": round(s.precision, 3)}
        print(f"  line {line}: {s.hits} of {s.truth} crossings found, {s.false} false → recall {s.recall:.2f}, "
              f"precision {s.precision:.2f}")
        for m in s.misses:
            print(f"    missed {m.direction} at {m.t_ms / 1000:.1f} s")
        for e in s.extras:
            print(f"    false  {e.direction} at {e.t_ms / 1000:.1f} s")
    if clip.boxes:
        d = people_score(clip, run)
        out["detection"] = {"truth": d.truth, "recall": round(d.recall, 3), "precision": round(d.precision, 3)}
        print(f"  people ≥ 40 px: detection recall {d.recall:.2f}, precision {d.precision:.2f} ({d.truth} boxes in "
              f"{len({n for n in clip.boxes if n - 1 in run.detections})} frames)")
        w, h = clip_size(clip)
        tracks = pixel_tracks(run, w, h)
        frames = sorted(clip.boxes)
        if len(frames) >= 10 and max(b - a for a, b in itertools.pairwise(frames)) <= 3:
            # Identities only mean something over consecutive pictures.
            t = score_tracks({n - 1: v for n, v in clip.boxes.items() if n - 1 in tracks}, tracks)
            out["tracking"] = {"mota": round(t.mota, 3), "idf1": round(t.idf1, 3), "switches": t.switches}
            print(f"  tracks MOTA {t.mota:.2f}, IDF1 {t.idf1:.2f}, {t.switches} identity switches")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default=",".join(names()))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--precision", choices=("fp32", "int8"), default=AnalyticsConfig().precision,
                    help="the detector's precision (vigil.yml analytics.precision)")
    ap.add_argument("--model", choices=("yolov3-tiny", "nanodet", "centernet"), default=AnalyticsConfig().model,
                    help="the detector (vigil.yml analytics.model)")
    ap.add_argument("--input-width", type=int, help="analytics.input_width (default: the model's own)")
    ap.add_argument("--confidence", type=float, help="analytics.confidence (default: the model's own)")
    args = ap.parse_args()
    cfg = AnalyticsConfig(model=args.model, precision=args.precision, input_width=args.input_width,
                          confidence=args.confidence)
    detector = make_detector(cfg)
    print(f"detector: {args.model} {args.precision}, confidence and input width {cfg.detector_settings()}")
    results = []
    for name in args.clips.split(","):
        clip = load(name)
        if not clip.present:
            sys.exit(f"{clip.file} is missing: {clip.install}")
        results.append(report(clip, detector))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
