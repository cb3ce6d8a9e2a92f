"""Which cameras a node should take or hand over, from the leases and the live nodes. Pure: every node runs the
same plan on the same catalog rows, and the catalog's conditional update settles any race (catalog/nodes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vigil.catalog.nodes import Lease


@dataclass(frozen=True)
class LeasePlan:
    take: list[str]  # free cameras this node should try to acquire
    hand_over: list[str]  # cameras this node should give up at the end of their current segment


def live_leases(leases: Sequence[Lease], now_ms: int) -> dict[str, Lease]:
    return {lease.camera_id: lease for lease in leases if lease.expires_ms > now_ms}


def plan_leases(me: str, cameras: Sequence[str], leases: Sequence[Lease], live_nodes: Sequence[str], now_ms: int,
                handing_over: int = 0) -> LeasePlan:
    """Free cameras go one by one to the least-loaded live node (ties: the lower node id), so a node that died
    has its cameras spread over the others. A node holding two or more cameras above the least-loaded one hands
    one over; nobody takes it from under it. `handing_over`: hand-overs of this node still under way (one at a
    time, so the cluster converges without a stampede)."""
    held = live_leases(leases, now_ms)
    nodes = sorted(set(live_nodes) | {me})
    load = {n: 0 for n in nodes}
    for lease in held.values():
        if lease.camera_id in cameras and lease.node_id in load:
            load[lease.node_id] += 1
    take = []
    for cam in sorted(c for c in cameras if c not in held):
        node = min(nodes, key=lambda n: (load[n], n))
        load[node] += 1
        if node == me:
            take.append(cam)
    hand_over: list[str] = []
    others = [load[n] for n in nodes if n != me]
    if not take and not handing_over and others and load[me] - min(others) >= 2:
        mine = sorted((lease.since_ms, lease.camera_id) for lease in held.values()
                      if lease.node_id == me and lease.camera_id in cameras)
        hand_over = [mine[-1][1]]  # the most recently taken: the others have been recording longest here
    return LeasePlan(take, hand_over)
