"""H.265 cameras watched live in a browser that decodes only H.264: one transcoder per camera stream, started by
its first such viewer and shared by the others, never for an H.264 camera, and what is recorded is untouched."""

from __future__ import annotations

import io
import json
import statistics
import time
from collections.abc import Iterator

import av
import pytest

from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for
from vigil.sim.barcode import read_code


def first_seconds(url: str, seconds: float) -> tuple[dict[str, object], bytes, list[tuple[float, bytes]], float]:
    """(init message, init segment, fragments with their arrival time, seconds from connecting to the first)."""
    from websockets.sync.client import connect

    info: dict[str, object] = {}
    init, frags, t0, first = b"", [], time.monotonic(), 0.0
    with connect(url, open_timeout=10) as ws:
        end = t0 + seconds
        while time.monotonic() < end:
            msg = ws.recv(timeout=10)
            if isinstance(msg, str):
                data = json.loads(msg)
                if data["type"] == "init":
                    info = data
                    init = ws.recv(timeout=10)  # type: ignore[assignment]
                continue
            if not frags:
                first = time.monotonic() - t0
            frags.append((time.time() * 1000, msg))
    return info, init, frags, first


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("transcode")
    sim = Sim(tmp, cameras=2, codecs="h264,hevc", size="1280x720", sub="none", live="all", fps=25).start()
    rec = {"segment_seconds": 6}
    srv = Server(tmp, [{"id": "avc", "url": sim.url(1), "record": rec},
                       {"id": "hevc", "url": sim.url(2), "record": rec}]).start()
    try:
        wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 30, what="cameras online")
        yield srv
    finally:
        srv.stop()
        sim.stop()


