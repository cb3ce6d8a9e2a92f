"""AI by camera: the analytics a camera runs itself, pulled over ONVIF (PullPoint) and turned into Vigil events.

`map_message` is pure: an ONVIF notification (topic, property operation, source and data items) becomes a
`CameraSignal` — the Vigil event type it means, and whether it starts, ends or is a single instant. Vendors
name their topics differently; the table matches the ONVIF standard topics and the common vendor ones by
their last parts. `CameraEventListener` keeps a PullPoint subscription alive and hands signals to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.log import get_logger
from vigil.onvif.device import OnvifDevice, OnvifError

log = get_logger(__name__)

# (pattern on the topic, Vigil event type, target label, severity)
TOPIC_TYPES: list[tuple[re.Pattern[str], str, str | None, str]] = [
    (re.compile(r"LineDetector|LineCross|Tripwire|LineCrossing", re.I), "tripwire", None, "alarm"),
    (re.compile(r"FieldDetector|Intrusion|Region(Entrance|Exit)|ObjectsInside", re.I), "intrusion", None, "alarm"),
    (re.compile(r"Tamper|GlobalSceneChange|ImageTooBlurry|ImageTooDark|ImageTooBright", re.I), "tamper", None,
     "alarm"),
    (re.compile(r"LicensePlate|\bPlate|Vehicle/?Plate|ANPR|LPR", re.I), "plate_read", "car", "info"),
    (re.compile(r"Face", re.I), "face", "person", "info"),
    (re.compile(r"PeopleDetect|HumanDetect|Person|Human", re.I), "smd", "person", "info"),
    (re.compile(r"VehicleDetect|Vehicle", re.I), "smd", "car", "info"),
    (re.compile(r"Motion", re.I), "motion", None, "info"),
]
# Data items that say a property state is active; any of them "false" means it ended.
STATE_ITEMS = ("IsMotion", "State", "IsInside", "IsTamper", "IsTooBlurry", "IsTooDark", "IsTooBright", "Active",
               "IsPeople", "IsVehicle", "IsFace")
PLATE_ITEMS = ("PlateNumber", "LicensePlate", "Plate", "PlateText", "Number")


@dataclass
class CameraSignal:
    type: str
    state: bool | None  # True: started, False: ended, None: an instant (a line crossed, a plate read)
    key: str  # what identifies the running condition (topic + source), to close it later
    topic: str
    time_ms: int
    severity: str
    label: str | None = None
    plate: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def _truthy(v: str) -> bool | None:
    v = v.strip().lower()
    if v in ("true", "1", "on", "active"):
        return True
    if v in ("false", "0", "off", "inactive"):
        return False
    return None


def map_message(topic: str, operation: str, source: dict[str, str], data: dict[str, str], time_ms: int
                ) -> CameraSignal | None:
    """The Vigil meaning of one notification, or None for topics Vigil does not use."""
    kind = next(((t, lab, sev) for pat, t, lab, sev in TOPIC_TYPES if pat.search(topic)), None)
    if kind is None:
        return None
    type_, label, severity = kind
    state: bool | None = None
    for item in STATE_ITEMS:
        if item in data:
            state = _truthy(data[item])
            break
    if operation == "Initialized" and state is not True:
        return None  # the subscription's starting state: only a condition already on matters
    plate = next((re.sub(r"[^A-Z0-9]", "", data[k].upper()) for k in PLATE_ITEMS if data.get(k)), None)
    key = topic + "|" + ",".join(f"{k}={v}" for k, v in sorted(source.items()))
    return CameraSignal(type_, state, key, topic, time_ms, severity, label, plate or None,
                        {**{f"source.{k}": v for k, v in source.items()}, **{f"data.{k}": v for k, v in data.items()}})


def _items(part: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in getattr(part, "SimpleItem", None) or []:
        if getattr(it, "Name", None):
            out[str(it.Name)] = str(it.Value if it.Value is not None else "")
    return out


def parse_notification(msg: Any) -> CameraSignal | None:
    """A zeep NotificationMessage → CameraSignal."""
    topic_el = getattr(msg, "Topic", None)
    topic = str(getattr(topic_el, "_value_1", "") or "").strip()
    body = getattr(getattr(msg, "Message", None), "_value_1", None)
    if not topic or body is None:
        return None
    utc = getattr(body, "UtcTime", None)
    time_ms = int(utc.timestamp() * 1000) if isinstance(utc, dt.datetime) else int(dt.datetime.now().timestamp() * 1000)
    return map_message(topic, str(getattr(body, "PropertyOperation", "") or "Changed"),
                       _items(getattr(body, "Source", None)), _items(getattr(body, "Data", None)), time_ms)


class CameraEventListener:
    """Pulls one camera's events for as long as it runs; reconnects (with back-off) when the camera goes."""

    def __init__(self, camera_id: str, make_device: Callable[[], OnvifDevice],
                 on_signal: Callable[[str, CameraSignal], None], pull_seconds: float = 5.0) -> None:
        self.camera_id = camera_id
        self.make_device = make_device
        self.on_signal = on_signal
        self.pull_seconds = pull_seconds
        self.error: str | None = None
        self.connected = False

    async def run(self) -> None:
        backoff = 1.0
        while True:
            device = self.make_device()
            manager = None
            try:
                await device.connect()
                lost = asyncio.Event()
                manager = await device._call(device.camera.create_pullpoint_manager(
                    dt.timedelta(seconds=60), lost.set))
                service = manager.get_service()
                self.connected, self.error = True, None
                log.info("onvif_events_subscribed", camera=self.camera_id)
                backoff = 1.0
                while not lost.is_set():
                    res = await device._call(service.PullMessages({
                        "MessageLimit": 100, "Timeout": dt.timedelta(seconds=self.pull_seconds)}))
                    for msg in getattr(res, "NotificationMessage", None) or []:
                        signal = parse_notification(msg)
                        if signal is not None:
                            self.on_signal(self.camera_id, signal)
                raise OnvifError(f"{device.where}: the camera dropped the event subscription")
            except asyncio.CancelledError:
                raise
            except OnvifError as err:
                if self.error != str(err):
                    log.warning("onvif_events_lost", camera=self.camera_id, error=str(err))
                self.connected, self.error = False, str(err)
            finally:
                if manager is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(manager.shutdown(), 3)
                await device.close()
            await asyncio.sleep(backoff)
            backoff = min(30.0, backoff * 2)
