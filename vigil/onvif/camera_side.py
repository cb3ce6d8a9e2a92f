"""AI by camera into Vigil's events: a camera's own motion, line-crossing, intrusion, tamper, face and plate
notifications (see onvif/events.py) become events like Vigil's, marked `source: camera`, so they are searched,
linked to actions and recorded around in the same way."""

from __future__ import annotations

import threading

from vigil.catalog.plates import PlateLists, plate_event
from vigil.events.bus import EventBus
from vigil.onvif.events import CameraSignal

WHAT = {"motion": "motion", "tripwire": "line crossed", "intrusion": "intrusion", "tamper": "tampering",
        "face": "face", "smd": "target", "plate_read": "plate"}


class CameraSideEvents:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.plates = PlateLists(bus.catalog)
        self._open: dict[tuple[str, str], int] = {}  # (camera, condition) → its open event
        self._lock = threading.Lock()

    def apply(self, camera_id: str, sig: CameraSignal) -> int | None:
        """Stores the signal; returns the event it opened or raised (None when it closed one or changed nothing)."""
        key = (camera_id, sig.key)
        with self._lock:
            if sig.state is False:
                event_id = self._open.pop(key, None)
                if event_id is not None:
                    self.bus.update(event_id, end_ms=sig.time_ms)
                return None
            if sig.state is True and key in self._open:
                return None  # still on (a repeated notification)
            type_, severity, what = sig.type, sig.severity, ""
            if sig.plate:
                type_, severity, what = plate_event(self.plates.lookup(sig.plate))
            text = f"{WHAT.get(sig.type, sig.type)} (by the camera)"
            if sig.plate:
                text = f"plate {sig.plate}{what} (read by the camera)"
            row = self.bus.publish(
                type_, text, camera_id=camera_id, severity=severity, start_ms=sig.time_ms,
                end_ms=sig.time_ms if sig.state is None else None, label=sig.label,
                attributes={"source": "camera", **({"plate": sig.plate} if sig.plate else {})},
                details={"topic": sig.topic, **sig.details})
            if sig.state is True:
                self._open[key] = row.id
            return row.id

    def close_camera(self, camera_id: str, end_ms: int) -> None:
        """The camera's subscription ended: its open conditions end with it."""
        with self._lock:
            keys = [k for k in self._open if k[0] == camera_id]
            ids = [self._open.pop(k) for k in keys]
        for event_id in ids:
            self.bus.update(event_id, end_ms=end_ms, details={"subscription_lost": True})
