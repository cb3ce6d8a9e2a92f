"""The event bus: every event is written to the catalog first, then handed to live subscribers (the
WebSocket clients today; linkage actions and MQTT later). A slow subscriber loses events, never the catalog."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from vigil.catalog.rows import EventRow
from vigil.catalog.store import Catalog
from vigil.log import get_logger

log = get_logger(__name__)
QUEUE_SIZE = 256


class Subscription:
    def __init__(self, loop: asyncio.AbstractEventLoop, local_only: bool = False) -> None:
        self.loop = loop
        self.local_only = local_only  # linkage: acts on this node's events only (each node runs its own)
        self.queue: asyncio.Queue[tuple[str, EventRow]] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0

    def _put(self, item: tuple[str, EventRow]) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1


class EventBus:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._subs: set[Subscription] = set()
        self._listeners: list[Callable[[str, EventRow], None]] = []
        self._lock = threading.Lock()

    def listen(self, callback: Callable[[str, EventRow], None]) -> None:
        """A callback run in the publisher's thread for each event ("new" or "update"); it must be quick."""
        self._listeners.append(callback)

    def publish(self, type_: str, message: str, **fields: Any) -> EventRow:
        """Stores a new event and announces it ("new")."""
        row = self.catalog.add_event(type_, message, **fields)
        self._announce("new", row)
        log.info("event", type=type_, camera=row.camera_id, id=row.id, message=message)
        return row

    def update(self, event_id: int, **fields: Any) -> EventRow | None:
        """Closes or amends an event and announces it ("update")."""
        row = self.catalog.update_event(event_id, **fields)
        if row is not None:
            self._announce("update", row)
        return row

    def _announce(self, kind: str, row: EventRow) -> None:
        for callback in self._listeners:
            try:
                callback(kind, row)
            except Exception as err:  # a broken listener must not lose the event for the others
                log.error("event_listener_failed", error=repr(err))
        self._hand_out(kind, row, remote=False)

    def deliver_remote(self, kind: str, row: EventRow) -> None:
        """An event another node of the cluster stored: to the live views here, not to linkage nor listeners."""
        self._hand_out(kind, row, remote=True)

    def _hand_out(self, kind: str, row: EventRow, remote: bool) -> None:
        with self._lock:
            subs = [s for s in self._subs if not (remote and s.local_only)]
        for sub in subs:
            with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed
                sub.loop.call_soon_threadsafe(sub._put, (kind, row))

    def subscribe(self, loop: asyncio.AbstractEventLoop, local_only: bool = False) -> Subscription:
        sub = Subscription(loop, local_only)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
