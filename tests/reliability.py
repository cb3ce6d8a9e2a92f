"""The reliability routines of issue 10, shared by the short tests (`make test`) and the long soaks (`make soak`,
bench/soak.py): the same code, run longer. Each returns its figures; the callers assert or print them."""

from __future__ import annotations

import functools
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import av
import httpx

from tests.flap_proxy import FlapProxy
from tests.helpers import Server, wait_for
from vigil.errors import SegmentError


def _segments(db: Path) -> list[tuple[str, str, str, int, int]]:
    with sqlite3.connect(db) as c:
        return c.execute("select camera_id, path, status, start_ms, end_ms from segments order by start_ms").fetchall()


def _recording_again(server: Server, cameras: list[str], before: set[str]) -> bool:
    """Every camera has a whole fragment on disk in a segment begun since `before` was taken (a closed one, or the
    open one). Not "every open segment at once": cameras cut segments at their own moments (a native camera starts
    a GOP earlier than an FFmpeg one), and an open segment holds no fragment for its first GOP."""
    from vigil.media.fmp4 import scan_segment

    done = set()
    for c, p, status, _a, _b in _segments(server.db):
        if p in before:
            continue
        try:
            if status == "closed" or scan_segment(server.storage / p).fragments:
                done.add(c)
        except SegmentError:
            continue
    return all(c in done for c in cameras)


