"""Analytics benchmark: per-frame cost of each stage, and how many cameras one machine analyses at 5 fps.

Usage: python bench/analytics.py [--seconds 60] [--workers 2]

- Engines on the same frames (real vtest.avi pictures at 640x480 and scripted 640x360 ones): ms per frame for
  the detector as Vigil ran it before this round (OpenCV DNN, YOLOv3-tiny, 416x416 square input), YOLOv3-tiny on
  OpenCV DNN and ONNX Runtime FP32/INT8 at its input (672 wide, the picture's shape), NanoDet at its own (416
  wide) and CenterNet (the default `analytics.model`) at its own (480 wide), both on ONNX Runtime.

- Stage costs (CPU ms per frame, all threads counted) on 640x360 pictures of the scripted scenes: decoding
  the stream (PyAV, every frame decoded, 5 fps converted to BGR), motion, detector, tracker.
- Detector reference in the same run: the bare OpenCV DNN forward pass of the same network (no pre- or
  post-processing), i.e. what the model itself costs on this CPU.
- Capacity: N pipelines sharing one detector, fed as fast as `--workers` threads can go, on a "typical"
  scene (a person in view 10 % of the time) and on real vtest.avi, with the motion gate on (detection regions
  on and off) and off; cameras = frames per second / 5, decoding counted. Each detector runs as vigil.yml's
  `analytics.parallel` would (the default: one single-threaded pass per core at once), and the default model
  also one pass at a time on every core, to show what running passes side by side wins.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.realclips import load as load_clip
from bench.realclips import pictures
from vigil.analytics.detector import YoloV3Tiny, input_size
from vigil.analytics.engines import make_detector
from vigil.analytics.motion import MotionDetector
from vigil.analytics.onnx_detector import INT8_FILE, OnnxYolo, models_dir
from vigil.analytics.pipeline import GateSettings, Pipeline
from vigil.analytics.tracker import Tracker
from vigil.config import AnalyticsConfig
from vigil.events.analysis_load import LockedDetector
from vigil.media.frames import analysis_decoder
from vigil.sim.scripted import SCRIPTS, Actor, Script, ScriptedScene

FPS = 5
DEFAULTS = AnalyticsConfig()
YOLO = AnalyticsConfig(model="yolov3-tiny")
WIDTH = YOLO.detector_settings()[1]
NANODET = AnalyticsConfig(model="nanodet")
OSD = [((0.0, 0.0), (0.6, 0.0), (0.6, 0.1), (0.0, 0.1))]
# A typical camera: a person walks through for 6 s of every 60 (10 % of the time).
TYPICAL = Script("typical", 60.0, (Actor("person", 0.32, ((2, -0.05, 0.86), (8, 1.05, 0.86))),))


class SquareYolo(YoloV3Tiny):
    """The detector as Vigil ran it before: OpenCV DNN on a 416x416 square input (the reference)."""

    def rows(self, frame: np.ndarray) -> np.ndarray:
        self._net.setInput(cv2.dnn.blobFromImage(frame, 1 / 255.0, (416, 416), swapRB=True, crop=False))
        return np.vstack(self._net.forward(self._outputs))


def real_frames(n: int = 40) -> list[np.ndarray]:
    clip = load_clip("vtest")
    if not clip.present:
        return []
    out = [img for _, _, img in pictures(clip, 5, DEFAULTS.max_width)]
    return out[:: max(1, len(out) // n)][:n]


def npm_models_available() -> bool:
    return all((models_dir() / m / f"{m}.json").exists() for m in ("nanodet", "centernet"))


def engine_costs(frames: list[np.ndarray]) -> dict[str, tuple[float, float]]:
    """(wall ms, CPU ms) per detect() on each engine, the same frames for all."""
    engines: dict[str, object] = {"before: OpenCV DNN 416x416": SquareYolo(confidence=0.25, size=416),
                                  f"OpenCV DNN {WIDTH} (shape kept)": YoloV3Tiny(confidence=0.25, size=WIDTH),
                                  f"ONNX Runtime FP32 {WIDTH}": OnnxYolo(confidence=0.25, size=WIDTH)}
    if (models_dir() / INT8_FILE).exists():
        engines[f"ONNX Runtime INT8 {WIDTH}"] = OnnxYolo(confidence=0.25, size=WIDTH, precision="int8")
    if npm_models_available():
        # One picture on every core, like the other engines here (capacity below runs them `parallel` at once).
        for cfg in (NANODET, DEFAULTS):
            engines[f"{cfg.model} FP32 {cfg.detector_settings()[1]}"] = make_detector(cfg.model_copy(
                update={"parallel": 1}))
    out = {}
    for name, det in engines.items():
        det.detect(frames[0])  # type: ignore[attr-defined]
        w0, c0 = time.perf_counter(), time.process_time()
        for f in frames:
            det.detect(f)  # type: ignore[attr-defined]
        n = len(frames)
        out[name] = ((time.perf_counter() - w0) * 1000 / n, (time.process_time() - c0) * 1000 / n)
    return out


def cpu_ms(fn, *args):  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    out = fn(*args)
    return (time.process_time() - t0) * 1000, out


def frames_of(script: Script, seconds: float, fps: float = FPS) -> list[tuple[int, np.ndarray]]:
    scene = ScriptedScene(640, 360, "BENCH", script)
    start = 1_000_000 * script.period
    return [(round((start + i / fps) * 1000), scene.draw(i, fps, start + i / fps)) for i in range(int(seconds * fps))]


def decode_cost(seconds: float) -> float:
    """CPU ms per analysed frame to decode a 10 fps 640x360 H.264 stream and convert 5 fps of it to BGR, as a
    camera's analysis decodes."""
    scene = ScriptedScene(640, 360, "BENCH", SCRIPTS["crossing"])
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt, enc.time_base = 640, 360, "yuv420p", Fraction(1, 10)
    enc.options = {"preset": "ultrafast", "tune": "zerolatency"}
    packets = []
    for i in range(int(seconds * 10)):
        f = av.VideoFrame.from_ndarray(cv2.cvtColor(scene.draw(i, 10, 4e7 + i / 10), cv2.COLOR_BGR2YUV_I420),
                                       format="yuv420p")
        f.pts = i
        packets += [bytes(p) for p in enc.encode(f)]
    dec = analysis_decoder("h264", None, 640)
    t0 = time.process_time()
    n = 0
    for i, data in enumerate(packets):
        for pic in dec.decode(av.Packet(data)):
            if i % 2 == 0:
                pic.to_ndarray(format="bgr24")
                n += 1
    return (time.process_time() - t0) * 1000 / max(1, n)


