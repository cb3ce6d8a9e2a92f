"""`GET /metrics`: Prometheus' own parser reads every family the issue lists, and the values follow what happens
(a camera going offline, events firing, analysis running, API calls); only admins may scrape."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Server, Sim, running, wait_for
from vigil.services.metrics import CameraFacts, Facts, families

FAMILIES = {
    "vigil_camera_up", "vigil_camera_state", "vigil_camera_bitrate_bits_per_second", "vigil_camera_fps",
    "vigil_camera_segments_written", "vigil_camera_last_segment_age_seconds", "vigil_camera_dropped_packets",
    "vigil_analysis_fps", "vigil_analysis_dropped_frames", "vigil_detector_seconds", "vigil_events",
    "vigil_storage_bytes", "vigil_storage_days_kept", "vigil_api_request_seconds", "vigil_linkage_sent",
    "vigil_linkage_failed", "vigil_cluster_enabled",
}

DASHBOARD = Path(__file__).parent.parent / "docs" / "grafana-dashboard.json"
CLUSTER_ONLY = {"vigil_cluster_lease_held", "vigil_cluster_nodes_alive"}


def scrape(srv: Server) -> dict[str, Any]:
    r = httpx.get(srv.base + "/metrics", headers=srv.headers, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain"), r.text
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def value(fams: dict[str, Any], family: str, sample: str, **labels: str) -> float | None:
    for s in fams[family].samples:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return None


def test_families_from_facts_are_what_prometheus_reads() -> None:
    """The pure part: facts in, families out, with the cluster's only in a cluster."""
    cams = [CameraFacts("a", "online", True, bytes_received=1000, bits_per_second=4e6, fps=25.0,
                        last_segment_end_ms=9_000, analysed=True, analysis_dropped_ratio=0.25),
            CameraFacts("b", "offline", True, lease_held=False)]
    fams = {f.name: f for f in families(Facts(10_000, cams, 100, 60, 40, {"mqtt": 3}, {}, cluster=False))}
    up = {s.labels["camera"]: s.value for s in fams["vigil_camera_up"].samples}
    assert up == {"a": 1.0, "b": 0.0}
    assert [s.value for s in fams["vigil_camera_last_segment_age_seconds"].samples] == [1.0]  # only "a" recorded
    assert [s.labels["camera"] for s in fams["vigil_analysis_dropped_ratio"].samples] == ["a"]
    assert {s.labels["state"] for s in fams["vigil_camera_state"].samples if s.value} == {"online", "offline"}
    assert "vigil_cluster_lease_held" not in fams
    fams = {f.name: f for f in families(Facts(10_000, cams, 100, 60, 40, cluster=True, nodes_alive=2))}
    assert {s.labels["camera"]: s.value for s in fams["vigil_cluster_lease_held"].samples} == {"a": 0.0, "b": 0.0}
    assert fams["vigil_cluster_nodes_alive"].samples[0].value == 2
    assert set(fams) >= CLUSTER_ONLY


