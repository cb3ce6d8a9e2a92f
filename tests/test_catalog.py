"""The catalog's queries on both backends: each test here runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from vigil.catalog import login_failures, nodes
from vigil.catalog.accounts import add_user, issue, resolve, set_user, verify
from vigil.catalog.rows import EventRow, SegmentRow
from vigil.catalog.search import SearchQuery, search
from vigil.catalog.store import Catalog
from vigil.catalog.tags import add_tag, find_tags
from vigil.errors import ConfigError


@pytest.fixture
def catalog(catalog_url: str) -> Catalog:
    cat = Catalog(catalog_url, node_id="node-a")
    cat.migrate()
    cat.migrate()  # a second node starting on a migrated catalog finds nothing to do
    return cat


def test_segments_rows_and_where_their_bytes_are(catalog: Catalog) -> None:
    a = catalog.open_segment("cam1", 1_000, "cam1/x/1000.mp4", "h264", 1920, 1080)
    catalog.close_segment(a, 1_010, 5_000, 123_456, [(0, 100), (2_000, 60_000)])
    b = catalog.open_segment("cam1", 5_000, "cam1/x/5000.mp4", "h264", 1920, 1080)
    other = Catalog(catalog.url, node_id="node-b")
    c = other.add_segment(SegmentRow(0, "cam2", 2_000, 6_000, 10, "cam2/x/2000.mp4", "hevc", 640, 360), [(0, 0)])

    rows = {s.id: s for s in catalog.segments()}
    assert rows[a].status == "closed" and (rows[a].start_ms, rows[a].end_ms, rows[a].bytes) == (1_010, 5_000, 123_456)
    assert rows[a].node_id == "node-a" and rows[a].stored == "local" and rows[c].node_id == "node-b"
    assert catalog.keyframes(a) == [(0, 100), (2_000, 60_000)]
    assert [s.id for s in catalog.segments(status="open", local_only=True)] == [b]
    assert [s.id for s in catalog.segments(local_only=True)] == [a, b]
    assert [s.id for s in other.segments(local_only=True)] == [c]
    assert [s.id for s in catalog.segments("cam1", 4_000, 4_500)] == [a]

    assert catalog.set_stored(a, "s3")
    assert catalog.segments_by_id([a])[0].stored == "s3"
    assert [s.id for s in catalog.segments(local_only=True)] == [b], "a segment in the bucket is no node's"
    spans = catalog.segment_spans("cam1", 0, 10_000)
    assert [s.id for s in spans] == [a, b] and spans[1].end_ms > 5_000, "the open segment counts up to now"
    catalog.delete_segments([a])
    assert not catalog.set_stored(a, "s3"), "a deleted row says so"
    summary = {cam: (n, size) for cam, n, size, _a, _z in catalog.storage_summary()}
    assert summary == {"cam1": (1, 0), "cam2": (1, 10)}


def test_events_filters_and_updates(catalog: Catalog) -> None:
    e1 = catalog.add_event("tripwire", "crossed", camera_id="cam1", severity="alarm", start_ms=1_000,
                           label="person", rule_id="line-a", attributes={"upper_color": "red"})
    catalog.add_event("motion", "moved", camera_id="cam2", start_ms=2_000)
    catalog.add_event("disk_low", "full", start_ms=3_000)
    assert catalog.update_event(e1.id, end_ms=1_500, details={"n": 2}) is not None
    got = catalog.event(e1.id)
    assert got is not None and got.end_ms == 1_500 and got.details["n"] == 2 and got.upper_color == "red"

    def found(**q: Any) -> list[EventRow]:
        return search(catalog, SearchQuery(**q)).hits

    assert [e.type for e in found(limit=10)] == ["disk_low", "motion", "tripwire"]
    assert [e.id for e in found(cameras=("cam1",))] == [e1.id]
    assert [e.type for e in found(labels=("person",))] == ["tripwire"]
    assert [e.type for e in found(start_ms=1_500, end_ms=2_500)] == ["motion"]
    assert [e.type for e in found(cameras=("cam2",))] == ["motion"]
    with pytest.raises(ValueError, match="unknown event attributes"):
        catalog.add_event("x", "y", attributes={"shoe_size": "44"})


def test_settings_users_sessions_and_tags(catalog: Catalog) -> None:
    catalog.set_setting("armed", True)
    catalog.set_setting("armed", {"since": 5})
    assert catalog.get_setting("armed") == {"since": 5} and catalog.get_setting("nope", 7) == 7
    add_user(catalog, "ann", "a-long-password", "operator")
    with pytest.raises(ConfigError):
        add_user(catalog, "ann", "another-password", "viewer")
    set_user(catalog, "ann", cameras=["cam1"])
    user = verify(catalog, "ann", "a-long-password")
    assert user is not None and user.role == "operator" and user.cameras == ["cam1"]
    assert verify(catalog, "ann", "wrong-password") is None
    token = issue(catalog, "ann", "token", "ci")
    found = resolve(catalog, token, "token")
    assert found is not None and found.username == "ann"
    assert resolve(catalog, token + "x", "token") is None
    tag = add_tag(catalog, "cam1", 1_000, 2_000, "delivery van", "ann")
    assert [t.id for t in find_tags(catalog, "cam1")] == [tag.id]


def test_a_lease_goes_to_one_node_only(catalog: Catalog) -> None:
    lease_ms = 10_000
    assert nodes.acquire(catalog, "cam1", "node-a", 1_000, lease_ms)
    assert not nodes.acquire(catalog, "cam1", "node-b", 2_000, lease_ms), "held until it expires"
    assert nodes.renew(catalog, "node-a", 5_000, lease_ms) == {"cam1"}
    assert not nodes.acquire(catalog, "cam1", "node-b", 14_000, lease_ms), "renewed: expires at 15 s now"
    assert nodes.acquire(catalog, "cam1", "node-b", 15_001, lease_ms), "expired: the next node takes it"
    assert nodes.renew(catalog, "node-a", 15_002, lease_ms) == set(), "node-a has lost it"
    nodes.release(catalog, "node-b", ["cam1"])
    assert nodes.leases(catalog) == []

    nodes.heartbeat(catalog, "node-a", "http://a", 1, 2, {"online": 1})
    nodes.heartbeat(catalog, "node-a", "http://a", 1, 3, {"online": 2})
    assert [(n.id, n.seen_ms, n.details["online"]) for n in nodes.nodes(catalog)] == [("node-a", 3, 2)]

    # Many nodes racing for the same free cameras: each camera is won exactly once.
    for round_ in range(5):
        wins: list[tuple[str, str]] = []
        now = 100_000 * (round_ + 1)

        def race(node: str, now: int = now, wins: list[tuple[str, str]] = wins) -> None:
            mine = Catalog(catalog.url)
            for cam in ("c1", "c2", "c3"):
                if nodes.acquire(mine, cam, node, now, lease_ms):
                    wins.append((cam, node))

        threads = [threading.Thread(target=race, args=(f"n{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(cam for cam, _ in wins) == ["c1", "c2", "c3"], wins
        held = {x.camera_id: x.node_id for x in nodes.leases(catalog)}
        assert held == dict(wins)
        for cam in held:
            nodes.release(catalog, held[cam], [cam])


def test_failed_logins_are_counted_across_nodes(catalog: Catalog) -> None:
    from vigil.logins import LoginThrottle, SharedThrottle

    rules = LoginThrottle(max_per_account=3, max_per_address=100, lock_s=30, max_lock_s=120)
    nodes_ = [SharedThrottle(Catalog(catalog.url), rules) for _ in range(3)]
    keys = ["user:ann", "addr:10.0.0.9"]
    now = 1_800_000_000.0
    for i in range(3):  # one failure on each node
        assert nodes_[i].wait(keys, now + i) == (0.0, None)
        nodes_[i].failed(keys, now + i)
    wait, key = nodes_[0].wait(keys, now + 3)
    assert key == "user:ann" and 28 < wait <= 30, "the third failure, wherever it happened, locks the account"
    assert nodes_[1].wait(["user:bob", "addr:10.0.0.9"], now + 3) == (0.0, None)
    assert nodes_[2].wait(keys, now + 33)[0] == 0, "the wait is over"
    nodes_[2].succeeded("user:ann")
    assert nodes_[0].wait(keys, now + 34) == (0.0, None), "a good password clears the account's count"
    nodes_[0].failed(keys, now + 900 + 40)  # later failures forget those older than the window
    assert len(login_failures.recent(catalog, keys, 0)["addr:10.0.0.9"]) == 1


def test_overview_open_alarms_plates_and_counts(catalog: Catalog) -> None:
    from vigil.catalog.counts import CountStore
    from vigil.catalog.overview import counts_since, open_alarms, plates_since

    t = 1_700_000_000_000
    a = catalog.add_event("tripwire", "crossed", camera_id="cam1", severity="alarm", start_ms=t + 1)
    catalog.add_event("motion", "motion", camera_id="cam1", severity="info", start_ms=t + 2)  # not an alarm
    acked = catalog.add_event("external", "door", camera_id="cam2", severity="alarm", start_ms=t + 3)
    catalog.update_event(acked.id, details={"ack": {"by": "admin", "at_ms": t + 4}})
    w = catalog.add_event("tamper", "covered", camera_id="cam2", severity="warning", start_ms=t + 5)
    catalog.add_event("disk_full", "full", severity="alarm", start_ms=t - 10)  # before the window
    got = open_alarms(catalog, t, None)
    assert (got.count, [e.id for e in got.newest]) == (2, [w.id, a.id])
    assert [e.id for e in open_alarms(catalog, t, ["cam1"]).newest] == [a.id]
    assert open_alarms(catalog, t, None, keep=1).count == 2 and len(open_alarms(catalog, t, None, keep=1).newest) == 1

    catalog.add_event("plate_read", "car AB12", camera_id="cam1", severity="info", start_ms=t + 6,
                      attributes={"plate": "AB12"})
    catalog.add_event("plate_read", "car CD34", camera_id="cam2", severity="info", start_ms=t + 7,
                      attributes={"plate": "CD34"})
    n, newest = plates_since(catalog, t, None)
    assert n == 2 and [e.plate for e in newest] == ["CD34", "AB12"]
    assert plates_since(catalog, t, ["cam1"])[0] == 1 and plates_since(catalog, t + 7, None)[0] == 1

    store = CountStore(catalog)
    for way in ("in", "in", "out"):
        store.add_crossing("cam1", "door", t + 60_000, way)
    store.add_crossing("cam1", "back", t + 60_000, "in")
    store.add_crossing("cam2", "door", t - 3_600_000, "in")  # yesterday
    assert counts_since(catalog, t) == {"cam1": (3, 1)}

    from vigil.catalog.overview import with_pictures

    old = catalog.open_segment("cam1", t - 7_200_000, "cam1/old.mp4", "h264", 640, 360)
    catalog.close_segment(old, t - 7_200_000, t - 7_100_000, 1000, [(0, 0)])  # two hours ago: no picture now
    fresh = catalog.open_segment("cam2", t - 60_000, "cam2/a.mp4", "h264", 640, 360)
    catalog.close_segment(fresh, t - 60_000, t - 1_000, 1000, [(0, 0)])
    catalog.open_segment("cam3", t - 500, "cam3/a.mp4", "h264", 640, 360)  # just opened: no whole fragment yet
    catalog.open_segment("cam4", t - 10_000, "cam4/a.mp4", "h264", 640, 360)
    assert with_pictures(catalog, ["cam1", "cam2", "cam3", "cam4"], t - 3_600_000, t - 3_000) == {"cam2", "cam4"}
