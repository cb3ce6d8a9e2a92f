"""A real Vigil with four live-encoded sim cameras (camera 4 in its own sim process, so it can be
stopped alone) and a headless Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ADMIN_PASSWORD, Server, Sim, wait_for
from tests.services import mqtt_broker

ARTIFACTS = Path(__file__).parent / "artifacts"
FPS = 15
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@dataclass
class Site:
    sims: list[Sim]
    srv: Server
    tmp: Path
    mqtt: list[tuple[str, bytes, bool]]  # every message the site's broker carried


# Module scope: the site's five cameras and their analysis must not keep loading the machine after the UI tests.
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("e2e")
    a = Sim(tmp, cameras=3, codecs="h264", size="640x360", sub="none", live="all", fps=FPS).start()
    b = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="none", live="all", fps=FPS).start()
    # Camera 5 films the scripted crossing scene (real photographs) and is analysed, for the rules and events pages.
    c = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="none", scenes=("crossing",)).start()
    urls = [a.url(1), a.url(2), a.url(3), b.url(1)]
    cams: list[dict[str, Any]] = [
        {"id": f"cam{i + 1}", "name": f"Camera {i + 1}", "url": u, "record": {"segment_seconds": 20}}
        for i, u in enumerate(urls)]
    cams.append({"id": "cam5", "name": "Gate", "url": c.url(1), "record": {"segment_seconds": 20},
                 "analytics": {"enabled": True, "motion_masks": [[[0, 0], [0.6, 0], [0.6, 0.1], [0, 0.1]]]}})
    with mqtt_broker(tmp) as (mqtt_port, heard):
        srv = Server(tmp, cams, alarms={"mqtt": {"host": "127.0.0.1", "port": mqtt_port}}).start()
        wait_for(lambda: all(c["state"] == "online" for c in srv.get("/api/cameras")), 30, what="cameras online")
        yield Site([a, b, c], srv, tmp, heard)
        srv.stop()
    for s in (a, b, c):
        s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


def logged_in(browser: Any, srv: Server, enforce_csp: bool = False) -> tuple[Any, Any, list[str]]:
    """(context, page, console errors): a page logged in as admin, collecting console and page errors.

    Playwright's `wait_for_function` evaluates its predicate as a string, which Vigil's Content-Security-Policy
    forbids (no eval): tests that use it run with the policy bypassed; `enforce_csp` keeps it (tests/test_onvif.py
    walks the pages that way, so a UI change that breaks the policy fails there)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True,
                              bypass_csp=not enforce_csp)
    pg, errors = log_in(ctx, srv)
    return ctx, pg, errors


def log_in(ctx: Any, srv: Server) -> tuple[Any, list[str]]:
    """(page, console errors) of a new page of `ctx` logged in as admin."""
    pg = ctx.new_page()
    errors: list[str] = []
    failed: list[str] = []  # answers ≥ 400, named in the message when the console reports an error
    pg.on("response", lambda r: failed.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None)
    pg.on("console", lambda m: errors.append(m.text + (f" (answers ≥ 400 so far: {failed[-5:]})" if failed else ""))
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(srv.base + "/")
    pg.fill("input[name=username]", "admin")
    pg.fill("input[name=password]", ADMIN_PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_selector("header#top:not([hidden])")
    return pg, errors


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A logged-in page; fails the test on any console error or page error."""
    ctx, pg, errors = logged_in(browser, site.srv)
    yield pg
    ctx.close()
    assert not errors, f"console errors: {errors}"


# Reads the sim's barcode (wall-clock ms) from a <video>'s current picture; mirrors vigil.sim.barcode.
READ_CODE_JS = """(video) => {
  const w = video.videoWidth, h = video.videoHeight;
  if (!w || !h) return null;
  const c = document.createElement('canvas'); c.width = w; c.height = h;
  const g = c.getContext('2d', { willReadFrequently: true }); g.drawImage(video, 0, 0, w, h);
  const y0 = Math.floor(h * 0.90), y1 = Math.floor(h * 0.97), cell = w * 0.96 / 48, x0 = w * 0.02;
  let value = 0;
  for (let bit = 0; bit < 48; bit++) {
    const cx = Math.floor(x0 + (bit + 0.5) * cell);
    const q = (y1 - y0) >> 2;
    const x = Math.max(0, cx - Math.floor(cell / 4));
    const d = g.getImageData(x, y0 + q, Math.max(1, Math.floor(cell / 2)), (y1 - y0) - 2 * q).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    value = value * 2 + ((sum / (d.length / 4)) > 128 ? 1 : 0);
  }
  return value;
}"""
