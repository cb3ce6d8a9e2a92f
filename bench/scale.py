"""Scale-out benchmark: cameras per node, CPU and catalog write load as nodes are added (1, 2, 3 `vigil serve`
nodes on one PostgreSQL and one S3 server, on this machine), beside one plain Vigil (SQLite, local disk) recording
the same cameras in the same run; then the fail-over time over repeated kill -9.

Usage: python bench/scale.py [--cameras 12] [--seconds 30] [--kills 10]

Fail-over time = from the kill to the first segment of each of the dead node's cameras on another node (the
camera's recording restarts), with the lease, renewal and segment length of tests/scale.py. All the processes (sim,
PostgreSQL, S3, nodes) share the same 2 cores, so CPU per camera is pessimistic; the comparison is the point.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlalchemy import create_engine, text

from bench.record import cpu_now
from tests.helpers import Server, wait_for
from tests.scale import LEASE_S, RENEW_S, SEGMENT_S, Cluster, cluster
from vigil.clock import now_ms


def pg_counters(url: str) -> tuple[int, int]:
    """(transactions committed, rows written) in the catalog's database so far."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as c:
            c.execute(text("SELECT pg_stat_force_next_flush()"))
            row = c.execute(text("SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM "
                                 "pg_stat_database WHERE datname = current_database()")).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def reference(c: Cluster, seconds: float, tmp: Path) -> float:
    """CPU % of a core per camera for one plain Vigil (SQLite, local disk, no cluster) on the same cameras."""
    cams = [{"id": cam, "url": c.sim.url(i + 1), "record": {"segment_seconds": SEGMENT_S}}
            for i, cam in enumerate(c.cameras)]
    tmp.mkdir(parents=True, exist_ok=True)
    srv = Server(tmp, cams)
    srv.start()
    try:
        wait_for(lambda: all(x["state"] == "online" for x in srv.get("/api/cameras")), 60, what="cameras online")
        assert srv.proc is not None
        time.sleep(3)
        before = cpu_now(srv.proc.pid)
        time.sleep(seconds)
        return (cpu_now(srv.proc.pid) - before) / seconds * 100 / len(c.cameras)
    finally:
        srv.stop()


def measure(c: Cluster, seconds: float) -> dict[str, float | str]:
    pids = {name: s.proc.pid for name, s in c.nodes.items() if s.proc is not None and s.proc.poll() is None}
    cpu0 = {n: cpu_now(p) for n, p in pids.items()}
    commits0, rows0 = pg_counters(c.db)
    t0 = now_ms()
    time.sleep(seconds)
    commits1, rows1 = pg_counters(c.db)
    cpu = {n: (cpu_now(p) - cpu0[n]) / seconds * 100 for n, p in pids.items()}
    segs = sum(1 for rows in c.segments().values() for s in rows if s.start_ms >= t0)
    load = c.load()
    return {
        "cameras per node": " / ".join(str(load.get(n, 0)) for n in sorted(pids)),
        "CPU % per camera": f"{sum(cpu.values()) / len(c.cameras):.2f}",
        "CPU % per node": " / ".join(f"{cpu[n]:.0f}" for n in sorted(pids)),
        "catalog commits/s": f"{(commits1 - commits0) / seconds:.1f}",
        "catalog rows written/s": f"{(rows1 - rows0) / seconds:.1f}",
        "segments started/s": f"{segs / seconds:.2f}",
    }


def fail_overs(c: Cluster, kills: int) -> list[float]:
    times: list[float] = []
    names = sorted(c.nodes)
    for k in range(kills):
        victim = names[k % len(names)]
        moved = [cam for cam, node in c.holders().items() if node == victim]
        t_kill = now_ms()
        c.nodes[victim].kill9()

        def taken(moved: list[str] = moved, victim: str = victim, t_kill: int = t_kill) -> dict[str, int] | None:
            segs = c.segments()
            first = {}
            for cam in moved:
                new = [s.start_ms for s in segs[cam] if s.node_id != victim and s.start_ms > t_kill]
                if not new:
                    return None
                first[cam] = min(new)
            return first

        first = wait_for(taken, 60, interval=0.25, what="the dead node's cameras recorded elsewhere")
        worst = max(first.values()) - t_kill
        times.append(worst / 1000)
        print(f"  kill {k + 1}: {victim} ({len(moved)} cameras) → recording elsewhere after {worst / 1000:.1f} s")
        c.nodes[victim].start()
        share = len(c.cameras) // len(names)
        c.wait_spread({n: share for n in names}, 120)
        c.wait_online(60)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--kills", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, cluster(Path(d), None, cameras=args.cameras) as c:
        ref = reference(c, args.seconds, Path(d) / "reference")
        print(f"\nreference: one plain Vigil (SQLite, local disk) recording {args.cameras} cameras "
              f"(640x360 H.264 15 fps): {ref:.2f} % of a core per camera")
        rows = []
        for n in (1, 2, 3):
            c.node(f"n{n}").start()
            share = args.cameras // n
            want = {f"n{i}": share + (1 if i <= args.cameras % n else 0) for i in range(1, n + 1)}
            wait_for(lambda want=want: sorted(c.load().values()) == sorted(want.values()), 120, interval=0.5,
                     what=f"{args.cameras} cameras spread over {n} nodes")
            c.wait_online(60)
            time.sleep(4)
            rows.append((n, measure(c, args.seconds)))
        keys = list(rows[0][1])
        print(f"\n{'nodes':>5}  " + "  ".join(f"{k:>22}" for k in keys))
        for n, m in rows:
            print(f"{n:>5}  " + "  ".join(f"{m[k]:>22}" for k in keys))
        print(f"\nfail-over over {args.kills} kills (lease {LEASE_S:g} s, renewed every {RENEW_S:g} s):")
        times = fail_overs(c, args.kills)
        p90 = sorted(times)[math.ceil(0.9 * len(times)) - 1]  # nearest rank
        print(f"fail-over time: min {min(times):.1f} s, median {statistics.median(times):.1f} s, "
              f"p90 {p90:.1f} s, max {max(times):.1f} s (goal ≤ 15 s)")


if __name__ == "__main__":
    main()
