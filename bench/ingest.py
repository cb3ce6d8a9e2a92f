"""Ingest benchmark (issue 22): CPU per stream-second to read cameras' RTSP streams down to whole access units —
Vigil's native client and depacketizer (a reader thread a camera, as the recorder reads; and through one asyncio
loop) beside FFmpeg's RTSP demuxer (PyAV, `ingest: ffmpeg`), on the same simulated 1080p H.264 4 Mb/s cameras,
one after the other, in the same run. Writing is not measured: this
says what the reading half of native ingest costs.

Usage: python bench/ingest.py [--streams 8] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.helpers import Sim
from vigil.media.depacketize import VideoDepacketizer
from vigil.media.rtsp_client import BlockingReader, RtspClient, RtspError


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def native(urls: list[str], seconds: float) -> tuple[float, int]:
    """CPU seconds of this process over `seconds` of reading every URL at once, and access units made."""
    clients = [RtspClient(u, tracks=("video",)) for u in urls]
    for c in clients:
        await c.open()
    units = [0]

    async def read(c: RtspClient) -> None:
        d = VideoDepacketizer(c.tracks[0].media.codec or "h264")
        with contextlib.suppress(RtspError):  # the sim stops first at the end
            async for batch in c.frames():
                units[0] += len(d.push_many(data for _, data in batch))

    tasks = [asyncio.create_task(read(c)) for c in clients]
    await asyncio.sleep(2)  # steady state
    c0, n0 = cpu(), units[0]
    await asyncio.sleep(seconds)
    used, made = cpu() - c0, units[0] - n0
    for t in tasks:
        t.cancel()
    for c in clients:
        await c.close()
    return used, made


def measure_threads(read: Callable[[int, str], None], urls: list[str], counts: list[int], stop: threading.Event,
                    seconds: float) -> tuple[float, int]:
    """CPU seconds used and pictures read in `seconds`, a thread a camera running `read(i, url)` (after 2 s to
    connect)."""
    threads = [threading.Thread(target=read, args=(i, u), daemon=True) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    time.sleep(2)
    c0, n0 = cpu(), sum(counts)
    time.sleep(seconds)
    used, made = cpu() - c0, sum(counts) - n0
    stop.set()
    for t in threads:
        t.join(5)
    return used, made


def native_threads(urls: list[str], seconds: float) -> tuple[float, int]:
    """The same as the recorder reads: a thread a camera, the connection read with `BlockingReader`."""
    stop = threading.Event()
    counts = [0] * len(urls)

    def read(i: int, url: str) -> None:
        loop = asyncio.new_event_loop()
        client = RtspClient(url, tracks=("video",))
        loop.run_until_complete(client.open())
        reader = BlockingReader(client)
        d = VideoDepacketizer(client.tracks[0].media.codec or "h264")
        with contextlib.suppress(RtspError):
            while not stop.is_set():
                counts[i] += len(d.push_many(data for _, data in reader.batch()))
        reader.close()
        loop.run_until_complete(client.close())
        loop.close()

    return measure_threads(read, urls, counts, stop, seconds)


def ffmpeg(urls: list[str], seconds: float) -> tuple[float, int]:
    """The same with FFmpeg's RTSP demuxer (PyAV), one thread a camera as the recorder reads them."""
    stop = threading.Event()
    counts = [0] * len(urls)

    def read(i: int, url: str) -> None:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as c:
            for packet in c.demux(c.streams.video[0]):
                counts[i] += bool(packet.size)
                if stop.is_set():
                    return

    return measure_threads(read, urls, counts, stop, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Sim(Path(tmp), cameras=a.streams, codecs="h264", size="1920x1080", sub="none", loop_seconds=10).start()
        try:
            urls = [sim.url(i) for i in range(1, a.streams + 1)]
            looped, looped_units = asyncio.run(native(urls, a.seconds))
            ours, our_units = native_threads(urls, a.seconds)
            theirs, their_units = ffmpeg(urls, a.seconds)
        finally:
            sim.stop()
    stream_s = a.streams * a.seconds
    print(f"{a.streams} sim cameras, 1080p H.264 4 Mb/s, {a.seconds:g} s each way (reading only, no writing):")
    print(f"  native, a reader thread each  {ours / stream_s * 1000:.1f} ms CPU per stream-second "
          f"({our_units / stream_s:.1f} pictures/s per stream; what the recorder does)")
    print(f"  native, one asyncio loop      {looped / stream_s * 1000:.1f} ms CPU per stream-second "
          f"({looped_units / stream_s:.1f} pictures/s per stream)")
    print(f"  FFmpeg RTSP demuxer (PyAV)    {theirs / stream_s * 1000:.1f} ms CPU per stream-second "
          f"({their_units / stream_s:.1f} pictures/s per stream)")
    print(f"  ratio                         {ours / theirs:.2f}× FFmpeg")


if __name__ == "__main__":
    main()
