"""Alarm sources from real conditions: the sim blanks, covers, defocuses and turns its cameras and stops a stream;
each fault is exactly one event over RTSP, and the tamper and video-loss ones close when the fault ends. The faults
run on three cameras at once (one each), as they would on a site."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.helpers import Server, Sim, running, wait_for

OSD = [[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]
TAMPER = {"gate1": ("blank", "blank"), "gate2": ("cover", "covered"), "gate3": ("blur", "defocused")}


def effect(sim: Sim, camera: str, name: str) -> None:
    r = httpx.get(f"http://127.0.0.1:{sim.http_port}/control/cam{camera[-1]}", params={"effect": name}, timeout=5)
    assert r.status_code == 200, r.text


def events(srv: Server, type_: str, camera: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = srv.get("/api/events", type=type_, camera=camera, limit=100)
    return out


def test_faults_from_the_sim_raise_one_event_each(tmp_path: Any) -> None:
    sim = Sim(tmp_path, cameras=3, codecs="h264", size="640x360", sub="none", scenes=("crossing",) * 3).start()
    cams = [{"id": cam, "url": sim.url(int(cam[-1])), "record": {"segment_seconds": 10},
             "analytics": {"enabled": True, "fps": 5, "motion_masks": [OSD], "motion_events": False}}
            for cam in TAMPER]
    srv = Server(tmp_path, cams, source={"read_timeout_seconds": 2})
    try:
        with running(srv):
            wait_for(lambda: all(srv.get(f"/api/cameras/{cam}/analytics")["frames"] > 40 for cam in TAMPER), 40,
                     what="8 s of analysis")
            for cam, (fault, _reason) in TAMPER.items():
                effect(sim, cam, fault)
            raised = {}
            for cam, (fault, reason) in TAMPER.items():
                ev = wait_for(lambda c=cam: events(srv, "tamper", c), 15, what=f"a tamper event for {fault}")
                assert len(ev) == 1 and ev[0]["details"]["reason"] == reason and ev[0]["severity"] == "alarm", ev
                assert ev[0]["snapshot_url"]
                raised[cam] = ev[0]["id"]
            time.sleep(1)
            for cam in TAMPER:
                effect(sim, cam, "none")
            for cam, event_id in raised.items():
                wait_for(lambda e=event_id: srv.get(f"/api/events/{e}")["end_ms"], 10, what=f"{cam}'s fault to clear")
            time.sleep(2)
            assert all(len(events(srv, "tamper", cam)) == 1 for cam in TAMPER), "one event per fault"

            # One camera is turned while another loses its stream.
            t0 = time.time() * 1000
            effect(sim, "gate1", "shift")
            effect(sim, "gate2", "stop")
            wait_for(lambda: events(srv, "scene_change", "gate1"), 15, what="a scene change")
            lost = wait_for(lambda: events(srv, "camera_offline", "gate2"), 15, what="video loss")
            assert len(lost) == 1 and lost[0]["severity"] == "alarm", lost
            effect(sim, "gate2", "none")
            wait_for(lambda: srv.get(f"/api/events/{lost[0]['id']}")["end_ms"], 20, what="the camera to come back")
            time.sleep(3)
            assert len(events(srv, "scene_change", "gate1")) == 1  # the turned view is the new normal
            assert not [e for e in events(srv, "tamper", "gate1") if e["start_ms"] >= t0]
            assert len(events(srv, "camera_offline", "gate2")) == 1
            assert not events(srv, "camera_offline", "gate1") and not events(srv, "camera_offline", "gate3")
    finally:
        sim.stop()