def test_metrics_follow_the_cameras_and_events(tmp_path: Any) -> None:
    sim = Sim(tmp_path, cameras=2, codecs="h264", size="640x360", sub="none", scenes=("crossing",) * 2).start()
    cams = [{"id": "door", "url": sim.url(1), "record": {"segment_seconds": 2},
             "analytics": {"enabled": True, "fps": 5}},
            {"id": "yard", "url": sim.url(2), "record": {"segment_seconds": 2}}]
    srv = Server(tmp_path, cams, source={"read_timeout_seconds": 2})
    try:
        with running(srv):
            # A segment written, and the rates settled: the sim sends a new viewer its current GOP at once, so the
            # first segment can close within the first second, before a whole second of rate is known, and that
            # second holds more pictures than a second's worth.
            def settled() -> Any:
                f = scrape(srv)
                fps = value(f, "vigil_camera_fps", "vigil_camera_fps", camera="yard") if f else None
                written = value(f, "vigil_camera_segments_written", "vigil_camera_segments_written_total",
                                camera="yard") if f else None
                return f if written and fps and 5 < fps < 40 else None

            fams = wait_for(settled, 30, what="a segment written and the rates settled")
            missing = FAMILIES - set(fams)
            assert not missing, missing
            assert value(fams, "vigil_camera_up", "vigil_camera_up", camera="yard") == 1
            bps = value(fams, "vigil_camera_bitrate_bits_per_second", "vigil_camera_bitrate_bits_per_second",
                        camera="yard")
            assert bps is not None and bps > 10_000, bps
            fps = value(fams, "vigil_camera_fps", "vigil_camera_fps", camera="yard")
            assert fps is not None and 5 < fps < 40, fps
            assert (value(fams, "vigil_camera_last_segment_age_seconds", "vigil_camera_last_segment_age_seconds",
                          camera="yard") or 99) < 10
            assert value(fams, "vigil_analysis_fps", "vigil_analysis_fps", camera="yard") is None  # not analysed
            wait_for(lambda: (value(scrape(srv), "vigil_detector_seconds", "vigil_detector_seconds_count") or 0) > 5,
                     60, what="detector runs counted")
            fams = scrape(srv)
            assert (value(fams, "vigil_analysis_frames", "vigil_analysis_frames_total", camera="door") or 0) > 5
            # Every API call is timed under its route's template, not its path.
            srv.get("/api/cameras/door")
            fams = scrape(srv)
            assert (value(fams, "vigil_api_request_seconds", "vigil_api_request_seconds_count", method="GET",
                          route="/api/cameras/{camera_id}", status="200") or 0) >= 1

            before = value(fams, "vigil_events", "vigil_events_total", type="camera_offline") or 0
            sim.control(2, effect="stop")
            wait_for(lambda: value(scrape(srv), "vigil_camera_up", "vigil_camera_up", camera="yard") == 0, 20,
                     what="yard shown down")
            wait_for(lambda: (value(scrape(srv), "vigil_events", "vigil_events_total", type="camera_offline",
                                    severity="alarm") or 0) == before + 1, 20, what="the video-loss event counted")
            fams = scrape(srv)
            assert value(fams, "vigil_camera_up", "vigil_camera_up", camera="door") == 1
            # Every series the Grafana board asks for exists (the cluster's, in a cluster: see the pure test).
            shown = {s.name for f in fams.values() for s in f.samples}
            wanted = set(re.findall(r"vigil_[a-z_]+", DASHBOARD.read_text()))
            assert wanted - shown <= CLUSTER_ONLY, wanted - shown
            assert value(fams, "vigil_camera_state", "vigil_camera_state", camera="yard", state="offline") == 1

            # A viewer may not scrape; nobody without a login may.
            with srv.client() as http:
                http.post("/api/users", json={"username": "eve", "password": "viewer-pass-1234", "role": "viewer"}
                          ).raise_for_status()
            with httpx.Client(base_url=srv.base) as c:
                c.post("/api/auth/login", json={"username": "eve", "password": "viewer-pass-1234"}).raise_for_status()
                assert c.get("/metrics").status_code == 403
            assert httpx.get(srv.base + "/metrics").status_code == 401
    finally:
        sim.stop()


def test_rate_meter_counts_whole_seconds() -> None:
    from vigil.recorder.rate import RateMeter

    m = RateMeter(window_s=10)
    for i in range(250):  # 25 frames of 1000 bytes a second, for 10 s from t=100
        m.add(100 + i / 25, 1000, 1)
    assert m.rates(105.5) == (25 * 1000 * 8, 25.0)  # a stream that began 5 s ago: over those 5 s
    assert m.rates(110.0) == (25 * 1000 * 8, 25.0)
    assert m.rates(115.0) == (25 * 1000 * 8 / 2, 12.5)  # half of the window silent
    assert m.rates(121.0) == (0.0, 0.0)
