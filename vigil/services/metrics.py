"""Prometheus metrics: what a Grafana board needs to watch a recorder in a cupboard for years.

Two kinds of figures. Timings and counts that happen (detector runs, API requests, events) are recorded as they
happen, in prometheus-client histograms and counters. Everything that *is* (a camera's state, its bit rate, the
disk) is read at scrape time from its owner (the API gathers `Facts`), so nothing is copied ahead of a scrape
and no figure can go stale. `families` turns facts into metric families and is pure: it is tested without a server.
Each Vigil has its own registry: tests run several in one process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CAMERA_STATES = ("connecting", "online", "offline", "disabled", "unassigned")
# Linkage's actions (events/actions.py), shown at 0 before the first: a board then has a line to draw.
LINKAGE_ACTIONS = ("email", "webhook", "mqtt", "buzzer", "record", "ptz")
# Detector runs take 5-500 ms on a CPU; API answers 1 ms to several seconds (an export, a search).
DETECTOR_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0)
API_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class CameraFacts:
    camera: str
    state: str
    recording: bool
    bytes_received: int = 0
    frames: int = 0
    bits_per_second: float = 0.0
    fps: float = 0.0
    segments_written: int = 0
    dropped_packets: int = 0
    last_segment_end_ms: int | None = None  # the newest recorded video's end (None: nothing recorded)
    analysed: bool = False
    analysed_fps: float = 0.0
    analysis_dropped_ratio: float = 0.0
    analysed_frames: int = 0
    analysis_dropped_frames: int = 0
    recordings_bytes: int = 0
    days_kept: float = 0.0
    lease_held: bool | None = None  # in a cluster: whether this node holds the camera's lease


@dataclass(frozen=True)
class Facts:
    now_ms: int
    cameras: list[CameraFacts]
    disk_total: int
    disk_used: int
    disk_free: int
    linkage_sent: dict[str, int] = field(default_factory=dict)
    linkage_failed: dict[str, int] = field(default_factory=dict)
    cluster: bool = False
    nodes_alive: int = 0
    fenced: bool = False  # a cluster node that lost the catalog stops recording until it is heard again


def _gauge(name: str, doc: str, labels: list[str], rows: Iterable[tuple[list[str], float]]) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=labels)
    for values, v in rows:
        g.add_metric(values, v)
    return g


def _counter(name: str, doc: str, labels: list[str], rows: Iterable[tuple[list[str], float]]) -> CounterMetricFamily:
    c = CounterMetricFamily(name, doc, labels=labels)
    for values, v in rows:
        c.add_metric(values, v)
    return c


def _actions(f: Facts) -> list[str]:
    return sorted(set(LINKAGE_ACTIONS) | set(f.linkage_sent) | set(f.linkage_failed))


def families(f: Facts) -> list[Metric]:
    """The state of the recorder as metric families (pure)."""
    cams = f.cameras
    out: list[Metric] = [
        _gauge("vigil_camera_up", "1 while the camera's stream is online", ["camera"],
               (([c.camera], float(c.state == "online")) for c in cams)),
        _gauge("vigil_camera_state", "1 for the camera's current state", ["camera", "state"],
               (([c.camera, s], float(c.state == s)) for c in cams for s in CAMERA_STATES)),
        _gauge("vigil_camera_recording", "1 when the camera is set to record", ["camera"],
               (([c.camera], float(c.recording)) for c in cams)),
        _gauge("vigil_camera_bitrate_bits_per_second", "received bit rate over the last 10 s", ["camera"],
               (([c.camera], c.bits_per_second) for c in cams)),
        _gauge("vigil_camera_fps", "received video frames per second over the last 10 s", ["camera"],
               (([c.camera], c.fps) for c in cams)),
        _counter("vigil_camera_received_bytes", "bytes received from the camera", ["camera"],
                 (([c.camera], float(c.bytes_received)) for c in cams)),
        _counter("vigil_camera_frames", "video frames received from the camera", ["camera"],
                 (([c.camera], float(c.frames)) for c in cams)),
        _counter("vigil_camera_segments_written", "segments closed and indexed since start", ["camera"],
                 (([c.camera], float(c.segments_written)) for c in cams)),
        _counter("vigil_camera_dropped_packets", "packets the segment writer refused (timestamps going back)",
                 ["camera"], (([c.camera], float(c.dropped_packets)) for c in cams)),
        _gauge("vigil_camera_last_segment_age_seconds", "time since the end of the newest recorded video",
               ["camera"], (([c.camera], max(0.0, (f.now_ms - c.last_segment_end_ms) / 1000))
                            for c in cams if c.last_segment_end_ms is not None)),
        _gauge("vigil_analysis_fps", "pictures analysed per second over the last 30 s", ["camera"],
               (([c.camera], c.analysed_fps) for c in cams if c.analysed)),
        _gauge("vigil_analysis_dropped_ratio", "share of due pictures skipped over the last 30 s (0-1)", ["camera"],
               (([c.camera], c.analysis_dropped_ratio) for c in cams if c.analysed)),
        _counter("vigil_analysis_frames", "pictures analysed", ["camera"],
                 (([c.camera], float(c.analysed_frames)) for c in cams if c.analysed)),
        _counter("vigil_analysis_dropped_frames", "pictures skipped because analysis could not keep up", ["camera"],
                 (([c.camera], float(c.analysis_dropped_frames)) for c in cams if c.analysed)),
        _gauge("vigil_storage_bytes", "the recording disk", ["kind"],
               (([k], float(v)) for k, v in (("total", f.disk_total), ("used", f.disk_used), ("free", f.disk_free)))),
        _gauge("vigil_storage_recordings_bytes", "bytes of recordings kept", ["camera"],
               (([c.camera], float(c.recordings_bytes)) for c in cams)),
        _gauge("vigil_storage_days_kept", "days between the oldest and the newest recording", ["camera"],
               (([c.camera], c.days_kept) for c in cams)),
        _counter("vigil_linkage_sent", "linkage actions carried out", ["action"],
                 (([k], float(f.linkage_sent.get(k, 0))) for k in _actions(f))),
        _counter("vigil_linkage_failed", "linkage actions that failed after their retries", ["action"],
                 (([k], float(f.linkage_failed.get(k, 0))) for k in _actions(f))),
        _gauge("vigil_cluster_enabled", "1 when this Vigil is a node of a scale-out cluster", [],
               [([], float(f.cluster))]),
    ]
    if f.cluster:
        out += [
            _gauge("vigil_cluster_lease_held", "1 when this node holds the camera's lease (records it)", ["camera"],
                   (([c.camera], float(bool(c.lease_held))) for c in cams)),
            _gauge("vigil_cluster_nodes_alive", "nodes heard from within the lease time", [],
                   [([], float(f.nodes_alive))]),
            _gauge("vigil_cluster_fenced", "1 while this node has lost the catalog and stopped recording", [],
                   [([], float(f.fenced))]),
        ]
    return out


class _Families(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


class Metrics:
    """The figures recorded as they happen; `render` adds the facts read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.detector_seconds = Histogram("vigil_detector_seconds", "one detector run (one picture)",
                                          buckets=DETECTOR_BUCKETS, registry=self.registry)
        self.api_seconds = Histogram("vigil_api_request_seconds", "API requests, until the answer's last byte",
                                     ["method", "route", "status"], buckets=API_BUCKETS, registry=self.registry)
        self.events = Counter("vigil_events", "events stored, by type and severity", ["type", "severity"],
                              registry=self.registry)

    def event(self, kind: str, type_: str, severity: str) -> None:
        if kind == "new":
            self.events.labels(type_, severity).inc()

    def render(self, facts: Facts) -> bytes:
        """The text exposition format: recorded figures, then the facts' families (names never overlap)."""
        now = CollectorRegistry(auto_describe=False)
        now.register(_Families(families(facts)))
        return generate_latest(self.registry) + generate_latest(now)
