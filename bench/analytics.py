"""Analytics benchmark: per-frame cost of each stage, and how many cameras one machine analyses at 5 fps.

Usage: python bench/analytics.py [--seconds 60] [--workers 2]

- Stage costs (CPU ms per frame, all threads counted) on 640x360 pictures of the scripted scenes: decoding
  the stream (PyAV, every frame decoded, 5 fps converted to BGR), motion, detector, tracker.
- Detector reference in the same run: the bare OpenCV DNN forward pass of the same network (no pre- or
  post-processing), i.e. what the model itself costs on this CPU.
- Capacity: N pipelines sharing one detector, fed as fast as `--workers` threads can go, on a "typical"
  scene (a person in view 10 % of the time) with the motion gate on and off; cameras = frames per second / 5.
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
from vigil.analytics.detector import YoloV3Tiny
from vigil.analytics.motion import MotionDetector
from vigil.analytics.pipeline import GateSettings, Pipeline
from vigil.analytics.tracker import Tracker
from vigil.events.analysis import LockedDetector
from vigil.sim.scripted import SCRIPTS, Actor, Script, ScriptedScene

FPS = 5
OSD = [((0.0, 0.0), (0.6, 0.0), (0.6, 0.1), (0.0, 0.1))]
# A typical camera: a person walks through for 6 s of every 60 (10 % of the time).
TYPICAL = Script("typical", 60.0, (Actor("person", 0.32, ((2, -0.05, 0.86), (8, 1.05, 0.86))),))


def cpu_ms(fn, *args):  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    out = fn(*args)
    return (time.process_time() - t0) * 1000, out


def frames_of(script: Script, seconds: float, fps: float = FPS) -> list[tuple[int, np.ndarray]]:
    scene = ScriptedScene(640, 360, "BENCH", script)
    start = 1_000_000 * script.period
    return [(round((start + i / fps) * 1000), scene.draw(i, fps, start + i / fps)) for i in range(int(seconds * fps))]


def decode_cost(seconds: float) -> float:
    """CPU ms per analysed frame to decode a 10 fps 640x360 H.264 stream and convert 5 fps of it to BGR."""
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
    dec = av.CodecContext.create("h264", "r")
    dec.thread_count = 1
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
    det = YoloV3Tiny(confidence=0.25)
    tracker = Tracker()
    m_ms, d_ms, t_ms = [], [], []
    for t, img in frames:
        m_ms.append(cpu_ms(motion.update, img)[0])
        ms, dets = cpu_ms(det.detect, img)
        d_ms.append(ms)
        t_ms.append(cpu_ms(tracker.update, t, dets)[0])
    # The same network's bare forward pass, for reference.
    net = det._net
    blob = cv2.dnn.blobFromImage(frames[0][1], 1 / 255.0, (416, 416), swapRB=True, crop=False)
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


def capacity(cameras: int, gate: bool, seconds: float, workers: int) -> tuple[float, float]:
    """(analysed frames per second over all cameras, share of frames the detector ran on)."""
    frames = frames_of(TYPICAL, seconds)
    shared = LockedDetector(YoloV3Tiny(confidence=0.25))
    pipes = [Pipeline(shared, (), MotionDetector(masks=OSD), gate=GateSettings(enabled=gate)) for _ in range(cameras)]
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
    return len(jobs) / elapsed, runs / len(jobs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cv2.setNumThreads(args.workers)
    print(f"analytics benchmark: 640x360 scripted scenes, {FPS} fps analysis, {args.workers} worker threads")
    dec = decode_cost(min(args.seconds, 30))
    c = stage_costs(min(args.seconds, 20))
    print(f"  CPU ms per analysed frame: decode {dec:.2f}, motion {c['motion']:.2f}, detector {c['detector']:.1f}, "
          f"tracker {c['tracker']:.2f}")
    print(f"  detector wall ms {c['detector_wall']:.1f} (CPU {c['detector']:.1f}) beside OpenCV DNN's bare forward "
          f"pass of the same network: wall {c['forward_wall']:.1f} (CPU {c['forward_ref']:.1f}) "
          f"→ pre/post-processing adds {c['detector_wall'] - c['forward_wall']:.1f} ms")
    for gate in (True, False):
        fps, share = capacity(8, gate, args.seconds, args.workers)
        # Decoding happens in each camera's reader thread, beside the analysis: it takes its share of the cores.
        per_cam_cpu = FPS * dec / 1000  # cores per camera for decoding
        analysed = fps / FPS
        cams = analysed / (1 + per_cam_cpu * analysed / args.workers)
        print(f"  motion gate {'on ' if gate else 'off'}: {fps:.1f} frames/s analysed, detector on {share:.0%} of "
              f"frames → {cams:.1f} cameras at {FPS} fps (decoding included)")


if __name__ == "__main__":
    main()
