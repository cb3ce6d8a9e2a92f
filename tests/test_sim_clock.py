"""The sim camera stamps each picture with the instant it shows, as a real camera stamps its capture time.

The scripted scenes' ground truth is a function of the wall clock; if the RTP clock were a frame counter, a sim
held up by a busy machine would fall behind the wall clock for good, and every analytics assertion after the
stall would compare Vigil's (correct) times with pictures drawn seconds later."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from pathlib import Path

import av

from tests.helpers import Sim


def test_a_stalled_sim_keeps_its_rtp_clock_on_the_wall_clock(tmp_path: Path) -> None:
    sim = Sim(tmp_path, cameras=1, codecs="h264", size="320x180", sub="none", fps=15, scenes=("crossing",)).start()
    try:
        assert sim.proc is not None
        pid = sim.proc.pid
        with av.open(sim.url(1), options={"rtsp_transport": "tcp"}, timeout=10) as c:
            stream = c.streams.video[0]
            seen: list[tuple[float, float]] = []  # (arrival, pts) in seconds
            for pkt in c.demux(stream):
                if pkt.pts is None:
                    continue
                seen.append((time.monotonic(), float(pkt.pts * pkt.time_base)))
                if len(seen) == 30:
                    # The whole sim stops for 3 s, as a starved process would, while this reader goes on reading.
                    os.kill(pid, signal.SIGSTOP)
                    threading.Timer(3, os.kill, (pid, signal.SIGCONT)).start()
                if len(seen) >= 75:
                    break
    finally:
        sim.stop()
    # The stall happened (the first packets come at once: the sim sends the GOP so far to a new viewer)...
    assert max(b[0] - a[0] for a, b in itertools.pairwise(seen)) > 2.5
    # ...and the smallest offsets (arrival − stamp) before and after it agree: the stream's clock moved as far
    # as the wall clock did, so a receiver's clock stays anchored.
    before = min(a - p for a, p in seen[:29])
    after = min(a - p for a, p in seen[45:])
    assert abs(after - before) < 0.5, (before, after)
