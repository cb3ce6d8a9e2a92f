"""Alarm linkage: the pure planner (arming, schedules, debounce, filters), and the real thing over loopback —
an external alarm on a recording camera reaches an SMTP sink (aiosmtpd) with the camera's picture attached, a
webhook that fails twice before answering, and a mosquitto broker; disarmed, nothing is sent."""

from __future__ import annotations

import contextlib
import email
import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from tests.helpers import Server, Sim, free_port, wait_for
from tests.services import mqtt_broker
from vigil.catalog.rows import EventRow
from vigil.config import LinkageRule
from vigil.events.linkage import LinkagePlanner, in_schedule

MONDAY_NOON = (0, 12 * 60)
PRE_S, POST_S = 3, 4


def ev(type_: str = "tripwire", camera: str | None = "cam1", severity: str = "warning", id_: int = 1) -> EventRow:
    return EventRow(id_, camera, type_, severity, 0, None, "x", {})


def test_planner_arming_schedule_debounce_and_filters() -> None:
    rule = LinkageRule(types=["tripwire", "external"], cameras=["cam1"], min_interval_seconds=60,
                       email=["a@example.org"], webhook="http://127.0.0.1:1/hook",
                       schedule=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}])
    p = LinkagePlanner([rule])
    assert p.plan(ev(), False, MONDAY_NOON, 0) == ([], "disarmed")
    assert p.plan(ev(), True, (5, 12 * 60), 0) == ([], "outside the schedule")  # Saturday
    actions, _ = p.plan(ev(), True, MONDAY_NOON, 1_000)
    assert [a.kind for a in actions] == ["email", "webhook"]
    assert p.plan(ev(), True, MONDAY_NOON, 30_000) == ([], "debounced")
    assert p.plan(ev(camera="cam2"), True, MONDAY_NOON, 30_000)[0] == []  # another camera: not this rule's
    assert [a.kind for a in p.plan(ev(), True, MONDAY_NOON, 61_001)[0]] == ["email", "webhook"]
    assert p.plan(ev("motion"), True, MONDAY_NOON, 200_000)[0] == []
    # Disk and offline alarms are always armed, whatever the switch and the schedule say.
    disk = LinkagePlanner([LinkageRule(types=["disk_low"], email=["ops@example.org"],
                                       schedule=[{"days": [6], "start": "00:00", "end": "01:00"}])])
    assert [a.kind for a in disk.plan(ev("disk_low", None), False, MONDAY_NOON, 0)[0]] == ["email"]
    severe = LinkagePlanner([LinkageRule(min_severity="alarm", mqtt=True)])
    assert severe.plan(ev(severity="info"), True, MONDAY_NOON, 0)[0] == []
    assert [a.kind for a in severe.plan(ev(severity="alarm"), True, MONDAY_NOON, 0)[0]] == ["mqtt"]


def test_schedule_windows_across_midnight() -> None:
    night = LinkageRule(schedule=[{"days": [4], "start": "22:00", "end": "06:00"}])
    assert in_schedule(night, (4, 23 * 60)) and in_schedule(night, (4, 5 * 60))
    assert not in_schedule(night, (4, 12 * 60)) and not in_schedule(night, (3, 23 * 60))


