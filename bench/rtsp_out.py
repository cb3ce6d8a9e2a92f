"""RTSP out benchmark: what re-streaming a camera to N clients costs `vigil serve`, beside ffmpeg doing the
same relay work in the same run.

Usage: python bench/rtsp_out.py [--clients 8] [--seconds 20]

One 1080p25 H.264 sim camera (4 Mbit/s) recorded by `vigil serve`. The CPU time of the Vigil process (from
/proc, user + system) is measured over the same window with no RTSP client, then with N clients reading
rtsp://…/<camera> (ffmpeg processes, `-c copy` to null). Reference, same run: N `ffmpeg -c copy` readers
pulling the camera directly, i.e. what a relay costs when each client is its own ffmpeg remux.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import contextlib

from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def readers(url: str, n: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(["ffmpeg", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-c", "copy",
                              "-f", "null", "-"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def measure(pid: int, seconds: float) -> float:
    """Percent of one core used by `pid` over `seconds`."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def stop(procs: list[subprocess.Popen[bytes]]) -> float:
    """Stop the readers; their own CPU seconds in all."""
    total = 0.0
    for p in procs:
        with contextlib.suppress(FileNotFoundError):
            total += cpu_seconds(p.pid)
        p.terminate()
    for p in procs:
        p.wait(10)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-rtsp-"))
    sim = Sim(tmp, cameras=1, codecs="h264", size="1920x1080", sub="none", loop_seconds=10).start()
    server = Server(tmp, [{"id": "cam", "url": sim.url(1), "record": {"segment_seconds": 60}}]).start()
    try:
        assert server.proc is not None
        pid = server.proc.pid
        wait_for(lambda: server.get("/api/cameras/cam")["state"] == "online", 30, what="the camera")
        time.sleep(3)
        base = measure(pid, args.seconds)
        url = f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{server.rtsp_port}/cam"
        clients = readers(url, args.clients)
        time.sleep(3)  # connected, past the first GOP
        alive = sum(p.poll() is None for p in clients)
        loaded = measure(pid, args.seconds)
        client_cpu = stop(clients)
        direct = readers(sim.url(1), args.clients)
        time.sleep(3)
        c0 = sum(cpu_seconds(p.pid) for p in direct)
        time.sleep(args.seconds)
        ref = (sum(cpu_seconds(p.pid) for p in direct) - c0) / args.seconds * 100
        stop(direct)
        extra = loaded - base
        print(f"vigil serve recording one 1080p25 H.264 camera, {args.seconds:.0f} s windows (this machine):")
        print(f"  no RTSP client: {base:.2f} % of one core")
        print(f"  {alive} RTSP-out clients: {loaded:.2f} % — {extra:+.2f} % for all, {extra / max(1, alive):.3f} % "
              "per client (goal: 8 clients < 5 %)")
        print(f"  reference, same run: {args.clients} `ffmpeg -c copy` readers of the camera itself use {ref:.2f} % "
              f"of one core between them ({ref / args.clients:.2f} % each); the clients above used "
              f"{client_cpu:.1f} CPU-s in all")
    finally:
        server.stop()
        sim.stop()


if __name__ == "__main__":
    main()