def stage_costs(seconds: float) -> dict[str, float]:
    frames = frames_of(SCRIPTS["crossing"], seconds)
    motion = MotionDetector(masks=OSD)
    det = YoloV3Tiny(confidence=0.25, size=WIDTH)
    tracker = Tracker()
    m_ms, d_ms, t_ms = [], [], []
    for t, img in frames:
        m_ms.append(cpu_ms(motion.update, img)[0])
        ms, dets = cpu_ms(det.detect, img)
        d_ms.append(ms)
        t_ms.append(cpu_ms(tracker.update, t, dets)[0])
    # The same network's bare forward pass, for reference.
    net = det._net
    h, w = frames[0][1].shape[:2]
    blob = cv2.dnn.blobFromImage(frames[0][1], 1 / 255.0, input_size(w, h, WIDTH), swapRB=True, crop=False)
    raw, wall = [], []
    for _ in range(30):
        net.setInput(blob)
        w0 = time.perf_counter()
        raw.append(cpu_ms(net.forward, det._outputs)[0])
        wall.append((time.perf_counter() - w0) * 1000)
    d_wall = []
    for _, img in frames[:30]:
        w0 = time.perf_counter()
        det.detect(img)
        d_wall.append((time.perf_counter() - w0) * 1000)
    med = statistics.median
    return {"motion": med(m_ms), "detector": med(d_ms), "tracker": med(t_ms), "forward_ref": med(raw),
            "detector_wall": med(d_wall), "forward_wall": med(wall)}


