from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Sim
from tests.services import fresh_database, postgres_server

# Modules that need the machine to themselves: they analyse video in real time, measure latency, drive a browser
# against real-time video, or use the demo's fixed ports. `make test` runs them alone, one after the other, after
# the rest has run three at a time (pytest-xdist); see the Makefile. WS-Discovery's fixed port 3702 is used by the
# demo and by test_onvif only, so test_onvif runs in the first phase (one module stays on one worker), never
# beside the demo.
EXCLUSIVE = {
    "tests/test_analytics.py", "tests/test_faces_scene.py", "tests/test_alarm_sources.py", "tests/test_live.py",
    "tests/test_demo.py", "tests/test_audio_alarm.py", "tests/e2e/test_scenes.py",
    "tests/e2e/test_ui.py", "tests/e2e/test_smart_search.py", "tests/test_transcode.py",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exclusive: runs alone (real-time analysis, latency, browser, fixed ports)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if str(Path(str(item.path)).relative_to(root)) in EXCLUSIVE:
            item.add_marker(pytest.mark.exclusive)


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """Two real RTSP cameras on loopback: cam1 H.264 1080p, cam2 H.265 1080p, each with a 640x360 sub-stream."""
    s = Sim(tmp_path_factory.mktemp("sim"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server (Debian's package, installed by `make test`), one per test process."""
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


_databases = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty catalog on each backend: tests taking it run twice, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return fresh_database(request.getfixturevalue("pg_url"), f"t{next(_databases)}")


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
