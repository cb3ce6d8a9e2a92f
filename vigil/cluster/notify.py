"""Events across nodes: PostgreSQL LISTEN/NOTIFY. A node announces each event it stores (its id only: the row is
in the shared catalog); every other node reads the row and hands it to its own live subscribers (the events
WebSocket). Linkage (e-mail, webhook, MQTT…) stays with the node that raised the event, so it runs once."""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import text

from vigil.catalog.rows import EventRow
from vigil.catalog.store import Catalog
from vigil.events.bus import EventBus
from vigil.log import get_logger

log = get_logger(__name__)
CHANNEL = "vigil_events"


class EventRelay:
    def __init__(self, catalog: Catalog, bus: EventBus, node: str) -> None:
        self.catalog = catalog
        self.bus = bus
        self.node = node
        self.received = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def announce(self, kind: str, row: EventRow) -> None:
        """A bus listener: tells the other nodes (runs in the publisher's thread; one small statement)."""
        payload = json.dumps({"node": self.node, "kind": kind, "id": row.id})
        try:
            with self.catalog.engine.begin() as conn:
                conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        except Exception as err:  # the event is stored; only the other nodes' live views miss it
            log.error("event_notify_failed", error=str(err).splitlines()[0])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _connect(self) -> Any:
        import psycopg

        url = self.catalog.engine.url.set(drivername="postgresql")
        conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    backoff = 1.0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._deliver(note.payload)
            except Exception as err:  # the catalog went away: listen again when it is back
                log.warning("event_relay_reconnect", error=str(err).splitlines()[0] if str(err) else repr(err))
                self._stop.wait(backoff)
                backoff = min(10.0, backoff * 2)

    def _deliver(self, payload: str) -> None:
        try:
            msg = json.loads(payload)
            if msg.get("node") == self.node:
                return
            row = self.catalog.event(int(msg["id"]))
        except (ValueError, KeyError, TypeError) as err:
            log.warning("event_relay_bad_note", payload=payload[:200], error=str(err))
            return
        if row is not None:
            self.received += 1
            self.bus.deliver_remote(str(msg.get("kind", "new")), row)