def _decodes(path: Path) -> int:
    """Frames decoded from the whole file; raises if any part does not decode."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def check_storage(server: Server, checked: set[str]) -> dict[str, Any]:
    """Every segment file is indexed, every index row has its file, every (new) segment decodes."""
    # Files first: the recorder writes a segment's row before its file, so a segment opening meanwhile has both.
    on_disk = {str(p.relative_to(server.storage)) for p in server.storage.rglob("*.mp4")}
    rows = _segments(server.db)
    indexed = {r[1] for r in rows}
    closed = {r[1] for r in rows if r[2] == "closed"}
    assert on_disk <= indexed and closed <= on_disk, {"files without a row": sorted(on_disk - indexed)[:5],
                                                      "rows without a file": sorted(closed - on_disk)[:5]}
    frames = 0
    for _cam, path, status, start, end in rows:
        if path in checked or status != "closed":
            continue
        n = _decodes(server.storage / path)
        assert n > 0 or end - start < 1000, f"{path} ({end - start} ms) decodes to no picture"
        frames += n
        checked.add(path)
    return {"segments": len(rows), "decoded_frames": frames}


def crash_loop(server: Server, cameras: list[str], cycles: int, gop_ms: int, seed: int = 1,
               log: Any = print) -> dict[str, Any]:
    """`cycles` times: record, kill -9 at a random moment, start again. After each start (recovery runs before the
    API answers) the storage is checked, and the video lost at the crash is measured per camera: the kill time
    minus the end of that camera's last recovered segment."""
    rng = random.Random(seed)
    checked: set[str] = set()
    losses: list[int] = []
    server.start()
    wait_for(lambda: all(c["state"] == "online" for c in server.get("/api/cameras")), 40, what="cameras online")
    before: set[str] = set()
    for cycle in range(cycles):
        # Once every camera has a whole GOP on disk since the restart (a loaded machine can take a while to get
        # there), anywhere in the next seconds.
        wait_for(lambda: all(c["state"] == "online" for c in server.get("/api/cameras")), 40,
                 what="cameras online")
        wait_for(functools.partial(_recording_again, server, cameras, before), 40, interval=0.1,
                 what="a whole GOP on disk")
        time.sleep(rng.uniform(0.5, 6.0))
        t_kill = int(time.time() * 1000)
        server.kill9()
        server.start()
        figures = check_storage(server, checked)
        rows = _segments(server.db)
        before = {p for _, p, _s, _a, _b in rows}
        for cam in cameras:
            ends = [end for c, _, status, start, end in rows if c == cam and start < t_kill and status == "closed"]
            assert ends, f"{cam}: nothing recorded before crash {cycle + 1}"
            losses.append(t_kill - max(ends))
        log(f"crash {cycle + 1}/{cycles}: {figures['segments']} segments, lost {losses[-len(cameras):]} ms")
    server.stop()
    check_storage(server, checked)
    return {"cycles": cycles, "lost_ms_max": max(losses), "lost_ms_median": sorted(losses)[len(losses) // 2],
            "segments_checked": len(checked)}


def flapping(server: Server, proxy: FlapProxy, flaps: int, log: Any = print) -> dict[str, Any]:
    """Cut the cameras' connections `flaps` times in all (round the cameras, each once it has streamed a little)
    and compare what `vigil serve` holds after a warm-up with what it holds at the end."""
    n = len(proxy.ports)

    def process() -> dict[str, Any]:
        return dict(server.get("/api/system/process"))

    def flap(count: int) -> None:
        done = 0
        deadline = time.monotonic() + 60 + count * 3
        while done < count:
            assert time.monotonic() < deadline, f"{done} of {count} flaps in time: cameras do not come back"
            for i in range(n):
                if done < count and proxy.streaming(i, 0.6, 20_000):
                    proxy.cut(i)
                    done += 1
            time.sleep(0.05)

    wait_for(lambda: all(proxy.streaming(i, 0.5, 1) for i in range(n)), 60, what="every camera streaming")
    warm = max(n * 2, flaps // 10)
    flap(warm)
    time.sleep(3)
    start = process()
    t0 = time.monotonic()
    flap(flaps - warm)
    seconds = time.monotonic() - t0
    # Back to the steady state: every camera recording again.
    wait_for(lambda: all(c["state"] == "online" for c in server.get("/api/cameras")), 30, what="cameras online")
    time.sleep(3)
    end = process()
    # A camera still finishing its reconnect holds a socket or file for a moment: give the counts up to 10 s
    # to come back (a leak, one per flap, never does).
    settle = time.monotonic() + 10
    while time.monotonic() < settle and any(end[k] > start[k] + 4 for k in ("open_fds", "threads", "tasks")):
        time.sleep(0.5)
        end = process()
    log(f"flaps {flaps} in {seconds:.0f} s; start {start}; end {end}")
    return {"flaps": flaps, "warm_up": warm, "seconds": round(seconds), "start": start, "end": end}


def api_p95(base: str, headers: dict[str, str], paths: list[str], seconds: float) -> dict[str, Any]:
    """Requests in a loop for `seconds`; their latencies."""
    times: list[float] = []
    errors = 0
    failed: list[str] = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        i = 0
        while time.monotonic() < end:
            t = time.perf_counter()
            r = c.get(paths[i % len(paths)])
            times.append((time.perf_counter() - t) * 1000)
            if r.status_code >= 400:
                errors += 1
                if len(failed) < 5:
                    failed.append(f"{r.status_code} {paths[i % len(paths)]}: {r.text[:200]}")
            i += 1
    times.sort()
    return {"requests": len(times), "errors": errors, "p50_ms": round(times[len(times) // 2], 1),
            "p95_ms": round(times[int(len(times) * 0.95)], 1), "failed": failed}


def _viewer(url: str, until: float, got: dict[str, int]) -> None:
    from websockets.sync.client import connect

    while time.monotonic() < until:
        try:
            with connect(url, open_timeout=10, max_size=None) as ws:
                while time.monotonic() < until:
                    msg = ws.recv(timeout=10)
                    if isinstance(msg, bytes):
                        got["bytes"] += len(msg)
        except Exception:  # a viewer reconnects, as a browser would; counted
            got["reconnects"] += 1
            time.sleep(0.5)


def load(server: Server, cameras: list[str], fps: int, viewers: int, seconds: float, log: Any = print
         ) -> dict[str, Any]:
    """Recording `cameras`, with `viewers` live WebSocket viewers and two clients asking for playback, search,
    events and recordings without pause, for `seconds`. Figures: API latency, what the viewers got, and per camera
    the pictures recorded in the window against the camera's frame rate (dropped packets show as missing ones)."""
    import threading

    token = server.headers["Authorization"].split()[1]
    wait_for(lambda: all(c["state"] == "online" for c in server.get("/api/cameras")), 90, what="cameras online")
    time.sleep(5)  # past the first segments
    t0_ms = int(time.time() * 1000)
    until = time.monotonic() + seconds
    seen = [{"bytes": 0, "reconnects": 0} for _ in range(viewers)]
    threads = [threading.Thread(target=_viewer, args=(
        f"ws://127.0.0.1:{server.port}/api/cameras/{cameras[i % len(cameras)]}/live?token={token}", until, seen[i]))
        for i in range(viewers)]
    results: list[dict[str, Any]] = [{}, {}]

    def asker(k: int) -> None:
        paths = []
        for cam in cameras[k::2]:
            paths += [f"/api/cameras/{cam}/recordings?start={t0_ms - 60_000}",
                      f"/api/search?camera={cam}&start={t0_ms - 3_600_000}&limit=50",
                      f"/api/cameras/{cam}/playback.mp4?start={t0_ms - 1000}&end={t0_ms + 3000}",
                      "/api/events?limit=50", "/api/cameras", "/api/storage"]
        results[k] = api_p95(server.base, server.headers, paths, seconds)

    askers = [threading.Thread(target=asker, args=(k,)) for k in range(2)]
    for t in threads + askers:
        t.start()
    for t in threads + askers:
        t.join(seconds + 60)
    t1_ms = t0_ms + int(seconds * 1000)
    time.sleep(2)
    frames: dict[str, float] = {}
    for cam in cameras:
        n = 0
        for c_id, path, _, start, end in _segments(server.db):
            if c_id != cam or end < t0_ms or start > t1_ms:
                continue
            with av.open(str(server.storage / path)) as c:
                v = c.streams.video[0]
                first = None
                for p in c.demux(v):
                    if p.pts is None or not p.size:
                        continue
                    first = p.pts if first is None else first
                    t = start + float((p.pts - first) * v.time_base) * 1000
                    n += t0_ms <= t < t1_ms
        frames[cam] = round(n / (seconds * fps), 4)
    lat = sorted([results[0], results[1]], key=lambda r: r.get("p95_ms", 0))[-1]
    out = {"cameras": len(cameras), "viewers": viewers, "seconds": seconds, "api": results,
           "api_p95_ms": lat.get("p95_ms"), "viewer_bytes_min": min(v["bytes"] for v in seen),
           "viewer_reconnects": sum(v["reconnects"] for v in seen), "recorded_share_min": min(frames.values()),
           "recorded_share": frames}
    log(out)
    return out

