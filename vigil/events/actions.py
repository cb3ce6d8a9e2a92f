"""Linkage actions, run on the server's event loop: e-mail (SMTP with STARTTLS/TLS, the snapshot attached),
webhook (HTTP POST of the event as JSON, retried with back-off), MQTT (aiomqtt, `<prefix>/<camera>/<type>`,
with Home Assistant discovery) and the buzzer. An event that has a camera but no picture gets one (the camera's
latest recorded frame) before anything is sent, so every alarm carries what the camera saw."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import smtplib
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import httpx

from vigil.catalog.rows import EventRow
from vigil.clock import now_ms
from vigil.config import AlarmsConfig, LinkageRule, MqttSettings, SmtpSettings
from vigil.events.bus import EventBus
from vigil.events.linkage import Action, LinkagePlanner
from vigil.events.snapshots import save_snapshot
from vigil.log import get_logger
from vigil.media.segment_files import SegmentFiles
from vigil.media.snapshot import picture_at

log = get_logger(__name__)

DISCOVERY_TYPES = ("motion", "smd", "tripwire", "intrusion", "face_blocklist", "external", "camera_offline")
MQTT_QUEUE = 1000


def event_payload(e: EventRow) -> dict[str, Any]:
    return {"id": e.id, "camera_id": e.camera_id, "type": e.type, "severity": e.severity, "start_ms": e.start_ms,
            "end_ms": e.end_ms, "message": e.message, "label": e.label, "score": e.score, "rule_id": e.rule_id,
            "details": e.details, "snapshot_url": f"/api/events/{e.id}/snapshot.jpg" if e.snapshot else None}


def send_email(smtp: SmtpSettings, to: list[str], e: EventRow, picture: bytes | None) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[Vigil] {e.camera_id or 'system'}: {e.message}"
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(to)
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(e.start_ms / 1000))
    msg.set_content(f"{e.message}\n\ncamera: {e.camera_id or '—'}\ntype: {e.type} ({e.severity})\ntime: {when}\n"
                    f"event: {e.id}\n")
    if picture:
        msg.add_attachment(picture, maintype="image", subtype="jpeg", filename=f"event-{e.id}.jpg")
    context = ssl.create_default_context(cafile=smtp.ca_file)  # certificates and host names are checked
    if smtp.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password)
        client.send_message(msg)


class LinkageRunner:
    def __init__(self, cfg: AlarmsConfig, bus: EventBus, files: SegmentFiles, armed: Callable[[], bool],
                 cameras: Callable[[], list[str]], snapshot_quality: int = 85,
                 record: Callable[[str, EventRow], bool] | None = None,
                 goto_preset: Callable[[str, str], Awaitable[None]] | None = None,
                 rules: Callable[[], list[LinkageRule]] | None = None) -> None:
        """`rules`: the linkage rules as they are now (the config's and the UI's), asked at each event so a rule
        changed in the UI — on any node of a cluster — applies to the next event; default: the config's."""
        self.cfg, self.bus, self.files, self.storage = cfg, bus, files, files.storage
        self.record = record
        self.goto_preset = goto_preset
        self.armed, self.cameras = armed, cameras
        self.planner = LinkagePlanner(cfg.linkage)
        self._rules = rules
        self.snapshot_quality = snapshot_quality
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self._mqtt: asyncio.Queue[tuple[str, str, bool]] = asyncio.Queue(MQTT_QUEUE)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        sub = self.bus.subscribe(asyncio.get_running_loop(), local_only=True)
        mqtt = asyncio.create_task(self._mqtt_loop(self.cfg.mqtt)) if self.cfg.mqtt else None
        try:
            while True:
                kind, e = await sub.queue.get()
                if kind == "new":
                    self._spawn(self._handle(e))
        finally:
            self.bus.unsubscribe(sub)
            if mqtt:
                mqtt.cancel()
            for t in list(self._tasks):
                t.cancel()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, e: EventRow) -> None:
        lt = time.localtime(e.start_ms / 1000)
        armed = await asyncio.to_thread(self.armed)
        if self._rules is not None:
            current = await asyncio.to_thread(self._rules)
            if current != self.planner.rules:
                self.planner.set_rules(current)
        actions, why = self.planner.plan(e, armed, (lt.tm_wday, lt.tm_hour * 60 + lt.tm_min), now_ms())
        if not actions:
            log.debug("linkage_none", event_id=e.id, type=e.type, why=why)
            return
        for a in actions:  # first, so the recording's pre-event buffer is taken before anything slow runs
            if a.kind == "record":
                self._record(a, e)
        picture = await asyncio.to_thread(self._picture, e)
        if picture is not None and not e.snapshot:
            attached = await asyncio.to_thread(self._attach, e, picture)
            e = attached or e
        for a in actions:
            if a.kind != "record":
                self._spawn(self._act(a, e, picture))

    def _record(self, a: Action, e: EventRow) -> None:
        ok = self.record(a.target, e) if self.record else False
        (self.sent if ok else self.failed)["record"] += 1
        if not ok:
            log.warning("linkage_record_skipped", camera=a.target, event_id=e.id,
                        why="no such camera, or it records continuously (set record.mode: alarm)")

    def _picture(self, e: EventRow) -> bytes | None:
        if e.snapshot:
            path = self.storage / e.snapshot
            return path.read_bytes() if path.exists() else None
        if not e.camera_id:
            return None
        from vigil.media.snapshot import to_jpeg

        found = picture_at(self.bus.catalog, self.files, e.camera_id, None, now_ms())
        return to_jpeg(found[0], None, self.snapshot_quality) if found else None

    def _attach(self, e: EventRow, jpeg: bytes) -> EventRow | None:
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            return None
        rel = save_snapshot(self.storage, e.camera_id or "_system", e.start_ms, f"{e.type}-{e.id}", img,
                            self.snapshot_quality)
        return self.bus.update(e.id, snapshot=rel) if rel else None

    async def _act(self, a: Action, e: EventRow, picture: bytes | None) -> None:
        try:
            if a.kind == "email":
                assert self.cfg.smtp is not None
                await asyncio.to_thread(send_email, self.cfg.smtp, a.target.split(","), e, picture)
            elif a.kind == "webhook":
                await self._webhook(a.target, event_payload(e))
            elif a.kind == "mqtt":
                prefix = self.cfg.mqtt.topic_prefix if self.cfg.mqtt else "vigil"
                topic = f"{prefix}/{e.camera_id or 'system'}/{e.type}"
                self._mqtt.put_nowait((topic, json.dumps(event_payload(e)), False))
            elif a.kind == "buzzer":
                await self._buzz(e)
            elif a.kind == "ptz":
                if self.goto_preset is None:
                    raise RuntimeError("PTZ is not available")
                camera, _, preset = a.target.partition("/")
                await self.goto_preset(camera, preset)
            self.sent[a.kind] += 1
            log.info("linkage_sent", action=a.kind, event_id=e.id, type=e.type, camera=e.camera_id)
        except Exception as err:  # one failed action must not stop the others
            self.failed[a.kind] += 1
            log.error("linkage_failed", action=a.kind, event_id=e.id, error=repr(err))

    async def _webhook(self, url: str, payload: dict[str, Any]) -> None:
        delay = 1.0
        async with httpx.AsyncClient(timeout=10) as client:
            for attempt in range(1, self.cfg.webhook_attempts + 1):
                try:
                    r = await client.post(url, json=payload)
                    if r.status_code < 300:
                        return
                    problem = f"HTTP {r.status_code}"
                except httpx.HTTPError as err:
                    problem = repr(err)
                log.warning("webhook_retry", url=url, attempt=attempt, problem=problem)
                if attempt < self.cfg.webhook_attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30)
        raise RuntimeError(f"webhook {url} failed {self.cfg.webhook_attempts} times: {problem}")

    async def _buzz(self, e: EventRow) -> None:
        player = shutil.which("aplay")
        log.warning("buzzer", event_id=e.id, camera=e.camera_id, message=e.message, sound=bool(player))
        if player:
            with contextlib.suppress(OSError):
                proc = await asyncio.create_subprocess_exec(player, "-q", "/usr/share/sounds/alsa/Front_Center.wav",
                                                            stdout=asyncio.subprocess.DEVNULL,
                                                            stderr=asyncio.subprocess.DEVNULL)
                await proc.wait()

    async def _mqtt_loop(self, m: MqttSettings) -> None:
        import aiomqtt

        backoff = 1.0
        while True:
            try:
                async with aiomqtt.Client(m.host, m.port, username=m.username or None,
                                          password=m.password or None, identifier="vigil") as client:
                    backoff = 1.0
                    log.info("mqtt_connected", host=m.host, port=m.port)
                    if m.discovery:
                        for topic, payload in self._discovery(m):
                            await client.publish(topic, payload, retain=True)
                    while True:
                        topic, payload, retain = await self._mqtt.get()
                        await client.publish(topic, payload, qos=1, retain=retain)
            except aiomqtt.MqttError as err:
                log.warning("mqtt_disconnected", host=m.host, port=m.port, error=str(err), retry_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)

    def _discovery(self, m: MqttSettings) -> list[tuple[str, str]]:
        """Home Assistant MQTT discovery: one binary sensor per camera and alarm type, on while alarms arrive."""
        out = []
        for cam in self.cameras():
            for t in DISCOVERY_TYPES:
                uid = f"vigil_{cam}_{t}".replace("-", "_")
                cfg = {"name": f"{cam} {t.replace('_', ' ')}", "unique_id": uid,
                       "state_topic": f"{m.topic_prefix}/{cam}/{t}", "value_template": "ON", "off_delay": 30,
                       "device_class": "problem" if t == "camera_offline" else "motion",
                       "device": {"identifiers": [f"vigil_{cam}"], "name": f"Vigil {cam}", "manufacturer": "Vigil"}}
                out.append((f"{m.discovery_prefix}/binary_sensor/{uid}/config", json.dumps(cfg)))
        return out
