from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Sim


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    """Two real RTSP cameras on loopback: cam1 H.264 1080p, cam2 H.265 1080p, each with a 640x360 sub-stream."""
    s = Sim(tmp_path_factory.mktemp("sim"))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
