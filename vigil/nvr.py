"""Vigil as one object: the cameras, their recorders, analyses and live streams, the catalog, events and alarms,
built from the config. `vigil/app.py` starts it and serves it; the API's routers reach it through
`request.app.state.vigil`."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from vigil.analytics.engines import check_engine, make_detector
from vigil.analytics.faces.embed import MODELS
from vigil.analytics.plates import PlateReader
from vigil.analytics.rulespec import RuleSpec
from vigil.catalog.accounts import ensure_admin
from vigil.catalog.faces import FaceCatalog
from vigil.catalog.nodes import NodeRow
from vigil.catalog.nodes import leases as lease_rows
from vigil.catalog.nodes import nodes as node_rows
from vigil.catalog.rows import CameraRow, EventRow
from vigil.catalog.rules import load_rules, save_rules
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.cluster.keeper import LeaseKeeper
from vigil.cluster.notify import EventRelay
from vigil.config import CameraConfig, Config, load_config
from vigil.errors import ConfigError, NotFoundError
from vigil.events.actions import LinkageRunner
from vigil.events.analysis import CameraAnalysis
from vigil.events.analysis_load import LockedDetector
from vigil.events.bus import EventBus
from vigil.events.faces import CameraFaces
from vigil.events.plates import CameraPlates
from vigil.events.snapshot_mirror import SnapshotMirror
from vigil.log import get_logger
from vigil.logins import LoginGuard, LoginThrottle, SharedThrottle, audit_to
from vigil.media.export import Exporter, SegmentHolds
from vigil.media.live import PacketSink
from vigil.media.playback_transcode import H264Playback
from vigil.media.segment_files import SegmentFiles
from vigil.objectstore import ObjectStore
from vigil.onvif.camera_side import CameraSideEvents
from vigil.onvif.hub import OnvifHub
from vigil.recognition import FaceService
from vigil.recorder.camera import CameraRecorder
from vigil.recorder.recovery import recover
from vigil.recorder.retention import Retention
from vigil.recorder.tiering import Tiering
from vigil.secretbox import SecretBox
from vigil.services.camera_state import CameraState, merge_state
from vigil.services.linkage_rules import LinkageRules
from vigil.services.metrics import Metrics
from vigil.services.reload import ReloadPlan, plan_reload
from vigil.services.streams import StreamHub
from vigil.services.system_alarms import SystemAlarms
from vigil.storage import check_storage

log = get_logger(__name__)
INSTANT = frozenset({"external"})  # events that never get an end: they record pre + post around their instant


class Vigil:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.config_path: Path | None = None  # the vigil.yml a reload reads (set by `serve`)
        self.storage = cfg.storage.path
        check_storage(self.storage)  # first: a missing disk is the error the user must see
        check_engine(cfg.analytics)  # a detector setting this machine cannot run stops start-up with its fix
        self.node_id = cfg.node_id  # None: a single Vigil, which records every camera
        self.catalog = Catalog(cfg.catalog_url, SecretBox.load(cfg.key_file), self.node_id)
        self.store = ObjectStore(cfg.storage.s3) if cfg.storage.s3 is not None else None
        self.files = SegmentFiles(self.storage, self.catalog, self.store)
        # H.264 renditions of recordings for browsers that cannot decode them (H.265), made while watched.
        self.h264_playback = H264Playback(self.files, cfg.live.transcode.max_height, cfg.live.transcode.max_sessions)
        self.tiering = (Tiering(self.catalog, self.storage, self.store, cfg.storage.s3.upload_after_hours)
                        if self.store is not None and cfg.storage.s3 is not None else None)
        self.cameras: dict[str, CameraConfig] = {c.id: c for c in cfg.cameras}
        self.config_ids = set(self.cameras)
        self.recorders: dict[str, CameraRecorder] = {}
        self.holds = SegmentHolds()
        self.bus = EventBus(self.catalog)
        self.alarms = SystemAlarms(self.bus)
        self.exporter = Exporter(self.catalog, self.files, self.holds)
        self.retention = Retention(
            self.catalog, self.storage, lambda: list(self.cameras.values()), cfg.storage.min_free_gb,
            cfg.storage.min_free_percent, self.holds.ids,
            alarm=self.alarms.disk, clear=self.alarms.disk_clear, store=self.store,
            bucket_snapshots=cfg.cluster.enabled,
        )
        self.keeper: LeaseKeeper | None = None
        self.relay_events: EventRelay | None = None
        self._cluster_view: tuple[float, dict[str, str], dict[str, CameraRow]] = (0.0, {}, {})
        self._lock = threading.Lock()
        self.armed = False
        self.bus.listen(self._record_on_event)
        self.metrics = Metrics()
        self.bus.listen(lambda kind, row: self.metrics.event(kind, row.type, row.severity))
        if self.node_id is not None:
            c = cfg.cluster
            self.keeper = LeaseKeeper(self.catalog, self.node_id, cfg.advertise_url, c.lease_seconds,
                                      c.renew_seconds, self._cluster_cameras, self._take_camera, self._drop_camera,
                                      self._hand_over, self._node_details)
            self.relay_events = EventRelay(self.catalog, self.bus, self.node_id)
            self.bus.listen(self.relay_events.announce)
        api = cfg.api
        rules = LoginThrottle(api.login_max_failures, api.login_max_failures_per_address, api.login_lock_seconds)
        # A cluster's nodes count failed logins together (in the catalog); a single Vigil keeps them in memory.
        self.logins = LoginGuard(SharedThrottle(self.catalog, rules) if self.keeper is not None else rules,
                                 audit_to(self.catalog))
        self.analyses: dict[str, CameraAnalysis] = {}
        self.streams = StreamHub(self.catalog, self.files, cfg.source, lambda: self.cameras, self._lock,
                                 self._sub_frames, self._elsewhere if self.keeper is not None else None,
                                 cfg.live.transcode)
        # Event pictures for every node (a single Vigil with a bucket keeps them on its disk, as before).
        self.mirror = SnapshotMirror(self.storage, self.store) if self.keeper and self.store else None
        if self.mirror is not None:
            self.bus.listen(self.mirror.listen)
        # PTZ from any node; the camera's own events from the node that records it (else each node stores them).
        self.onvif = OnvifHub(lambda: self.cameras, CameraSideEvents(self.bus),
                              lambda camera_id: self.keeper is None or camera_id in self.recorders)
        self._detector: LockedDetector | None = None
        self._faces: FaceService | None = None
        self._plate_reader: PlateReader | None = None
        self.linkage: LinkageRunner | None = None
        self.linkage_rules = LinkageRules(cfg.alarms, self.catalog, lambda: self.cameras)
        self._faces_lock = threading.Lock()

    def start(self) -> None:
        """Migrate, recover after a crash, then start recording."""
        self.catalog.migrate()
        self.catalog.sync_cameras(self.cfg.cameras)
        for data in self.catalog.api_cameras():
            if data["id"] not in self.cameras:
                cam = self.cameras[data["id"]] = CameraConfig.model_validate(data)
                self.catalog.save_camera(cam, "api")  # rows of an older Vigil: sealed, in today's format
        password = ensure_admin(self.catalog, os.environ.get("VIGIL_ADMIN_PASSWORD") or None)
        if password:
            # Printed once, on first start only; it is not kept anywhere in clear.
            print(f"\nFirst start: created user 'admin' with password: {password}\n"
                  "Change it with `vigil users passwd admin`.\n", flush=True)
        if self.store is not None:
            self.store.check()
        recovered = recover(self.catalog, self.storage)
        if recovered:
            log.info("recovery_done", segments=recovered)
        if FaceCatalog(self.catalog).images_not_of(MODELS[self.cfg.analytics.faces.model].name):
            # Enrolled faces of another embedding model: re-embedded now, not at the first face (recognition/reembed)
            threading.Thread(target=self.faces, name="faces-load", daemon=True).start()
        if self.keeper is not None:
            return  # a cluster node records the cameras it takes leases on (LeaseKeeper)
        with self._lock:
            for cam in self.cameras.values():
                self._start_camera(cam)

    # cluster (LeaseKeeper callbacks, from its worker thread)
    def _cluster_cameras(self) -> list[str]:
        """The enabled cameras, with those another node added, changed or removed through its API."""
        try:
            stored = {d["id"]: d for d in self.catalog.api_cameras()}
        except Exception as err:  # the keeper's round decides what a silent catalog means
            log.error("camera_refresh_failed", error=str(err).splitlines()[0])
            stored = None
        if stored is not None:
            with self._lock:
                for cam_id in [c for c in self.cameras if c not in self.config_ids and c not in stored]:
                    self._stop_camera(cam_id)
                    del self.cameras[cam_id]
                for cam_id, data in stored.items():
                    if cam_id in self.config_ids:
                        continue
                    try:
                        cam = CameraConfig.model_validate(data)
                    except ValueError as err:  # a row another (newer?) node wrote: keep what runs, say why
                        log.error("camera_row_invalid", camera=cam_id, error=str(err).splitlines()[0])
                        continue
                    old = self.cameras.get(cam_id)
                    if old != cam:
                        self.cameras[cam_id] = cam
                        if old is not None and cam_id in self.recorders:
                            self._stop_camera(cam_id)
                            self._start_camera(cam)
        return sorted(c.id for c in self.cameras.values() if c.enabled)

    def _take_camera(self, camera_id: str) -> None:
        with self._lock:
            if camera_id in self.cameras and camera_id not in self.recorders:
                self._start_camera(self.cameras[camera_id])

    def _drop_camera(self, camera_id: str) -> None:
        with self._lock:
            self._stop_camera(camera_id)

    def _hand_over(self, camera_id: str) -> float | None:
        rec = self.recorders.get(camera_id)
        if rec is None or rec.finished or rec.status.state != "online":
            return None  # nothing being written: it can go now
        rec.hand_over()
        return self.cameras[camera_id].record.segment_seconds

    def _node_details(self) -> dict[str, Any]:
        online = sum(r.status.state == "online" for r in list(self.recorders.values()))
        return {"online": online, "pid": os.getpid(), "rtsp": self.cfg.advertise_rtsp,
                "uploaded": self.tiering.uploaded if self.tiering is not None else 0,
                "events_relayed": self.relay_events.received if self.relay_events is not None else 0}

    def holder(self, camera_id: str) -> tuple[str | None, CameraRow | None]:
        """In a cluster: the node recording a camera and the camera's state as that node wrote it (cached 1 s)."""
        t, holders, states = self._cluster_view
        if time.monotonic() - t > 1.0:
            now = now_ms()
            holders = {x.camera_id: x.node_id for x in lease_rows(self.catalog) if x.expires_ms > now}
            states = {c.id: c for c in self.catalog.cameras()}
            self._cluster_view = (time.monotonic(), holders, states)
        return holders.get(camera_id), states.get(camera_id)

    def camera_state(self, camera_id: str) -> CameraState:
        rec, analysis = self.recorders.get(camera_id), self.analyses.get(camera_id)
        return merge_state(self.cameras[camera_id], rec.status if rec else None, self.node_id,
                           self.holder(camera_id) if self.keeper is not None else (None, None),
                           analysis.status if analysis else None)

    def snapshot_bytes(self, rel: str) -> bytes | None:
        """An event picture: from this node's disk, or (in a cluster) the copy in the bucket."""
        path = (self.storage / rel).resolve()
        if not path.is_relative_to(self.storage.resolve()):
            return None
        if path.is_file():
            return path.read_bytes()
        return self.store.get(rel) if self.mirror is not None and self.store is not None else None

    def other_holder(self, camera_id: str) -> NodeRow | None:
        """In a cluster: the other node that records this camera (its API and RTSP out addresses), if any."""
        node, _state = self.holder(camera_id)
        if node is None or node == self.node_id:
            return None
        return next((n for n in node_rows(self.catalog) if n.id == node), None)

    def _elsewhere(self, camera_id: str) -> NodeRow | None:
        """In a cluster: the node that records a camera this node does not."""
        return None if camera_id in self.recorders else self.other_holder(camera_id)

    def _sub_frames(self, camera_id: str) -> PacketSink | None:
        """The analysis its sub-stream feeds, if any."""
        analysis = self.analyses.get(camera_id)
        return analysis.frames if analysis is not None and not analysis.uses_main else None

    def _start_camera(self, cam: CameraConfig) -> None:
        """(The caller holds _lock.)"""
        if not cam.enabled:
            self.catalog.set_camera_state(cam.id, "disabled")
            return
        analysis = None
        if cam.analytics.enabled:
            faces = (CameraFaces(cam, self.cfg.analytics, self.faces(), self.bus, self.storage)
                     if cam.analytics.faces else None)
            quality = self.cfg.analytics.snapshot_quality
            plates = (CameraPlates(cam, self.plate_reader(), self.bus, self.storage, quality)
                      if cam.analytics.plates else None)
            analysis = CameraAnalysis(cam, self.cfg.analytics, self.detector(), self.bus, self.storage,
                                      [s.to_rule() for s in self.rules(cam.id)], faces, plates)
            self.analyses[cam.id] = analysis
        # One connection per stream: the recorder's main stream also feeds the live view, RTSP out and (without a
        # sub-stream) the analysis; the sub-stream reader feeds the analysis, its live view and RTSP out.
        main = self.streams.main_stream(cam.id)
        rec = CameraRecorder(cam, self.storage, self.catalog, self.cfg.source, self.cfg.storage.fsync,
                             self.alarms.storage_error, main, self.alarms.camera_state, self.alarms.audio,
                             self.streams.relay(cam.id, "main"),
                             analysis.frames if analysis is not None and analysis.uses_main else None)
        self.recorders[cam.id] = rec
        rec.start()
        if analysis is not None:
            analysis.start()
            if not analysis.uses_main:
                self.streams.read_sub(cam)

    def _record_on_event(self, _kind: str, row: EventRow) -> None:
        """Opens the gate of a camera recording in motion/intelligent mode when one of its events happens."""
        rec = self.recorders.get(row.camera_id or "")
        if rec is not None and rec.gate is not None and row.type in rec.triggers:
            rec.gate.event(row.id, row.start_ms, row.start_ms if row.type in INSTANT else row.end_ms)

    def record_for(self, camera_id: str, e: EventRow) -> bool:
        """Linkage "record": opens a camera's record gate for an event of any camera (pre-buffer included)."""
        rec = self.recorders.get(camera_id)
        if rec is None or rec.gate is None:
            return False
        # Another camera's event: its end is not forwarded here, so it records pre + post around its start.
        rec.gate.event(e.id, e.start_ms, e.end_ms if e.end_ms is not None else e.start_ms)
        return True

    async def goto_preset(self, camera_id: str, preset: str) -> None:
        """Linkage "go to preset": by the preset's name or token."""
        device = await self.onvif.device(camera_id)
        presets = await device.presets()
        found = next((p for p in presets if preset in (p.token, p.name)), None)
        if found is None:
            names = ", ".join(p.name for p in presets) or "none"
            raise NotFoundError(f"camera {camera_id!r} has no PTZ preset {preset!r} (it has: {names})")
        await device.goto_preset(found.token)

    def plate_reader(self) -> PlateReader:
        """One OCR engine for every ANPR camera, loaded on first use."""
        if self._plate_reader is None:
            self._plate_reader = PlateReader()
        return self._plate_reader

    def detector(self) -> LockedDetector:
        """Loaded on first use: a Vigil without analytics never pays for the network."""
        if self._detector is None:
            self._detector = LockedDetector(make_detector(self.cfg.analytics), self.metrics.detector_seconds.observe,
                                            self.cfg.analytics.detector_parallel()[0])
        return self._detector

    def faces(self) -> FaceService:
        """Face databases and recognition, loaded on first use (the index is rebuilt from the catalog)."""
        with self._faces_lock:
            if self._faces is None:
                service = FaceService(self.catalog, self.storage, self.cfg.analytics.faces)
                service.load()
                self._faces = service
            return self._faces

    def rules(self, camera_id: str) -> list[RuleSpec]:
        out = []
        for data in load_rules(self.catalog, camera_id):
            try:
                out.append(RuleSpec.model_validate(data))
            except ValueError as err:  # a rule saved by an older version: skip it, say so
                log.error("rule_invalid", camera=camera_id, rule=data.get("id"), error=str(err))
        return out

    def set_rules(self, camera_id: str, specs: list[RuleSpec]) -> None:
        if camera_id not in self.cameras:
            raise NotFoundError(f"no camera {camera_id!r}; GET /api/cameras lists them")
        save_rules(self.catalog, camera_id, [s.model_dump() for s in specs])
        analysis = self.analyses.get(camera_id)
        if analysis is not None:
            analysis.set_rules([s.to_rule() for s in specs])

    def _stop_camera(self, camera_id: str) -> None:
        rec = self.recorders.pop(camera_id, None)
        if rec is not None:
            rec.stop()
        analysis = self.analyses.pop(camera_id, None)
        if analysis is not None:
            analysis.stop()
            analysis.join()
        self.streams.stop_reader(camera_id)
        self.alarms.camera_stopped(camera_id)

    def add_camera(self, cam: CameraConfig) -> None:
        with self._lock:
            if cam.id in self.cameras:
                raise ConfigError(f"camera {cam.id!r} exists already; use PUT /api/cameras/{cam.id} to change it")
            self.catalog.save_camera(cam, "api")
            self.cameras[cam.id] = cam
            if self.keeper is None:  # in a cluster the least-loaded node takes it
                self._start_camera(cam)

    def _check_editable(self, camera_id: str) -> None:
        if camera_id not in self.cameras:
            raise NotFoundError(f"no camera {camera_id!r}; GET /api/cameras lists them")
        if camera_id in self.config_ids:
            raise ConfigError(f"camera {camera_id!r} is defined in the config file; change it there and reload "
                              "(POST /api/system/reload, or SIGHUP)")

    def update_camera(self, cam: CameraConfig) -> None:
        with self._lock:
            self._check_editable(cam.id)
            running = cam.id in self.recorders or self.keeper is None
            self._stop_camera(cam.id)
            self.catalog.save_camera(cam, "api")
            self.cameras[cam.id] = cam
            if running:
                self._start_camera(cam)

    def remove_camera(self, camera_id: str) -> None:
        """Stops recording and forgets the camera; its recordings stay until retention removes them."""
        with self._lock:
            self._check_editable(camera_id)
            self._stop_camera(camera_id)
            self.catalog.delete_camera(camera_id)
            del self.cameras[camera_id]

    def reload_config(self) -> ReloadPlan:
        """Reads vigil.yml again (SIGHUP, POST /api/system/reload); an invalid file changes nothing and raises the
        same ConfigError as at start."""
        if self.config_path is None:
            raise ConfigError("Vigil runs on its built-in defaults (no --config): there is no file to reload; start "
                              "it with --config vigil.yml")
        return self.reload(load_config(self.config_path))

    def reload(self, new: Config) -> ReloadPlan:
        """Applies a changed vigil.yml: config cameras added, removed or changed start, stop or restart; the others
        keep recording without a gap (see services/reload.py for what waits for a restart)."""
        with self._lock:
            plan = plan_reload(self.cfg, new, set(self.cameras) - self.config_ids)
            for cam_id in plan.removed:
                self._stop_camera(cam_id)
                del self.cameras[cam_id]
            self.catalog.sync_cameras(new.cameras)
            for cam in new.cameras:
                if cam.id in plan.restarted:
                    running = cam.id in self.recorders or self.keeper is None
                    self._stop_camera(cam.id)
                    self.cameras[cam.id] = cam
                    if running:
                        self._start_camera(cam)
                elif cam.id in plan.added:
                    self.cameras[cam.id] = cam
                    if self.keeper is None:  # in a cluster the least-loaded node takes it
                        self._start_camera(cam)
                elif cam.id in plan.updated:
                    self.cameras[cam.id] = cam
            self.config_ids = {c.id for c in new.cameras}
            # The rules only: SMTP and MQTT are held by the running linkage (plan.needs_restart says so).
            alarms = self.cfg.alarms.model_copy(update={"linkage": new.alarms.linkage})
            self.cfg = self.cfg.model_copy(update={"cameras": new.cameras, "alarms": alarms})
            self.linkage_rules.cfg = alarms
        log.info("config_reloaded", result=plan.summary())
        return plan

    def stop(self) -> None:
        if self.relay_events is not None:
            self.relay_events.stop()
        if self.mirror is not None:
            self.mirror.stop()
        if self.keeper is not None:
            self.keeper.shutdown()  # closes its segments, then gives the cameras back
        if self.tiering is not None and self.keeper is not None:
            try:  # the last segments too, so the other nodes can play them while this one is down
                self.tiering.run_once()
            except Exception as err:
                log.error("tiering_failed", error=repr(err))
        self.streams.stop()
        for analysis in self.analyses.values():
            analysis.stop()
        for analysis in self.analyses.values():
            analysis.join()
        for rec in self.recorders.values():
            rec.request_stop()
        for rec in self.recorders.values():
            rec.stop()
        if self._faces is not None:
            self._faces.engine.close()
        self.catalog.close()