def capacity(cameras: int, gate: bool, seconds: float, workers: int, detector: object,
             frames: list[tuple[int, np.ndarray]] | None = None, regions: bool = True, parallel: int = 1
             ) -> tuple[float, float, float]:
    """(analysed frames per second over all cameras, share of frames the detector ran on, share of its runs on a
    region only)."""
    frames = frames or frames_of(TYPICAL, seconds)
    shared = LockedDetector(detector, parallel=parallel)  # type: ignore[arg-type]
    pipes = [Pipeline(shared, (), MotionDetector(masks=OSD), gate=GateSettings(enabled=gate, regions=regions))
             for _ in range(cameras)]
    # Each camera sees the scene shifted in time, so targets do not all appear at once.
    jobs = [(c, k) for k in range(len(frames)) for c in range(cameras)]
    lock = threading.Lock()
    cursor = [0]
    cam_locks = [threading.Lock() for _ in range(cameras)]

    def work() -> None:
        while True:
            with lock:
                if cursor[0] >= len(jobs):
                    return
                c, i = jobs[cursor[0]]  # camera, its frame number
                cursor[0] += 1
            with cam_locks[c]:  # one camera's frames stay in order
                _, img = frames[(i + c * len(frames) // cameras) % len(frames)]
                pipes[c].process(1_000_000 + i * 1000 // FPS, img)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    runs = sum(p.detections_run for p in pipes)
    return len(jobs) / elapsed, runs / len(jobs), sum(p.regions_run for p in pipes) / max(1, runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cv2.setNumThreads(args.workers)
    print(f"analytics benchmark: {FPS} fps analysis, {args.workers} worker threads")
    real = real_frames()
    sim = [img for _, img in frames_of(SCRIPTS["crossing"], 8)]
    for label, frames in ((f"real vtest.avi pictures, up to {DEFAULTS.max_width} wide", real),
                          ("scripted scene, 640x360", sim)):
        if not frames:
            print(f"  {label}: missing (make real-clips)")
            continue
        costs = engine_costs(frames)
        ref = costs["before: OpenCV DNN 416x416"][0]
        same = costs[f"OpenCV DNN {WIDTH} (shape kept)"]
        print(f"  detector on {len(frames)} {label}: ms per frame, wall (CPU)")
        for name, (wall, cpu) in costs.items():
            print(f"    {name:30s} {wall:6.1f} ({cpu:6.1f})   {ref / wall:4.2f}x the 'before' speed, "
                  f"{same[0] / wall:4.2f}x ({same[1] / cpu:4.2f}x CPU) OpenCV DNN at the same input")
    dec = decode_cost(min(args.seconds, 30))
    c = stage_costs(min(args.seconds, 20))
    print(f"  CPU ms per analysed frame (OpenCV engine): decode {dec:.2f}, motion {c['motion']:.2f}, detector "
          f"{c['detector']:.1f}, tracker {c['tracker']:.2f}")
    print(f"  detector wall ms {c['detector_wall']:.1f} (CPU {c['detector']:.1f}) beside OpenCV DNN's bare forward "
          f"pass of the same network: wall {c['forward_wall']:.1f} (CPU {c['forward_ref']:.1f}) "
          f"→ pre/post-processing adds {c['detector_wall'] - c['forward_wall']:.1f} ms")
    # Decoding happens in each camera's reader thread, beside the analysis: it takes its share of the cores.
    per_cam_cpu = FPS * dec / 1000  # cores per camera for decoding
    real_timed = [(1_000_000 + i * 1000 // FPS, img) for i, img in enumerate(
        [img for _, _, img in pictures(load_clip("vtest"), FPS, DEFAULTS.max_width)][:int(args.seconds * FPS)])] \
        if real else None
    for scene, frames in (("typical scripted camera (a person 10 % of the time)", None),
                          ("real vtest.avi (people in view all the time)", real_timed)):
        if scene.startswith("real") and not frames:
            continue
        print(f"  capacity, {scene}:")
        one = {"parallel": 1}
        detectors: list[tuple[str, object, int]] = [
            ("before (OpenCV 416x416)", SquareYolo(confidence=0.25, size=416), 1),
            ("yolov3-tiny FP32", make_detector(YOLO), YOLO.detector_parallel()[0])]
        if (models_dir() / INT8_FILE).exists():
            int8 = YOLO.model_copy(update={"precision": "int8"})
            detectors.append(("yolov3-tiny INT8", make_detector(int8), int8.detector_parallel()[0]))
        if npm_models_available():
            detectors.append(("nanodet", make_detector(NANODET), NANODET.detector_parallel()[0]))
            detectors.append((f"{DEFAULTS.model}, 1 at a time", make_detector(DEFAULTS.model_copy(update=one)), 1))
            detectors.append((f"default ({DEFAULTS.model})", make_detector(DEFAULTS), DEFAULTS.detector_parallel()[0]))
        for name, det, parallel in detectors:
            # "before" ran without regions; today's default has them (GateSettings.regions).
            modes = [("gate on ", True, False), ("gate off", False, False)] if name.startswith("before") else \
                [("gate on, regions", True, True), ("gate on, no regions", True, False), ("gate off", False, False)]
            for mode, gate, regions in modes:
                fps, share, in_regions = capacity(8, gate, args.seconds, args.workers, det, frames, regions, parallel)
                analysed = fps / FPS
                cams = analysed / (1 + per_cam_cpu * analysed / args.workers)
                print(f"    {name:26s} {mode:19s}: {fps:5.1f} frames/s analysed, detector on {share:4.0%} of frames "
                      f"({in_regions:4.0%} of its runs on a region) → {cams:5.1f} cameras at {FPS} fps "
                      "(decoding included)")


if __name__ == "__main__":
    main()