class Hook(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first two deliveries, then 200: the webhook must retry."""

    calls: ClassVar[list[dict[str, Any]]] = []
    fail_first = 2

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hook.calls.append(body)
        ok = len(Hook.calls) > Hook.fail_first
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, made with `cryptography`."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "smtp.pem", tmp / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    tmp = tmp_path_factory.mktemp("linkage")
    mails: list[Message] = []

    class Sink(MessageHandler):
        def handle_message(self, message: Message) -> None:
            mails.append(message)

    smtp_port, hook_port = free_port(), free_port()
    # The sink insists on STARTTLS with a certificate Vigil is told to trust (alarms.smtp.ca_file).
    cert, key = self_signed(tmp)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port, tls_context=tls, require_starttls=True)
    smtp.start()
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    broker = contextlib.ExitStack()
    mqtt_port, mqtt_msgs = broker.enter_context(mqtt_broker(tmp))
    sim = Sim(tmp, cameras=2, codecs="h264", size="640x360", sub="none").start()
    alarms = {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "tls": "starttls", "sender": "nvr@example.org",
                 "ca_file": str(cert)},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        "webhook_attempts": 4,
        "linkage": [{"name": "intruder", "types": ["external"], "cameras": ["cam1"], "min_interval_seconds": 60,
                     "email": ["guard@example.org"], "webhook": f"http://127.0.0.1:{hook_port}/alarm", "mqtt": True,
                     "buzzer": True, "record": ["cam2"]}],
    }
    cams = [{"id": "cam1", "url": sim.url(1), "record": {"segment_seconds": 10}},
            # The hall's other camera records only around alarms: 3 s before, 4 s after.
            {"id": "cam2", "url": sim.url(2), "record": {"mode": "alarm", "pre_seconds": PRE_S, "post_seconds": POST_S,
                                                         "segment_seconds": 10}}]
    server = Server(tmp, cams, alarms=alarms).start()
    try:
        wait_for(lambda: server.get("/api/cameras/cam1")["state"] == "online", 30, what="camera online")
        wait_for(lambda: httpx.get(f"{server.base}/api/cameras/cam1/snapshot.jpg",
                                   headers=server.headers).status_code == 200, 30, what="a recorded picture")
        yield {"server": server, "mails": mails, "mqtt": mqtt_msgs}
    finally:
        server.stop()
        sim.stop()
        smtp.stop()
        hook.shutdown()
        broker.close()


def raise_alarm(server: Server, message: str) -> dict[str, Any]:
    with server.client() as c:
        r = c.post("/api/alarms/external", json={"source": "pir-hall", "camera": "cam1", "message": message})
        assert r.status_code == 201, r.text
        event: dict[str, Any] = r.json()
        return event


def test_disarmed_alarm_is_logged_but_sends_nothing(site: dict[str, Any]) -> None:
    server = site["server"]
    with server.client() as c:
        assert c.put("/api/system/arm", json={"armed": False}).json()["armed"] is False
    e = raise_alarm(server, "while disarmed")
    time.sleep(3)
    assert server.get(f"/api/events/{e['id']}")["type"] == "external"  # logged
    assert not site["mails"] and not Hook.calls
    assert not server.get("/api/cameras/cam2/recordings")["segments"]  # alarm mode: nothing recorded yet
    assert not [m for m in site["mqtt"] if m[0] == "vigil/cam1/external"]


def test_armed_alarm_mails_the_picture_retries_the_webhook_and_publishes(site: dict[str, Any]) -> None:
    server = site["server"]
    with server.client() as c:
        assert c.put("/api/system/arm", json={"armed": True}).json()["armed"] is True
    t0 = time.monotonic()
    e = raise_alarm(server, "PIR in the hall")
    mail = wait_for(lambda: site["mails"][0] if site["mails"] else None, 20, what="the e-mail")
    assert "PIR in the hall" in mail["Subject"] and mail["To"] == "guard@example.org"
    parsed = email.message_from_bytes(mail.as_bytes())
    pictures = [p for p in parsed.walk() if p.get_content_type() == "image/jpeg"]
    assert pictures and pictures[0].get_payload(decode=True)[:2] == b"\xff\xd8"
    wait_for(lambda: len(Hook.calls) >= 3, 30, what="the webhook's third delivery")
    assert time.monotonic() - t0 >= 2.5  # retried with back-off (1 s, then 2 s)
    assert all(call["id"] == e["id"] and call["type"] == "external" for call in Hook.calls)
    msg = wait_for(lambda: next((m for m in site["mqtt"] if m[0] == "vigil/cam1/external"), None), 20,
                   what="the MQTT message")
    payload = json.loads(msg[1])
    assert payload["id"] == e["id"] and payload["camera_id"] == "cam1" and payload["details"]["source"] == "pir-hall"
    disc = [m for m in site["mqtt"] if m[0].startswith("homeassistant/binary_sensor/vigil_cam1_")]
    assert disc and json.loads(disc[0][1])["state_topic"].startswith("vigil/cam1/")
    # The event now carries the picture that was sent.
    ev = server.get(f"/api/events/{e['id']}")
    assert ev["snapshot_url"] and httpx.get(server.base + ev["snapshot_url"], headers=server.headers).status_code == 200
    # Debounce: a second alarm a moment later is logged, not sent again.
    second = raise_alarm(server, "PIR again")
    time.sleep(3)
    assert len(site["mails"]) == 1 and server.get(f"/api/events/{second['id']}")["type"] == "external"
    # Record linkage: the other camera, in "alarm" mode, recorded from before the alarm to after its post time.
    def covered() -> bool:
        segs = server.get("/api/cameras/cam2/recordings", start=e["start_ms"] - 60_000,
                          end=e["start_ms"] + 60_000)["segments"]
        closed = [sg for sg in segs if sg["status"] == "closed"]
        return bool(closed) and min(sg["start_ms"] for sg in closed) <= e["start_ms"] - PRE_S * 1000 \
            and max(sg["end_ms"] for sg in closed) >= e["start_ms"] + POST_S * 1000
    wait_for(covered, 30, what="cam2's alarm recording to cover pre and post")
    status = server.get("/api/alarms/status")
    assert status["sent"]["email"] == 1 and status["sent"]["webhook"] == 1 and status["sent"]["buzzer"] == 1
    assert "buzzer" in server.log_text()
    rule = status["linkage"][0]
    assert rule["name"] == "intruder" and {"mqtt", "buzzer", "record cam2", "e-mail guard@example.org"} <= set(
        rule["actions"])


def test_acknowledge_and_bad_input(site: dict[str, Any]) -> None:
    server = site["server"]
    with server.client() as c:
        e = c.get("/api/events", params={"type": "external", "limit": 1}).json()[0]
        r = c.post(f"/api/events/{e['id']}/ack")
        assert r.status_code == 200 and r.json()["details"]["ack"]["by"] == "admin"
        assert c.post("/api/events/999999/ack").status_code == 404
        assert c.post("/api/alarms/external", json={"source": "x", "camera": "nope"}).status_code == 404
        assert c.post("/api/alarms/external", json={"camera": "cam1"}).status_code == 422


def test_rules_made_over_the_api_are_checked_like_the_config_and_apply_to_the_next_event(
        site: dict[str, Any]) -> None:
    server = site["server"]
    with server.client() as c:
        assert c.put("/api/system/arm", json={"armed": True}).status_code == 200
        listed = c.get("/api/alarms/linkage").json()
        assert [(r["id"], r["source"], r["rule"]["name"]) for r in listed] == [("config-0", "config", "intruder")]
        # The same checks and messages as vigil.yml, plus the cameras this Vigil has.
        bad = c.post("/api/alarms/linkage", json={"types": ["external"], "emial": ["a@example.org"]})
        assert bad.status_code == 422 and "did you mean 'email'" in bad.json()["detail"]
        bad = c.post("/api/alarms/linkage", json={"types": ["external"], "webhook": "ftp://x"})
        assert bad.status_code == 422 and "http:// or https://" in bad.json()["detail"]
        bad = c.post("/api/alarms/linkage", json={"cameras": ["garage"], "mqtt": True})
        assert bad.status_code == 422 and "no camera 'garage'" in bad.json()["detail"]
        bad = c.post("/api/alarms/linkage", json={"schedule": [{"start": "22:00", "end": "06:00"}], "mqtt": True})
        assert bad.status_code == 422 and "22:00-24:00" in bad.json()["detail"]
        r = c.put("/api/alarms/linkage/config-0", json={"mqtt": True})
        assert r.status_code == 409 and "vigil.yml" in r.json()["detail"]
        assert c.delete("/api/alarms/linkage/nope").status_code == 404

        made = c.post("/api/alarms/linkage", json={"name": "hall door", "types": ["external"], "cameras": ["cam2"],
                                                   "min_interval_seconds": 0, "mqtt": True})
        assert made.status_code == 201, made.text
        rule_id = made.json()["id"]
        e = c.post("/api/alarms/external", json={"source": "door", "camera": "cam2"}).json()
        wait_for(lambda: any(t == "vigil/cam2/external" and json.loads(p)["id"] == e["id"]
                             for t, p, _ in site["mqtt"]), 15, what="the UI rule's MQTT message")
        assert c.get("/api/alarms/status").json()["linkage"][1]["name"] == "hall door"
        # Changed: only alarms of another camera now; cam2's next alarm sends nothing.
        r = c.put(f"/api/alarms/linkage/{rule_id}", json={"types": ["external"], "cameras": ["cam1"],
                                                          "min_interval_seconds": 0})
        assert r.status_code == 200 and r.json()["rule"]["cameras"] == ["cam1"]
        e2 = c.post("/api/alarms/external", json={"source": "door", "camera": "cam2"}).json()
        time.sleep(2)
        assert not any(t == "vigil/cam2/external" and json.loads(p)["id"] == e2["id"] for t, p, _ in site["mqtt"])
        assert c.delete(f"/api/alarms/linkage/{rule_id}").status_code == 204
        assert len(c.get("/api/alarms/linkage").json()) == 1


def test_config_refuses_linkage_without_its_transport(tmp_path: Path) -> None:
    from vigil.config import load_config
    from vigil.errors import ConfigError

    cfg = tmp_path / "vigil.yml"
    cfg.write_text("alarms:\n  linkage:\n    - email: [a@example.org]\n")
    with pytest.raises(ConfigError, match=r"alarms\.smtp"):
        load_config(cfg)
