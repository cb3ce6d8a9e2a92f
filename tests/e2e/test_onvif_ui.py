"""The ONVIF dialog and the PTZ controls in headless Chromium: discover the sim's PTZ camera, add it with its
login, then steer it from its live tile and save a preset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, logged_in
from tests.helpers import Server, Sim, wait_for


@pytest.fixture(scope="module")
def onvif_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sim, Server]]:
    tmp = tmp_path_factory.mktemp("onvif-ui")
    # WS-Discovery on its standard port, as the web UI probes it (several sims may share it).
    sim = Sim(tmp, cameras=1, codecs="h264", size="640x360", sub="320x180", live="sub", fps=10, onvif=True, ptz=1,
              discovery_port=3702).start()
    srv = Server(tmp, []).start()
    yield sim, srv
    srv.stop()
    sim.stop()


def test_discover_add_and_steer_a_ptz_camera(browser: Any, onvif_site: tuple[Sim, Server]) -> None:
    sim, srv = onvif_site
    ctx, page, errors = logged_in(browser, srv)
    try:
        page.goto(f"{srv.base}/#/cameras")
        page.click("#o-discover")
        address = f"127.0.0.1:{sim.onvif_port}"
        row = f"#o-found tr:has-text('{address}')"
        page.wait_for_selector(row, timeout=15000)
        assert "Vigil-Sim" in page.inner_text(row) and "needed" in page.inner_text(row)
        page.click(f"{row} [data-use]")
        assert page.input_value("#o-host") == "127.0.0.1" and page.input_value("#o-port") == str(sim.onvif_port)
        page.fill("#o-user", "admin")
        page.fill("#o-pass", "sim-pass")
        page.fill("#o-id", "ptzcam")
        page.click("#o-look")
        page.wait_for_selector("#o-info:has-text('SIM-PTZ-4K')")
        assert "640×360" in page.inner_text("#o-info") and "PTZ" in page.inner_text("#o-info")
        page.click("#o-add")
        page.wait_for_selector("td:has-text('ptzcam')", timeout=15000)
        page.screenshot(path=str(ARTIFACTS / "onvif-add.png"))
        cam = srv.get("/api/cameras/ptzcam")
        assert cam["onvif"]["port"] == sim.onvif_port and cam["url"].endswith("/cam1")

        page.goto(f"{srv.base}/#/live")
        tile = ".tile[data-camera=ptzcam]"
        page.wait_for_selector(f"{tile}[data-state=online] .ptz", timeout=20000)
        before = srv.get("/api/cameras/ptzcam/ptz/status")["pan"]
        right = page.locator(f"{tile} .ptz [aria-label='pan right']")
        right.hover()
        page.mouse.down()
        page.wait_for_timeout(1200)
        page.mouse.up()
        after = wait_for(lambda: (p := srv.get("/api/cameras/ptzcam/ptz/status"))["pan"] > before + 0.2 and p, 5,
                         what="the camera to pan right")
        page.wait_for_timeout(500)
        assert srv.get("/api/cameras/ptzcam/ptz/status")["pan"] == pytest.approx(after["pan"], abs=0.05), \
            "releasing the button stops the camera"
        page.once("dialog", lambda d: d.accept("gate"))
        page.click(f"{tile} .save-preset")
        page.wait_for_selector(f"{tile} .ptz select option:has-text('gate')", state="attached")
        page.screenshot(path=str(ARTIFACTS / "ptz-tile.png"))
        assert [p["name"] for p in srv.get("/api/cameras/ptzcam/ptz/presets")] == ["gate"]
    finally:
        ctx.close()
    assert not errors, f"console errors: {errors}"
