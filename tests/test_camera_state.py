"""The camera state the API shows, merged from this node's recorder or the cluster's holder (pure)."""

from __future__ import annotations

from vigil.catalog.rows import CameraRow
from vigil.config import CameraConfig
from vigil.recorder.camera import CameraStatus
from vigil.services.camera_state import merge_state

CAM = CameraConfig(id="door", url="rtsp://127.0.0.1/door")


def test_recorded_here_shows_the_recorder_state() -> None:
    status = CameraStatus(state="online", since_ms=5, stream="h264 1920x1080", segments_written=3)
    st = merge_state(CAM, status, "n1", (None, None), None)
    assert (st.recording, st.state, st.stream, st.segments_written, st.node) == (True, "online", "h264 1920x1080",
                                                                                 3, "n1")


def test_recorded_by_another_node_shows_what_that_node_wrote() -> None:
    row = CameraRow("door", "door", "", None, True, "offline", "connection refused", 42)
    st = merge_state(CAM, None, "n1", ("n2", row), None)
    assert (st.recording, st.state, st.last_error, st.since_ms, st.node) == (True, "offline", "connection refused",
                                                                             42, "n2")
    orphan = merge_state(CAM, None, "n1", (None, row), None)  # no node holds the lease
    assert (orphan.recording, orphan.state, orphan.node) == (False, "unassigned", None)


def test_not_recorded_anywhere_is_disabled() -> None:
    st = merge_state(CAM, None, None, (None, None), None)
    assert (st.recording, st.state, st.node) == (False, "disabled", None)
