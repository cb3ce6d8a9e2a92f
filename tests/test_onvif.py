"""ONVIF against the sim's devices over real SOAP on loopback: WS-Discovery, adding a camera by address and
credentials (in the web UI, headless Chromium), PTZ that moves the sim's picture (from the live tile and the
API), presets that survive restarts, the camera's own events, the PTZ-preset linkage; and RTSP out (Digest,
bit-identical packets, the sub-stream, replay from a time)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.e2e.conftest import ARTIFACTS, browser, logged_in  # noqa: F401 — `browser` is a fixture
from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for
from vigil.sim.barcode import read_code
from vigil.sim.ptz import decode_position

USER, PASSWORD = "admin", "sim-pass"


class Site:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.discovery_port = 0
        self.sim: Sim | None = None
        self.server: Server | None = None

    def start_sim(self, **ports: int) -> Sim:
        """The same ports again when given: a restarted camera keeps its address."""
        # Keyframes every 0.5 s: a new client's first pictures (the GOP so far) are at most that old.
        sim = Sim(self.tmp, cameras=2, codecs="h264", size="640x360", sub="320x180", live="sub", fps=10, gop=0.5,
                  onvif=True, ptz=1, discovery_port=self.discovery_port, state_dir=self.tmp / "sim-state", **ports)
        self.sim = sim.start()
        return sim


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("onvif"))
    s.discovery_port = 3702  # the standard port, which the web UI probes (sims share it)
    s.start_sim()
    rule = {"name": "turn to the door", "types": ["external"], "min_interval_seconds": 0,
            "ptz_preset": [{"camera": "ptz", "preset": "door"}]}
    s.server = Server(s.tmp, [], alarms={"linkage": [rule]}).start()
    try:
        yield s
    finally:
        s.server.stop()
        if s.sim is not None:
            s.sim.stop()


def view(url: str, frames: int = 6) -> tuple[float, float, float]:
    """Where the PTZ camera looks now: the position burned into the newest of `frames` decoded pictures (the
    first ones a new client gets are the GOP so far, up to 0.5 s old)."""
    c = av.open(url, options={"rtsp_transport": "tcp"}, timeout=10)
    try:
        last = None
        for i, frame in enumerate(c.decode(c.streams.video[0])):
            last = frame
            if i >= frames:
                break
        assert last is not None
        return decode_position(read_code(last.to_ndarray(format="bgr24")))
    finally:
        c.close()


def added(site: Site) -> dict[str, Any]:
    """The PTZ sim camera (cam2), added once by address and credentials (by the web UI test when it ran)."""
    assert site.server is not None and site.sim is not None
    with site.server.client() as c:
        r = c.get("/api/cameras/ptz")
        if r.status_code == 200:
            return dict(r.json())
        r = c.post("/api/onvif/cameras", json={"id": "ptz", "host": "127.0.0.1", "port": site.sim.onvif_port + 1,
                                               "username": USER, "password": PASSWORD})
        assert r.status_code == 201, r.text
        return dict(r.json())


def test_web_ui_discovers_adds_and_steers_the_ptz_camera(browser: Any, site: Site) -> None:  # noqa: F811
    assert site.server is not None and site.sim is not None
    srv, sim = site.server, site.sim
    ctx, page, errors = logged_in(browser, srv, enforce_csp=True)  # and the CSP holds on the pages it visits
    try:
        for other in ("overview", "events", "search", "playback", "people", "plates", "faces", "rules", "settings"):
            page.goto(f"{srv.base}/#/{other}")
            page.wait_for_timeout(500)  # rendered; a policy violation would be a console error
        assert not errors, f"console errors (Content-Security-Policy?): {errors}"
        page.goto(f"{srv.base}/#/cameras")
        page.click("#o-discover")
        row = f"#o-found tr:has-text('127.0.0.1:{sim.onvif_port + 1}')"
        page.wait_for_selector(row, timeout=15000)
        assert "SIM-PTZ-4K" in page.inner_text(row) and "needed" in page.inner_text(row)
        page.click(f"{row} [data-use]")
        assert page.input_value("#o-host") == "127.0.0.1" and page.input_value("#o-port") == str(sim.onvif_port + 1)
        page.fill("#o-user", USER)
        page.fill("#o-pass", PASSWORD)
        page.fill("#o-id", "ptz")
        page.click("#o-look")
        page.wait_for_selector("#o-info:has-text('SIM-PTZ-4K')")
        assert "640×360" in page.inner_text("#o-info") and "PTZ" in page.inner_text("#o-info")
        page.click("#o-add")
        page.wait_for_selector("td:has-text('ptz')", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "onvif-add.png"))
        assert srv.get("/api/cameras/ptz")["onvif"]["port"] == sim.onvif_port + 1

        page.goto(f"{srv.base}/#/live")
        tile = ".tile[data-camera=ptz]"
        page.wait_for_selector(f"{tile}[data-state=online] .ptz", timeout=20000)
        before = srv.get("/api/cameras/ptz/ptz/status")["pan"]
        page.locator(f"{tile} .ptz [aria-label='pan right']").hover()
        page.mouse.down()
        page.wait_for_timeout(1200)
        page.mouse.up()
        after = wait_for(lambda: (p := srv.get("/api/cameras/ptz/ptz/status"))["pan"] > before + 0.2 and p, 5,
                         what="the camera to pan right")
        page.wait_for_timeout(500)
        assert srv.get("/api/cameras/ptz/ptz/status")["pan"] == pytest.approx(after["pan"], abs=0.05), \
            "releasing the button stops the camera"
        page.once("dialog", lambda d: d.accept("porch"))
        page.click(f"{tile} .save-preset")
        page.wait_for_selector(f"{tile} .ptz select option:has-text('porch')", state="attached")
        page.screenshot(path=str(ARTIFACTS / "ptz-tile.png"))
        presets = srv.get("/api/cameras/ptz/ptz/presets")
        assert [p["name"] for p in presets] == ["porch"]
        with srv.client() as c:  # tidy up for the PTZ test, which counts presets
            assert c.delete(f"/api/cameras/ptz/ptz/presets/{presets[0]['token']}").status_code == 204
    finally:
        ctx.close()
    assert not errors, f"console errors: {errors}"


def test_discovery_finds_the_sims_cameras_and_one_is_added_without_a_url(site: Site) -> None:
    assert site.server is not None and site.sim is not None
    with site.server.client() as c:
        r = c.post("/api/onvif/discover", json={"interfaces": ["127.0.0.1"], "port": site.discovery_port,
                                                "timeout_seconds": 1.5})
        assert r.status_code == 200, r.text
        found = {d["port"]: d for d in r.json() if d["host"] == "127.0.0.1"}
        ours = [site.sim.onvif_port, site.sim.onvif_port + 1]
        assert set(ours) <= set(found), r.json()
        for port, model in zip(ours, ("SIM-BULLET-4K", "SIM-PTZ-4K"), strict=True):
            d = found[port]
            assert (d["vendor"], d["model"]) == ("Vigil-Sim", model)
            assert d["needs_credentials"] is True  # the sim answers nothing but the clock without a login
            assert d["xaddr"] == f"http://127.0.0.1:{port}/onvif/device_service"

        bad = c.post("/api/onvif/probe", json={"host": "127.0.0.1", "port": site.sim.onvif_port + 1,
                                               "username": USER, "password": "wrong"})
        assert bad.status_code == 422 and "refused the user name or password" in bad.json()["detail"]
        dead = c.post("/api/onvif/probe", json={"host": "127.0.0.1", "port": 9, "username": USER, "password": "x"})
        assert dead.status_code == 422 and "cannot connect" in dead.json()["detail"]

        probe = c.post("/api/onvif/probe", json={"host": "127.0.0.1", "port": site.sim.onvif_port + 1,
                                                 "username": USER, "password": PASSWORD}).json()
        assert (probe["main"], probe["sub"]) == ("main", "sub")
        sizes = {p["token"]: (p["width"], p["height"]) for p in probe["profiles"]}
        assert sizes == {"main": (640, 360), "sub": (320, 180)}
        assert all(p["ptz"] for p in probe["profiles"])
        bullet = c.post("/api/onvif/probe", json={"host": "127.0.0.1", "port": site.sim.onvif_port,
                                                  "username": USER, "password": PASSWORD}).json()
        assert bullet["model"] == "SIM-BULLET-4K" and not any(p["ptz"] for p in bullet["profiles"])

    cam = added(site)
    # The stream addresses came from the camera (GetStreamUri), with the credentials added, shown redacted.
    assert cam["url"] == f"rtsp://admin:***@127.0.0.1:{site.sim.rtsp_port}/cam2"
    assert cam["sub_url"] == f"rtsp://admin:***@127.0.0.1:{site.sim.rtsp_port}/cam2/sub"
    assert cam["onvif"] == {"host": "127.0.0.1", "port": site.sim.onvif_port + 1, "username": USER, "events": True}
    assert "sim-pass" not in site.server.client().get("/api/cameras").text
    # It records: a picture of it comes back from the recording.
    wait_for(lambda: site.server.client().get("/api/cameras/ptz/snapshot.jpg").content[:2] == b"\xff\xd8", 20,
             what="a recorded picture")
    with site.server.client() as c:
        again = c.post("/api/onvif/discover", json={"interfaces": ["127.0.0.1"], "port": site.discovery_port,
                                                    "timeout_seconds": 1})
        by_port = {d["port"]: d for d in again.json()}
        assert by_port[site.sim.onvif_port + 1]["camera_id"] == "ptz"

    out = subprocess.run([sys.executable, "-m", "vigil.cli", "camera", "discover", "--interface", "127.0.0.1",
                          "--port", str(site.discovery_port), "--timeout", "1"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert f"127.0.0.1:{site.sim.onvif_port + 1}" in out.stdout and "Vigil-Sim" in out.stdout
    assert "needed" in out.stdout


def test_camera_side_events_become_vigil_events_within_2_s(site: Site) -> None:
    assert site.server is not None and site.sim is not None
    added(site)
    wait_for(lambda: "onvif_events_subscribed" in site.server.log_text(), 20, what="the event subscription")

    def camera_events(type_: str, since: int) -> list[dict[str, Any]]:
        hits = site.server.get("/api/search", camera="ptz", type=type_, source="camera", start=since)["hits"]
        return list(hits)

    t0 = int(time.time() * 1000)
    site.sim.control(2, event="line")
    hit = wait_for(lambda: camera_events("tripwire", t0 - 1000), 5, interval=0.05, what="the line-crossing event")
    latency = time.time() * 1000 - t0
    assert latency < 2000, f"{latency:.0f} ms"
    e = hit[0]
    assert e["source"] == "camera" and e["end_ms"] == e["start_ms"]
    assert e["details"]["topic"] == "tns1:RuleEngine/LineDetector/Crossed"

    site.sim.control(2, event="motion")
    motion = wait_for(lambda: camera_events("motion", t0), 5, interval=0.05, what="camera motion")[0]
    assert motion["end_ms"] is None  # a state: open until the camera says it ended
    site.sim.control(2, event="motion", value="false")
    wait_for(lambda: camera_events("motion", t0)[0]["end_ms"] is not None, 5, what="the motion's end")

    site.sim.control(2, event="plate", value="KX19ABC")
    plate = wait_for(lambda: site.server.get("/api/search", plate="KX19*", source="camera", start=t0)["hits"], 5,
                     what="the camera's plate read")[0]
    assert plate["type"] == "plate_read" and plate["plate"] == "KX19ABC"
    # Vigil's own search without the filter finds them beside its own events; source=vigil leaves them out.
    assert not site.server.get("/api/search", camera="ptz", source="vigil", start=t0)["hits"]


def test_ptz_moves_the_picture_and_presets_survive_restarts(site: Site) -> None:
    assert site.server is not None and site.sim is not None
    added(site)
    sub = site.sim.url(2, sub=True)
    with site.server.client() as c:
        assert c.post("/api/cameras/ptz/ptz/move", json={"pan": -1, "tilt": 0, "zoom": 0, "seconds": 3}
                      ).status_code == 204
        time.sleep(3.3)  # pan speed 0.5/s: 3 s to the far left from anywhere in the middle
        start = view(sub)
        assert start[0] == pytest.approx(-1, abs=0.02)
        assert c.post("/api/cameras/ptz/ptz/move", json={"pan": 1, "seconds": 1}).status_code == 204
        time.sleep(1.5)
        moved = view(sub)
        assert 0.3 < moved[0] - start[0] < 0.7, (start, moved)  # right, by about 0.5 (1 s at full speed)
        status = c.get("/api/cameras/ptz/ptz/status").json()
        assert status["pan"] == pytest.approx(moved[0], abs=0.02)

        assert c.post("/api/cameras/ptz/ptz/move", json={"zoom": 1, "tilt": 1, "seconds": 0.6}).status_code == 204
        time.sleep(1)
        door = c.post("/api/cameras/ptz/ptz/presets", json={"name": "door"}).json()
        at_door = c.get("/api/cameras/ptz/ptz/status").json()
        assert at_door["zoom"] > 0.1 and at_door["tilt"] > 0.1
        assert c.post("/api/cameras/ptz/ptz/move", json={"pan": 1, "tilt": -1, "zoom": -1, "seconds": 1}
                      ).status_code == 204
        time.sleep(1.2)
        assert c.post(f"/api/cameras/ptz/ptz/presets/{door['token']}/goto").status_code == 204

        def at_preset() -> tuple[float, float, float] | None:
            v = view(sub)
            return v if abs(v[0] - at_door["pan"]) < 0.01 else None

        back = wait_for(at_preset, 10, what="the view at the preset")
        assert back[1] == pytest.approx(at_door["tilt"], abs=0.01)
        assert back[2] == pytest.approx(at_door["zoom"], abs=0.01)
        missing = c.post("/api/cameras/ptz/ptz/presets/nope/goto")
        assert missing.status_code == 502 and "no preset" in missing.json()["detail"]
        assert c.post("/api/cameras/ptz/ptz/move", json={"pan": 2}).status_code == 422

    # Restart both sides: the camera keeps its presets, Vigil keeps the camera and its ONVIF settings.
    rtsp_port, http_port, onvif_port = site.sim.rtsp_port, site.sim.http_port, site.sim.onvif_port
    site.server.stop()
    site.sim.stop()
    site.start_sim(rtsp_port=rtsp_port, http_port=http_port, onvif_port=onvif_port)
    site.server.start()
    with site.server.client() as c:
        assert c.get("/api/cameras/ptz").json()["onvif"]["port"] == onvif_port + 1
        presets = wait_for(lambda: c.get("/api/cameras/ptz/ptz/presets").json(), 20, what="the presets")
        assert [p["name"] for p in presets] == ["door"]
        assert view(sub)[0] == pytest.approx(0, abs=0.01)  # a restarted head starts at home
        # The linkage "go to preset" turns the camera when an alarm comes in (armed).
        assert c.put("/api/system/arm", json={"armed": True}).status_code == 200
        r = c.post("/api/alarms/external", json={"source": "pir-door", "camera": "ptz"})
        assert r.status_code == 201
        wait_for(lambda: abs(view(sub)[0] - at_door["pan"]) < 0.01, 10, what="the linkage to turn the camera")


def _packets(url: str, n: int, out: list[tuple[bool, str]]) -> None:
    c = av.open(url, options={"rtsp_transport": "tcp"}, timeout=10)
    try:
        for p in c.demux(c.streams.video[0]):
            if p.size:
                out.append((bool(p.is_keyframe), hashlib.sha1(bytes(p)).hexdigest()))
            if len(out) >= n:
                break
    finally:
        c.close()


def test_rtsp_out_with_digest_bit_identical_packets_and_the_sub_stream(site: Site) -> None:
    assert site.server is not None and site.sim is not None
    added(site)
    rtsp = site.server.rtsp_port
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(f"rtsp://127.0.0.1:{rtsp}/ptz", options={"rtsp_transport": "tcp"}, timeout=10)
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(f"rtsp://admin:wrong@127.0.0.1:{rtsp}/ptz", options={"rtsp_transport": "tcp"}, timeout=10)
    with pytest.raises(av.error.FFmpegError):  # 404: no such camera
        av.open(f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{rtsp}/nope", options={"rtsp_transport": "tcp"},
                timeout=10)

    ours: list[tuple[bool, str]] = []
    theirs: list[tuple[bool, str]] = []
    readers = [threading.Thread(target=_packets, args=(f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{rtsp}/ptz", 40,
                                                         ours)),
               # the camera's own client may start a while before ours (a camera just added): read on longer
               threading.Thread(target=_packets, args=(site.sim.url(2), 100, theirs))]
    for t in readers:
        t.start()
    for t in readers:
        t.join(60)
    assert ours and ours[0][0], "a client of RTSP out starts on a keyframe"
    # The same access units, byte for byte, in the same order: align on the first one both have.
    hashes = [h for _, h in theirs]
    start = next(i for i, (_, h) in enumerate(ours) if h in hashes)
    j = hashes.index(ours[start][1])
    common = min(len(ours) - start, len(hashes) - j)
    assert common >= 20, (start, j)
    assert [h for _, h in ours[start:start + common]] == hashes[j:j + common]

    sub: list[tuple[bool, str]] = []
    _packets(f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{rtsp}/ptz/sub", 10, sub)
    assert len(sub) == 10 and sub[0][0]


# pure parts, no camera
def test_camera_topics_map_to_vigil_events() -> None:
    from vigil.onvif.events import map_message

    def sig(topic: str, data: dict[str, str], op: str = "Changed") -> Any:
        return map_message(topic, op, {"Rule": "r1"}, data, 1000)

    assert (s := sig("tns1:RuleEngine/CellMotionDetector/Motion", {"IsMotion": "true"})) and (s.type, s.state) == (
        "motion", True)
    assert sig("tns1:VideoSource/MotionAlarm", {"State": "false"}).state is False
    assert sig("tns1:RuleEngine/CellMotionDetector/Motion", {"IsMotion": "false"}, "Initialized") is None
    assert sig("tns1:RuleEngine/LineDetector/Crossed", {"ObjectId": "3"}).type == "tripwire"
    assert sig("tns1:RuleEngine/MyRuleDetector/LineCross", {"State": "true"}).type == "tripwire"  # a vendor's name
    assert sig("tns1:RuleEngine/FieldDetector/ObjectsInside", {"IsInside": "true"}).type == "intrusion"
    assert sig("tns1:VideoSource/GlobalSceneChange/ImagingService", {"State": "true"}).type == "tamper"
    plate = sig("tns1:RuleEngine/LicensePlateRecognition/Plate", {"PlateNumber": "kx-19 abc"})
    assert (plate.type, plate.plate, plate.state) == ("plate_read", "KX19ABC", None)
    assert sig("tns1:RuleEngine/MyRuleDetector/PeopleDetect", {"State": "true"}).label == "person"
    assert sig("tns1:Device/Trigger/DigitalInput", {"LogicalState": "true"}) is None  # not Vigil's business
    a, b = sig("tns1:VideoSource/MotionAlarm", {"State": "true"}), map_message(
        "tns1:VideoSource/MotionAlarm", "Changed", {"Source": "vs2"}, {"State": "true"}, 0)
    assert a.key != b.key  # two video sources of one camera are two conditions


def test_digest_auth_accepts_the_right_response_only() -> None:
    import hashlib

    from vigil.catalog.accounts import rtsp_ha1
    from vigil.media.rtsp_auth import DigestAuth, Verdict, parse_authorization

    alice = (rtsp_ha1("alice", "s3cret-pass"), "the alice")
    auth = DigestAuth("Vigil", lambda user: alice if user == "alice" else None)
    challenge = parse_authorization(auth.challenge(bound="conn1"))
    assert challenge is not None and challenge["realm"] == "Vigil" and challenge["qop"] == "auth"
    url = "rtsp://h/cam1"

    def header(password: str, user: str = "alice", nonce: str = challenge["nonce"], uri: str = url,
               nc: int = 1) -> str:
        md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
        ha1, ha2 = md5(f"{user}:Vigil:{password}"), md5(f"DESCRIBE:{uri}")
        resp = md5(f"{ha1}:{nonce}:{nc:08x}:abc:auth:{ha2}")
        return (f'Digest username="{user}", realm="Vigil", nonce="{nonce}", uri="{uri}", '
                f'response="{resp}", qop=auth, nc={nc:08x}, cnonce="abc"')

    def check(h: str | None, bound: str = "conn1", counts: dict[str, int] | None = None,
              on: str = url) -> Verdict[str]:
        return auth.check("DESCRIBE", on, h, bound, counts)

    assert check(header("s3cret-pass")) == Verdict("the alice", username="alice")  # whom the lookup found
    assert check(header("wrong")) == Verdict(failed=True, username="alice")
    assert check(header("s3cret-pass", user="bob")) == Verdict(failed=True, username="bob")
    # A nonce this server did not issue (another node's, before its redirect): the right digest is asked to answer
    # a fresh challenge (stale), a wrong one is refused and counted.
    foreign = DigestAuth("Vigil", lambda user: alice if user == "alice" else None)._nonce(bound="conn1")
    assert check(header("s3cret-pass", nonce=foreign)).stale
    assert check(header("wrong", nonce=foreign)).failed
    assert check(header("wrong", nonce="0" + challenge["nonce"][1:])).failed
    old = auth._nonce(int(time.time()) - 3600, "conn1")
    assert check(header("s3cret-pass", nonce=old)).stale  # stale: ask again, silently
    assert check("Basic YWxpY2U6czNjcmV0") == Verdict() and check(None) == Verdict()
    # A captured header is worth nothing elsewhere: on another connection it only earns a fresh challenge, for
    # another path it is refused, and the same nc twice is a replay.
    good = header("s3cret-pass")
    assert check(good, bound="conn2").user is None and check(good, bound="conn2").stale
    assert check(good, on="rtsp://h/door").failed
    assert check(header("s3cret-pass", uri="/cam1")).user == "the alice"  # a path alone names it too
    counts: dict[str, int] = {}
    assert check(good, counts=counts).user == "the alice"
    assert check(good, counts=counts).failed
    assert check(header("s3cret-pass", nc=2), counts=counts).user == "the alice"


def test_stream_format_reads_annexb_and_avcc_extradata(tmp_path: Path) -> None:
    from vigil.media.rtp import split_annexb, split_length_prefixed, stream_format

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:  # MP4 stores avcC and length-prefixed samples
        s = out.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        import numpy as np

        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    with av.open(str(path)) as inp:
        v = inp.streams.video[0]
        params, size = stream_format("h264", v.codec_context.extradata)
        assert size == 4 and set(params) == {"sps", "pps"} and params["sps"][0] & 0x1F == 7
        first = next(p for p in inp.demux(v) if p.size)
        nals = split_length_prefixed(bytes(first), size)
        assert any(n[0] & 0x1F == 5 for n in nals)  # the IDR slice, whole
    annexb = b"\x00\x00\x00\x01" + params["sps"] + b"\x00\x00\x01" + params["pps"]
    assert stream_format("h264", annexb) == ({"sps": params["sps"], "pps": params["pps"]}, 0)
    assert split_annexb(annexb) == [params["sps"], params["pps"]]


def test_rtsp_out_replays_the_recording_from_a_time(site: Site) -> None:
    assert site.server is not None
    from vigil.media.rtp import split_annexb, split_length_prefixed

    added(site)
    # The segment being written (its index row has no end yet) replays as far as it is on disk.
    segs = wait_for(lambda: [s for s in site.server.get("/api/cameras/ptz/recordings", start=0)["segments"]
                             if time.time() * 1000 - s["start_ms"] >= 4000], 30, what="4 s of recording")
    t = segs[-1]["start_ms"] + 1000
    url = f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{site.server.rtsp_port}/ptz?start={t}"
    c = av.open(url, options={"rtsp_transport": "tcp"}, timeout=10)
    replayed: list[list[bytes]] = []
    key = []
    try:
        for p in c.demux(c.streams.video[0]):
            if p.size:
                replayed.append(split_annexb(bytes(p)))
                key.append(bool(p.is_keyframe))
            if len(replayed) >= 12:
                break
    finally:
        c.close()
    assert key[0], "a replay starts on the keyframe at or before the asked time"
    mp4 = site.server.client().get("/api/cameras/ptz/playback.mp4", params={"start": t, "end": t + 3000})
    assert mp4.status_code == 200
    path = site.tmp / "replay-ref.mp4"
    path.write_bytes(mp4.content)
    with av.open(str(path)) as ref:
        recorded = [split_length_prefixed(bytes(p), 4) for p in ref.demux(ref.streams.video[0]) if p.size]
    # The same access units as recorded, from the same keyframe on (the MP4 starts there too).
    assert replayed == recorded[:len(replayed)]
    later = int(time.time() + 3600) * 1000
    future = f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{site.server.rtsp_port}/ptz?start={later}"
    with pytest.raises(av.error.FFmpegError):
        av.open(future, options={"rtsp_transport": "tcp"}, timeout=10)
