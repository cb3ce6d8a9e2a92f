"""The lease planner (pure): spreading cameras, taking a dead node's share, rebalancing when a node joins."""

from __future__ import annotations

from vigil.cluster.plan import Lease, plan_leases

LEASE = 10_000
CAMS = [f"cam{i}" for i in range(1, 10)]


def simulate(nodes: list[str], leases: dict[str, Lease], now: int, rounds: int = 40) -> list[dict[str, Lease]]:
    """Nodes run their rounds in turn; a hand-over completes in the node's next round. Returns each round's leases."""
    handing: dict[str, str] = {}
    history = []
    for r in range(rounds):
        for node in nodes:
            t = now + r * 2_000
            if node in handing:  # the segment ended: the lease is given back
                leases.pop(handing.pop(node))
            for cam, lease in list(leases.items()):
                if lease.node_id == node:
                    leases[cam] = Lease(cam, node, lease.since_ms, t + LEASE)
            p = plan_leases(node, CAMS, list(leases.values()), nodes, t, int(node in handing))
            for cam in p.take:
                if cam not in leases or leases[cam].expires_ms <= t:  # the catalog's conditional update
                    leases[cam] = Lease(cam, node, t, t + LEASE)
            for cam in p.hand_over:
                handing[node] = cam
            history.append(dict(leases))
    return history


def load(leases: dict[str, Lease]) -> dict[str, int]:
    out: dict[str, int] = {}
    for lease in leases.values():
        out[lease.node_id] = out.get(lease.node_id, 0) + 1
    return out


def test_nine_cameras_spread_three_three_three() -> None:
    history = simulate(["a", "b", "c"], {}, 0, rounds=3)
    assert load(history[-1]) == {"a": 3, "b": 3, "c": 3}


def test_a_dead_nodes_cameras_go_to_the_least_loaded_after_expiry() -> None:
    leases = {c: Lease(c, "abc"[i // 3], 0, LEASE) for i, c in enumerate(CAMS)}
    p = plan_leases("b", CAMS, list(leases.values()), ["b", "c"], LEASE - 1)
    assert p.take == [] and p.hand_over == [], "a's leases are still valid: nobody touches them"
    # a is silent; b and c renewed theirs
    leases.update({c: Lease(c, lease.node_id, 0, 3 * LEASE) for c, lease in leases.items() if lease.node_id != "a"})
    take_b = plan_leases("b", CAMS, list(leases.values()), ["b", "c"], LEASE + 1).take
    take_c = plan_leases("c", CAMS, list(leases.values()), ["b", "c"], LEASE + 1).take
    assert sorted(take_b + take_c) == ["cam1", "cam2", "cam3"] and not set(take_b) & set(take_c)
    assert {len(take_b), len(take_c)} == {1, 2}


def test_a_returning_node_gets_its_share_by_hand_over_never_by_taking() -> None:
    leases = {c: Lease(c, "b" if i < 5 else "c", i, 10 * LEASE) for i, c in enumerate(CAMS)}
    p = plan_leases("a", CAMS, list(leases.values()), ["a", "b", "c"], 1_000)
    assert p.take == [] and p.hand_over == [], "a takes nothing that is held"
    p = plan_leases("b", CAMS, list(leases.values()), ["a", "b", "c"], 1_000)
    assert p.hand_over == ["cam5"], "b (5) hands over its newest camera to let a (0) have it"
    assert plan_leases("b", CAMS, list(leases.values()), ["a", "b", "c"], 1_000, handing_over=1).hand_over == []

    history = simulate(["a", "b", "c"], leases, 1_000)
    assert load(history[-1]) == {"a": 3, "b": 3, "c": 3}
    for snapshot in history:  # one holder per camera at every step, and nothing idle at the end
        assert len(snapshot) <= len(CAMS)
    assert set(history[-1]) == set(CAMS)
