"""Alarms Vigil raises about itself and its cameras, not about a scene: video loss, sound, and the disk. Each
opens an event when the condition starts and gives it an end when it is over."""

from __future__ import annotations

import threading

from vigil.analytics.audio import AudioChange
from vigil.clock import now_ms
from vigil.events.bus import EventBus
from vigil.log import get_logger

log = get_logger(__name__)


class SystemAlarms:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._offline: dict[str, int] = {}  # camera -> its open camera_offline event
        self._audio: dict[str, int] = {}  # camera -> its open audio event
        # Its own lock: adding and removing cameras hold the lifecycle lock while joining recorders, which call here.
        self._lock = threading.Lock()

    def camera_state(self, camera_id: str, state: str, error: str | None) -> None:
        """Video loss: a `camera_offline` alarm when a camera goes offline (or cannot be opened), closed when it
        is back; the message says whether the network or the camera refused (see media/source.describe_error)."""
        with self._lock:
            open_id = self._offline.get(camera_id)
            if state == "offline" and open_id is None:
                row = self.bus.publish("camera_offline", f"camera {camera_id} offline: {error or 'no picture'}",
                                       camera_id=camera_id, severity="alarm", details={"error": error})
                self._offline[camera_id] = row.id
            elif state == "online" and open_id is not None:
                del self._offline[camera_id]
                self.bus.update(open_id, end_ms=now_ms(), details={"back": True})

    def camera_stopped(self, camera_id: str) -> None:
        """A camera taken away (or reconfigured) is no longer offline."""
        with self._lock:
            open_id = self._offline.pop(camera_id, None)
        if open_id is not None:
            self.bus.update(open_id, end_ms=now_ms(), details={"stopped": True})

    def audio(self, camera_id: str, c: AudioChange) -> None:
        with self._lock:
            if c.what == "start":
                text = "loud sound" if c.reason == "loud" else "sudden sound"
                row = self.bus.publish("audio", f"{text} ({c.level_db:.0f} dBFS)", camera_id=camera_id,
                                       severity="warning", start_ms=c.since_ms,
                                       details={"reason": c.reason, "level_db": c.level_db})
                self._audio[camera_id] = row.id
            elif (event_id := self._audio.pop(camera_id, None)) is not None:
                self.bus.update(event_id, end_ms=c.t_ms, details={"peak_db": c.level_db})

    def disk(self, kind: str, message: str, severity: str, camera_id: str | None) -> int:
        return self.bus.publish(kind, message, severity=severity, camera_id=camera_id).id

    def disk_clear(self, event_id: int) -> None:
        self.bus.update(event_id, end_ms=now_ms())

    def storage_error(self, camera_id: str, message: str) -> None:
        try:
            self.bus.publish("disk_error", message, camera_id=camera_id, severity="critical")
        except Exception as err:  # the alarm must not take the recorder down with it
            log.error("alarm_failed", error=repr(err))
