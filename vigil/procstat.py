"""This process's memory, open files and threads, read from /proc (Linux) without a dependency."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

_STARTED = time.monotonic()


def process_figures() -> dict[str, Any]:
    """rss_bytes, open_fds and threads count what the kernel sees: FFmpeg's and ONNX Runtime's own threads too."""
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * page
        fds = len(os.listdir("/proc/self/fd"))
        with open("/proc/self/status") as f:
            threads = next(int(line.split()[1]) for line in f if line.startswith("Threads:"))
    except (OSError, StopIteration):  # not Linux: what the standard library knows
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        fds, threads = -1, threading.active_count()
    return {"pid": os.getpid(), "uptime_s": round(time.monotonic() - _STARTED, 1), "rss_bytes": rss,
            "open_fds": fds, "threads": threads}
