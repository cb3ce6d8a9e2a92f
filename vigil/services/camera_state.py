"""One camera's state as the API shows it, merged from whoever knows it: this node's recorder, or in a cluster
the node holding the camera (as that node wrote it to the catalog), and the camera's analysis (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.catalog.rows import CameraRow
from vigil.config import CameraConfig
from vigil.events.analysis_load import AnalysisStatus
from vigil.recorder.camera import CameraStatus


@dataclass(frozen=True)
class CameraState:
    recording: bool
    state: str  # connecting | online | offline | disabled | unassigned
    last_error: str | None
    since_ms: int | None
    stream: str
    segments_written: int
    node: str | None  # the node recording it (None: a single Vigil)
    analysis: AnalysisStatus | None  # when it is analysed here
    camera_clock_ms: int | None = None  # the camera's clock - ours (when it sends RTCP sender reports)


def merge_state(cfg: CameraConfig, status: CameraStatus | None, this_node: str | None,
                holder: tuple[str | None, CameraRow | None], analysis: AnalysisStatus | None) -> CameraState:
    """`status` is this node's recorder's (None: not recorded here); `holder` the cluster's view of who records
    the camera and what state it wrote ((None, None) outside a cluster)."""
    node, remote = holder
    if status is None and remote is not None:  # recorded by another node: its state as that node wrote it
        return CameraState(bool(node and cfg.record.enabled), remote.state if node else "unassigned",
                           remote.last_error, remote.state_since_ms, "", 0, node, analysis)
    if status is None:
        return CameraState(False, "disabled", None, None, "", 0, this_node, analysis)
    return CameraState(cfg.record.enabled, status.state, status.last_error, status.since_ms, status.stream,
                       status.segments_written, this_node, analysis, status.camera_clock_ms)
