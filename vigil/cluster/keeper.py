"""The lease keeper of one node: heartbeat, renew, take free cameras, hand over surplus ones, and stop recording
anything whose lease it can no longer vouch for.

A node records a camera only while it holds its lease. Leases are renewed every `renew_seconds`; when the catalog
stops answering, the node stops its recorders `renew_seconds` before its leases could expire (it "fences" itself),
so the node that takes a camera over never overlaps with it, even when the first node is alive but cut off.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from vigil.catalog import nodes as rows
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.cluster.plan import plan_leases
from vigil.log import get_logger

log = get_logger(__name__)


class LeaseKeeper:
    def __init__(self, catalog: Catalog, node: str, url: str, lease_seconds: float, renew_seconds: float,
                 cameras: Callable[[], list[str]], start: Callable[[str], None], stop: Callable[[str], None],
                 hand_over: Callable[[str], float | None], details: Callable[[], dict[str, Any]]) -> None:
        """`cameras`: the enabled camera ids; `hand_over(c)` asks c's recorder to stop at its next segment cut and
        returns how long that may take (s), or None when it has stopped already."""
        self.catalog = catalog
        self.node = node
        self.url = url
        self.lease_ms = int(lease_seconds * 1000)
        self.renew_s = renew_seconds
        self.lease_s = lease_seconds
        self._cameras, self._start, self._stop, self._hand_over = cameras, start, stop, hand_over
        self._details = details
        self.running: set[str] = set()
        self.handing: dict[str, float] = {}  # camera -> monotonic deadline of its hand-over
        self.started_ms = now_ms()
        self.last_ok = time.monotonic()
        self.fenced = False
        self._closed = False  # after shutdown, a round still under way must not take cameras again
        self._lock = threading.Lock()  # step() and fence() from different threads

    # one round (blocking: run in a thread)
    def step(self) -> None:
        now = now_ms()
        try:
            rows.heartbeat(self.catalog, self.node, self.url, self.started_ms, now,
                           {**self._details(), "cameras": sorted(self.running)})
            held = rows.renew(self.catalog, self.node, now, self.lease_ms)
            self.last_ok = time.monotonic()
            leases = rows.leases(self.catalog)
            alive = [n.id for n in rows.nodes(self.catalog) if n.seen_ms > now - self.lease_ms]
        except SQLAlchemyError as err:
            log.error("lease_renew_failed", node=self.node, error=str(err).splitlines()[0])
            return
        with self._lock:
            if self._closed:
                return
            if self.fenced:
                log.warning("cluster_rejoined", node=self.node, why="the catalog answers again")
                self.fenced = False
            self._settle(held, leases, alive, now)

    def _settle(self, held: set[str], leases: list[Any], alive: list[str], now: int) -> None:
        cameras = self._cameras()
        for cam in sorted(self.running - held):  # lost (should not happen while renewals succeed): stop at once
            log.warning("lease_lost", node=self.node, camera=cam)
            self._halt(cam)
        for cam, deadline in list(self.handing.items()):
            left = self._hand_over(cam)
            if left is None or time.monotonic() > deadline:
                self._halt(cam)
                rows.release(self.catalog, self.node, [cam])
                held.discard(cam)
                del self.handing[cam]
                log.info("camera_handed_over", node=self.node, camera=cam)
        gone = sorted(held - set(cameras))  # removed or disabled while held
        if gone:
            for cam in gone:
                self._halt(cam)
            rows.release(self.catalog, self.node, gone)
            held -= set(gone)
        for cam in sorted(held - self.running):  # ours (e.g. still ours after a quick restart): record it
            self._begin(cam)
        plan = plan_leases(self.node, cameras, [x for x in leases if x.camera_id not in gone], alive, now,
                           len(self.handing))
        for cam in plan.take:
            if rows.acquire(self.catalog, cam, self.node, now_ms(), self.lease_ms):
                log.info("lease_taken", node=self.node, camera=cam)
                self._begin(cam)
        for cam in plan.hand_over:
            if cam in self.running and cam not in self.handing:
                left = self._hand_over(cam)
                self.handing[cam] = time.monotonic() + (left or 0.0) + 10.0
                log.info("camera_handing_over", node=self.node, camera=cam)

    def _begin(self, cam: str) -> None:
        self.running.add(cam)
        self._start(cam)

    def _halt(self, cam: str) -> None:
        self.running.discard(cam)
        self.handing.pop(cam, None)
        self._stop(cam)

    def fence_if_silent(self) -> bool:
        """Stops every recorder when renewals have failed for lease − renew seconds (before any lease of ours can
        expire and be taken). True when fenced."""
        if time.monotonic() - self.last_ok < self.lease_s - self.renew_s:
            return False
        with self._lock:
            if self.running:
                log.error("cluster_fenced", node=self.node, cameras=sorted(self.running),
                          why=f"no lease renewal for {time.monotonic() - self.last_ok:.0f} s: the catalog is "
                          "unreachable, so another node may take these cameras; recording stops here")
                for cam in sorted(self.running):
                    self._halt(cam)
            self.fenced = True
        return True

    def shutdown(self) -> None:
        """A clean stop: recorders closed, then the leases given back so the others take over at once."""
        with self._lock:
            self._closed = True
            for cam in sorted(self.running):
                self._halt(cam)
        try:
            rows.release(self.catalog, self.node)
            rows.heartbeat(self.catalog, self.node, self.url, self.started_ms, now_ms() - self.lease_ms - 1,
                           {**self._details(), "cameras": [], "stopped": True})
        except SQLAlchemyError as err:
            log.error("lease_release_failed", node=self.node, error=str(err).splitlines()[0])

    async def run(self) -> None:
        """Renews every renew_seconds; the fence is checked on the same beat even while a round hangs."""
        task: asyncio.Task[None] | None = None
        try:
            while True:
                if task is None or task.done():
                    if task is not None and task.exception() is not None:
                        log.error("lease_round_failed", node=self.node, error=repr(task.exception()))
                    task = asyncio.create_task(asyncio.to_thread(self.step))
                await asyncio.to_thread(self.fence_if_silent)
                await asyncio.sleep(self.renew_s)
        finally:
            if task is not None:
                task.cancel()
