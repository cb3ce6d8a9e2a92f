"""Applying a changed vigil.yml without a restart (POST /api/system/reload and SIGHUP): a camera added, one removed,
one's retention changed — the untouched cameras' recordings show no gap across the reload; an invalid file is
refused with the message `vigil serve` would give, and nothing changes."""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.helpers import Server, Sim, running, wait_for
from vigil.config import parse_config
from vigil.errors import ConfigError
from vigil.services.reload import plan_reload


def closed(srv: Server, cam: str) -> list[dict[str, Any]]:
    segs = srv.get(f"/api/cameras/{cam}/recordings")["segments"]
    return sorted((s for s in segs if s["status"] == "closed"), key=lambda s: s["start_ms"])


def largest_gap_ms(segs: list[dict[str, Any]], start_ms: float, end_ms: float) -> int:
    """The largest hole between consecutive segments that end or begin within [start, end]."""
    near = [s for s in segs if s["end_ms"] >= start_ms and s["start_ms"] <= end_ms]
    assert len(near) >= 3, near
    return int(max(b["start_ms"] - a["end_ms"] for a, b in itertools.pairwise(near)))


def cam(sim: Sim, n: int, **record: Any) -> dict[str, Any]:
    return {"id": f"cam{n}", "url": sim.url(n), "record": {"segment_seconds": 2, **record}}


def test_plan_restarts_only_what_changed() -> None:
    old = parse_config({"cameras": [{"id": "a", "url": "rtsp://h/a"}, {"id": "b", "url": "rtsp://h/b"},
                                    {"id": "c", "url": "rtsp://h/c"}]})
    new = parse_config({"cameras": [{"id": "a", "url": "rtsp://h/a", "record": {"max_days": 3}},
                                    {"id": "c", "url": "rtsp://h/c2"}, {"id": "d", "url": "rtsp://h/d"}],
                        "storage": {"min_free_gb": 7}})
    plan = plan_reload(old, new, set())
    assert (plan.added, plan.removed, plan.restarted, plan.updated) == (["d"], ["b"], ["c"], ["a"])
    assert plan.needs_restart == ["storage"] and not plan.linkage
    assert "applies at the next restart" in plan.summary()
    with pytest.raises(ConfigError, match="added in the UI or API"):
        plan_reload(old, new, {"d"})


def test_reload_applies_cameras_without_a_gap(tmp_path: Path) -> None:
    sim = Sim(tmp_path, cameras=4, codecs="h264", size="640x360", sub="none").start()
    srv = Server(tmp_path, [cam(sim, 1), cam(sim, 2), cam(sim, 3)])
    try:
        with running(srv):
            wait_for(lambda: all(len(closed(srv, f"cam{n}")) >= 2 for n in (1, 2, 3)), 40, what="recording")
            data = yaml.safe_load(srv.config.read_text())
            data["cameras"] = [cam(sim, 1), cam(sim, 3, max_days=2), cam(sim, 4)]
            srv.config.write_text(yaml.safe_dump(data))
            t_reload = time.time() * 1000
            with srv.client() as http:
                r = http.post("/api/system/reload")
            assert r.status_code == 200, r.text
            got = r.json()
            assert (got["added"], got["removed"], got["restarted"], got["updated"]) == (
                ["cam4"], ["cam2"], [], ["cam3"]), got
            assert {c["id"] for c in srv.get("/api/cameras")} == {"cam1", "cam3", "cam4"}
            wait_for(lambda: len(closed(srv, "cam4")) >= 1, 30, what="the added camera recording")
            wait_for(lambda: len([s for s in closed(srv, "cam1") if s["start_ms"] > t_reload + 2000]) >= 2, 30,
                     what="segments after the reload")
            for c in ("cam1", "cam3"):
                gap = largest_gap_ms(closed(srv, c), t_reload - 4000, t_reload + 4000)
                assert gap < 300, f"{c}: {gap} ms without recording across the reload"
            with srv.client() as http:
                assert http.get("/api/cameras/cam3").json()["record"]["max_days"] == 2

            # A typo: refused with start-up's message; nothing changes.
            data["cameras"][0]["recrod"] = {}
            srv.config.write_text(yaml.safe_dump(data))
            with srv.client() as http:
                r = http.post("/api/system/reload")
            assert r.status_code == 409 and "recrod" in r.json()["detail"] and "did you mean 'record'" in \
                r.json()["detail"], r.text
            assert {c["id"] for c in srv.get("/api/cameras")} == {"cam1", "cam3", "cam4"}

            # SIGHUP, as `systemctl reload vigil` sends it: cam4 goes.
            del data["cameras"][0]["recrod"]
            data["cameras"] = data["cameras"][:2]
            srv.config.write_text(yaml.safe_dump(data))
            assert srv.proc is not None
            srv.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: {c["id"] for c in srv.get("/api/cameras")} == {"cam1", "cam3"}, 20,
                     what="SIGHUP to remove cam4")
            assert httpx.get(srv.base + "/api/health").json()["online"] == 2
    finally:
        sim.stop()