def test_h265_camera_is_transcoded_for_an_h264_only_viewer_and_h264_is_not(site: Server) -> None:
    srv = site
    token = srv.headers["Authorization"].split()[1]
    base = srv.base.replace("http", "ws")
    # An H.264 camera: served as it is, even to a viewer that asks for H.264.
    info, init, frags, _ = first_seconds(f"{base}/api/cameras/avc/live?stream=main&h264=1&token={token}", 3)
    assert info["transcoded"] is False and str(info["mime"]).startswith('video/mp4; codecs="avc1.')
    # The H.265 camera, to a browser that asked for H.264: an H.264 rendition, decodable, with the camera's
    # pictures (the sim stamps each with its capture time).
    info, init, frags, first = first_seconds(f"{base}/api/cameras/hevc/live?stream=main&h264=1&token={token}", 5)
    assert info["transcoded"] is True and str(info["mime"]).startswith('video/mp4; codecs="avc1.'), info
    assert init[4:8] == b"ftyp" and len(frags) >= 25, len(frags)
    latencies = []
    with av.open(io.BytesIO(init + b"".join(f for _, f in frags))) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        for frame, (arrived, _) in zip(c.decode(video=0), frags, strict=False):
            assert (frame.width, frame.height) == (1280, 720)
            latencies.append(arrived - read_code(frame.to_ndarray(format="bgr24")))
    latencies.sort()
    median = latencies[len(latencies) // 2]
    print(f"\ntranscoded live: first fragment after {first:.2f} s, median capture-to-arrival latency "
          f"{median:.0f} ms over {len(latencies)} frames")
    assert median < 1000
    # A viewer whose browser plays H.265 gets the camera's own stream.
    info, _, _, _ = first_seconds(f"{base}/api/cameras/hevc/live?stream=main&token={token}", 2)
    assert info["transcoded"] is False and str(info["mime"]).startswith('video/mp4; codecs="hvc1.')
    log = srv.log_text()
    assert "live_transcode_start" in log and "stream=hevc/main/h264" in log
    assert "stream=avc/main/h264" not in log  # no transcoder ever ran for the H.264 camera
    # Recording is what the camera sent.
    seg = wait_for(lambda: srv.get("/api/cameras/hevc/recordings")["segments"], 30, what="a segment")[0]
    assert seg["codec"] == "hevc"


def test_h265_tile_plays_in_chromium(site: Server) -> None:
    """Headless Chromium has no H.265 decoder: the tile asks for H.264, says so, and plays with low latency."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, READ_CODE_JS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        assert not page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"hvc1.1.6.L120.90\"')")
        page.goto(site.base + "/#/live")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header#top:not([hidden])")
        t0 = time.monotonic()
        page.click("[data-layout='4']")
        tile = ".tile[data-camera=hevc]"
        page.wait_for_selector(f"{tile}[data-state=online][data-transcoded='1']", timeout=15000)
        page.wait_for_function(f"document.querySelector('{tile} video').currentTime > 0", timeout=15000)
        started = time.monotonic() - t0
        assert "H.264 by Vigil" in page.inner_text(f"{tile} .state")
        latencies = []
        for _ in range(10):
            shown = page.evaluate(READ_CODE_JS, page.query_selector(f"{tile} video"))
            assert shown, "no picture in the tile"
            latencies.append(page.evaluate("Date.now()") - int(shown))
            time.sleep(0.2)
        median = statistics.median(latencies)
        print(f"\nH.265 tile in Chromium: playing {started:.2f} s after the grid opened; glass-to-glass latency "
              f"median {median:.0f} ms")
        assert median < 1000
        page.screenshot(path=str(ARTIFACTS / "live-h265-transcoded.png"))
        # The H.264 camera's tile is the camera's own stream.
        assert page.get_attribute(".tile[data-camera=avc]", "data-transcoded") == ""
        browser.close()


def test_h265_recording_plays_back_and_downloads_as_h264(site: Server) -> None:
    srv = site
    wait_for(lambda: sum(s["end_ms"] - s["start_ms"] for s in srv.get("/api/cameras/hevc/recordings")["segments"]
                         if s["end_ms"]) >= 12_000 or None, 60, what="12 s of H.265 recorded")
    # Across a segment boundary: fragments of two files in one rendition.
    seg = next(s for s in srv.get("/api/cameras/hevc/recordings")["segments"] if s["end_ms"])
    start, end = seg["start_ms"] + 1000, seg["start_ms"] + 9000
    with srv.client() as c:
        r = c.get("/api/cameras/hevc/playback.mp4", params={"start": start, "end": end, "codec": "h264"})
        assert r.status_code == 200, r.text
        assert r.headers["x-transcoded"] == "h264" and r.headers["x-codecs"].startswith("avc1.")
        origin = int(r.headers["x-start-ms"])
        # Decodable H.264 whose pictures sit on the recording's timeline: the sim stamps each picture with its
        # capture time, which must follow the MP4's own time across every fragment (each transcoded apart).
        with av.open(io.BytesIO(r.content)) as mp4:
            video = mp4.streams.video[0]
            assert video.codec_context.name == "h264"
            offsets = []
            for frame in mp4.decode(video):
                assert (frame.width, frame.height) == (1280, 720)
                assert frame.time is not None
                offsets.append(read_code(frame.to_ndarray(format="bgr24")) - (origin + frame.time * 1000))
        assert len(offsets) >= 8 * 25 - 5, len(offsets)
        assert max(offsets) - min(offsets) < 100, (min(offsets), max(offsets))  # one clock, no jumps
        assert abs(statistics.median(offsets)) < 1500  # and the recording's wall time, within the camera's delay
        # Again: from the cache, the same bytes.
        again = c.get("/api/cameras/hevc/playback.mp4", params={"start": start, "end": end, "codec": "h264"})
        assert again.content == r.content
        # An H.264 recording is served as recorded even to an H.264-only browser: no transcoding, Range works.
        avc = c.get("/api/cameras/avc/playback.mp4", params={"start": start, "end": end, "codec": "h264"},
                    headers={"Range": "bytes=0-99"})
        assert avc.status_code == 206 and "x-transcoded" not in avc.headers and avc.headers["x-codec"] == "h264"

    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, READ_CODE_JS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{srv.base}/#/playback?camera=hevc&at={start + 2000}")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        video = "video[data-camera=hevc][data-transcoded='1']"
        page.wait_for_selector(video, timeout=15000)
        page.wait_for_function(f"document.querySelector(\"{video}\").readyState >= 2", timeout=20000)
        assert "H.264 by Vigil" in page.inner_text("#players .tile .mode")
        # Playing, and the picture shown is the instant asked for (the play head), within a second. The player's
        # clock runs once the seek is done (the seek itself moves currentTime by up to a GOP).
        page.wait_for_selector("#players[data-head]", state="attached", timeout=15000)
        t0 = page.eval_on_selector(video, "v => v.currentTime")
        wait_for(lambda: page.eval_on_selector(video, "v => v.currentTime") > t0 + 1.0, 10, what="playback running")
        shown = page.evaluate(READ_CODE_JS, page.query_selector(video))
        head = int(page.get_attribute("#players", "data-head") or 0)
        assert shown and abs(int(shown) - head) < 1500, (shown, head)
        page.screenshot(path=str(ARTIFACTS / "playback-h265-transcoded.png"))
        # The download link asks for H.264 and the file plays in this browser.
        href = page.get_attribute("#ex-download", "href") or ""
        assert "codec=h264" in href and "H.264 by Vigil" in page.inner_text("#ex-download")
        played = page.evaluate("""async (href) => {
            const blob = await (await fetch(href, { credentials: 'same-origin' })).blob();
            const v = document.createElement('video'); v.muted = true; v.src = URL.createObjectURL(blob);
            document.body.append(v); await v.play();
            await new Promise((ok) => setTimeout(ok, 1500));
            return [blob.type, blob.size, v.currentTime, v.videoWidth];
        }""", href)
        assert played[0] == "video/mp4" and played[1] > 10_000 and played[2] > 0.5 and played[3] == 1280, played
        browser.close()
    assert not errors, errors
