"""Alarm sources from real conditions: the sim blanks, covers, defocuses and turns its camera and stops its stream;
each fault is exactly one event over RTSP, and the tamper and video-loss ones close when the fault ends."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.helpers import Server, Sim, running, wait_for

OSD = [[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]


def effect(sim: Sim, name: str) -> None:
    r = httpx.get(f"http://127.0.0.1:{sim.http_port}/control/cam1", params={"effect": name}, timeout=5)
    assert r.status_code == 200, r.text


def events(srv: Server, type_: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = srv.get("/api/events", type=type_, camera="gate", limit=100)
    return out


def test_faults_from_the_sim_raise_one_event_each(tmp_path: Any) -> None:
    sim = Sim(tmp_path, cameras=1, codecs="h264", size="640x360", sub="none", scenes=("crossing",)).start()
    cams = [{"id": "gate", "url": sim.url(1), "record": {"segment_seconds": 10},
             "analytics": {"enabled": True, "fps": 5, "motion_masks": [OSD], "motion_events": False}}]
    srv = Server(tmp_path, cams, source={"read_timeout_seconds": 2})
    try:
        with running(srv):
            wait_for(lambda: srv.get("/api/cameras/gate/analytics")["frames"] > 40, 40, what="8 s of analysis")
            for fault, reason in (("blank", "blank"), ("cover", "covered"), ("blur", "defocused")):
                before = {e["id"] for e in events(srv, "tamper")}
                effect(sim, fault)
                ev = wait_for(lambda b=before: [e for e in events(srv, "tamper") if e["id"] not in b], 15,
                              what=f"a tamper event for {fault}")
                assert len(ev) == 1 and ev[0]["details"]["reason"] == reason and ev[0]["severity"] == "alarm", ev
                assert ev[0]["snapshot_url"]
                time.sleep(1)
                effect(sim, "none")
                url = f"/api/events/{ev[0]['id']}"
                wait_for(lambda u=url: srv.get(u)["end_ms"], 10, what=f"{fault} to clear")
                time.sleep(2)
            assert len(events(srv, "tamper")) == 3
            t0 = time.time() * 1000
            effect(sim, "shift")
            wait_for(lambda: events(srv, "scene_change"), 15, what="a scene change")
            time.sleep(5)
            assert len(events(srv, "scene_change")) == 1  # the turned view is the new normal, not a stream of alarms
            assert not [e for e in events(srv, "tamper") if e["start_ms"] >= t0]
            effect(sim, "stop")
            lost = wait_for(lambda: events(srv, "camera_offline"), 15, what="video loss")
            assert len(lost) == 1 and lost[0]["severity"] == "alarm", lost
            effect(sim, "none")
            wait_for(lambda: srv.get(f"/api/events/{lost[0]['id']}")["end_ms"], 20, what="the camera to come back")
            assert len(events(srv, "camera_offline")) == 1
    finally:
        sim.stop()
