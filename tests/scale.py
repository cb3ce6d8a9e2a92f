"""A scale-out cluster on loopback for the tests and bench/scale.py: PostgreSQL, an S3 server, sim cameras and N
`vigil serve` nodes sharing them, with the measurements read from the shared catalog."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import Server, Sim, running, wait_for
from tests.services import fresh_database, postgres_server, s3_server
from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog

SEGMENT_S = 3.0
LEASE_S = 6.0
RENEW_S = 1.5


@dataclass
class Cluster:
    tmp: Path
    sim: Sim
    db: str
    s3: str
    cameras: list[str]
    nodes: dict[str, Server] = field(default_factory=dict)

    def node(self, name: str) -> Server:
        if name not in self.nodes:
            d = self.tmp / name
            d.mkdir(parents=True, exist_ok=True)
            cams = [{"id": c, "url": self.sim.url(i + 1), "record": {"segment_seconds": SEGMENT_S}}
                    for i, c in enumerate(self.cameras)]
            self.nodes[name] = Server(
                d, cams, catalog={"url": self.db, "key_file": str(self.tmp / "vigil.key")},
                storage={"s3": {"bucket": "vigil", "endpoint_url": self.s3, "access_key": "test",
                                "secret_key": "test"}},
                cluster={"enabled": True, "node_id": name, "lease_seconds": LEASE_S, "renew_seconds": RENEW_S},
                # An external alarm gets the camera's picture attached (the buzzer is only a log line here).
                alarms={"linkage": [{"types": ["external"], "buzzer": True, "min_interval_seconds": 0}]},
            )
        return self.nodes[name]

    def catalog(self) -> Catalog:
        return Catalog(self.db)

    def holders(self) -> dict[str, str]:
        """camera -> node, from the live leases."""
        from vigil.catalog.nodes import leases
        from vigil.clock import now_ms

        cat = self.catalog()
        try:
            now = now_ms()
            return {x.camera_id: x.node_id for x in leases(cat) if x.expires_ms > now}
        finally:
            cat.close()

    def load(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.holders().values():
            out[node] = out.get(node, 0) + 1
        return out

    def segments(self) -> dict[str, list[SegmentRow]]:
        cat = self.catalog()
        try:
            out: dict[str, list[SegmentRow]] = {c: [] for c in self.cameras}
            for s in cat.segments():
                out.setdefault(s.camera_id, []).append(s)
            return out
        finally:
            cat.close()

    def wait_spread(self, want: dict[str, int], timeout: float) -> dict[str, str]:
        wait_for(lambda: self.load() == want, timeout, interval=0.5, what=f"cameras spread as {want}")
        return self.holders()

    def wait_online(self, timeout: float) -> None:
        """Every camera recording: an open segment on its holder."""
        def ok() -> bool:
            held = self.holders()
            segs = self.segments()
            return len(held) == len(self.cameras) and all(
                any(s.status == "open" and s.node_id == held[c] for s in segs[c]) for c in self.cameras)
        wait_for(ok, timeout, interval=0.5, what="every camera recording on its holder")


@contextlib.contextmanager
def cluster(tmp: Path, pg_url: str | None, cameras: int = 9, fps: int = 15) -> Iterator[Cluster]:
    """PostgreSQL (the given server, or one of its own), moto's S3 and a sim; nodes are started by the caller."""
    with contextlib.ExitStack() as stack:
        if pg_url is None:
            pg_url = stack.enter_context(postgres_server(tmp / "pg"))
        db = fresh_database(pg_url, f"cluster_{int(time.time() * 1000) % 10**9}")
        s3 = stack.enter_context(s3_server(tmp))
        sim = Sim(tmp, cameras=cameras, codecs="h264", size="640x360", sub="none", fps=fps, gop=1.0,
                  loop_seconds=4.0)
        stack.enter_context(running(sim))
        c = Cluster(tmp, sim, db, s3, [f"cam{i}" for i in range(1, cameras + 1)])
        try:
            yield c
        finally:
            for server in c.nodes.values():
                server.stop()


def overlaps(segs: list[SegmentRow]) -> list[tuple[SegmentRow, SegmentRow]]:
    """Consecutive rows of one camera that overlap in time: by more than 100 ms on one node (the clock
    estimate's rounding), by more than a few ms between two nodes. At a hand-over the new node starts on the
    keyframe the old one closed its last segment at (the camera sends it again), and each node dates it by its
    own clock estimate: one CI run saw the same picture at 941 067 on one node and 941 066 on the other. Two
    nodes recording at once would overlap by at least a whole picture (67 ms at the cluster sim's 15 fps), so
    up to half of one is the clocks' disagreement."""
    rows = sorted((s for s in segs if s.status == "closed"), key=lambda s: s.start_ms)
    out = []
    for a, b in itertools.pairwise(rows):
        slack = 100 if a.node_id == b.node_id else 30
        if a.end_ms > b.start_ms + slack:
            out.append((a, b))
    return out


def handover_gap(segs: list[SegmentRow], old: str, new: str, after_ms: int) -> tuple[int, SegmentRow, SegmentRow]:
    """(gap ms, last row of `old`, first row of `new` after after_ms) at a camera's move between nodes."""
    first = min((s for s in segs if s.node_id == new and s.start_ms > after_ms), key=lambda s: s.start_ms)
    last = max((s for s in segs if s.node_id == old and s.start_ms < first.start_ms), key=lambda s: s.start_ms)
    end = last.end_ms if last.status == "closed" else last.start_ms
    return first.start_ms - end, last, first
