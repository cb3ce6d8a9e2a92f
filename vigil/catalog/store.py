"""Catalog queries (the rows they return: `catalog/rows.py`). Synchronous SQLAlchemy: recorder threads and
the API (via threads) share it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, delete, event, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vigil.catalog.models import CameraModel, EventModel, SegmentModel, SettingModel
from vigil.catalog.rows import CameraRow, EventRow, SegmentRow
from vigil.clock import now_ms
from vigil.config import redact_url
from vigil.errors import ConfigError
from vigil.log import get_logger
from vigil.secretbox import PREFIX as SEALED
from vigil.secretbox import SecretBox


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while recorders write; FULL makes each commit survive power loss.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


log = get_logger(__name__)

EVENT_ATTRIBUTES = ("upper_color", "lower_color", "body_color", "plate", "source")


def _attributes(a: dict[str, str] | None) -> dict[str, str]:
    if not a:
        return {}
    unknown = set(a) - set(EVENT_ATTRIBUTES)
    if unknown:
        raise ValueError(f"unknown event attributes {sorted(unknown)}; known: {', '.join(EVENT_ATTRIBUTES)}")
    return a


class Catalog:
    def __init__(self, url: str, box: SecretBox | None = None, node_id: str | None = None) -> None:
        self.node_id = node_id  # a scale-out node stamps the segments it writes (their files are on its disk)
        self.box = box  # seals camera passwords; None: stored as given (tools that never write cameras)
        if url.startswith(("postgresql://", "postgres://")):  # psycopg 3, not SQLAlchemy's default psycopg2
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        self.url = url
        if url.startswith("sqlite"):
            db_path = url.split(":///", 1)[-1]
            if db_path and db_path != ":memory:":
                try:
                    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise ConfigError(f"catalog: cannot create {Path(db_path).parent}: {err.strerror}") from None
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # A catalog that stops answering must fail a call within seconds, not hang it: the lease keeper
            # fences the node on failed renewals (cluster/keeper.py).
            self.engine = create_engine(url, pool_pre_ping=True, connect_args={
                "connect_timeout": 5, "options": "-c statement_timeout=15000"})
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(resources.files("vigil.catalog") / "migrations"))
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # nodes starting together migrate one after the other
                    # No time limit, for the wait as for the work: another node's migration (an index on a big
                    # table) may take minutes, and a node that gave up waiting would fail to start.
                    conn.execute(text("SET LOCAL statement_timeout = 0"))
                    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(7415)")).scalar():
                        log.info("catalog_migration_wait", reason="another node is migrating the catalog")
                        conn.execute(text("SELECT pg_advisory_xact_lock(7415)"))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as err:
            raise ConfigError(f"catalog {redact_url(self.url)}: cannot open the database: {err.orig}") from None

    def session(self) -> Session:
        return self._session()

    def close(self) -> None:
        self.engine.dispose()

    # cameras
    def sync_cameras(self, cameras: Iterable[Any]) -> None:
        """Make the cameras table match the config (state is kept)."""
        cameras = list(cameras)
        try:
            self._sync_cameras(cameras)
        except IntegrityError:  # nodes of a cluster starting together: the other one inserted them first
            self._sync_cameras(cameras)

    def _sync_cameras(self, cameras: list[Any]) -> None:
        with self.session() as s, s.begin():
            for cam in cameras:
                row = self._camera_row(s, cam)
                row.settings, row.source = cam.record.model_dump(), "config"

    def _camera_row(self, s: Session, cam: Any) -> CameraModel:
        """The camera's row (made if new) with its name, state of use and sealed URLs set."""
        row = s.get(CameraModel, cam.id)
        if row is None:
            row = CameraModel(id=cam.id, state="connecting", state_since_ms=now_ms(), settings={})
            s.add(row)
        row.name, row.enabled = cam.name, cam.enabled
        row.url, row.sub_url = self._seal_url(cam.url) or "", self._seal_url(cam.sub_url)
        return row

    def _seal_url(self, url: str | None) -> str | None:
        return self.box.seal_url(url) if self.box is not None else url

    def _open(self, text: str) -> str:
        if self.box is not None:
            return self.box.open(text)
        if text.startswith(SEALED):
            raise ConfigError("the catalog holds sealed camera secrets but no key was given (catalog.key_file)")
        return str(text)

    def save_camera(self, cam: Any, source: str = "api") -> None:
        with self.session() as s, s.begin():
            row = self._camera_row(s, cam)
            # Everything else a camera has (recording, analytics, audio alarm, ONVIF), so it survives restarts.
            settings = cam.model_dump(mode="json", exclude={"id", "name", "url", "sub_url", "enabled"},
                                      exclude_none=True)
            if (onvif := settings.get("onvif")) and onvif.get("password") and self.box is not None:
                settings["onvif"] = {**onvif, "password": self.box.seal(onvif["password"])}
            row.settings = settings
            row.source = source

    def delete_camera(self, camera_id: str) -> None:
        with self.session() as s, s.begin():
            s.execute(delete(CameraModel).where(CameraModel.id == camera_id))

    def api_cameras(self) -> list[dict[str, Any]]:
        """Cameras created through the API, as config dictionaries."""
        with self.session() as s:
            rows = s.scalars(select(CameraModel).where(CameraModel.source == "api").order_by(CameraModel.id))
            out = []
            for r in rows:
                settings = dict(r.settings or {})
                if "record" not in settings:  # saved by an older Vigil: the record settings alone
                    settings = {"record": settings}
                if (onvif := settings.get("onvif")) and onvif.get("password"):
                    settings["onvif"] = {**onvif, "password": self._open(onvif["password"])}
                out.append({"id": r.id, "name": r.name, "url": self._open(r.url),
                            "sub_url": self._open(r.sub_url) if r.sub_url else None, "enabled": r.enabled,
                            **settings})
            return out

    def set_camera_state(self, camera_id: str, state: str, error: str | None = None) -> None:
        with self.session() as s, s.begin():
            row = s.get(CameraModel, camera_id)
            if row is not None:
                if row.state != state:
                    row.state_since_ms = now_ms()
                row.state, row.last_error = state, error

    def cameras(self) -> list[CameraRow]:
        with self.session() as s:
            rows = s.scalars(select(CameraModel).order_by(CameraModel.id)).all()
            return [
                CameraRow(r.id, r.name, self._open(r.url), self._open(r.sub_url) if r.sub_url else None, r.enabled,
                          r.state, r.last_error, r.state_since_ms)
                for r in rows
            ]

    # segments
    def open_segment(self, camera_id: str, start_ms: int, path: str, codec: str, width: int, height: int) -> int:
        """Insert the row before the file exists: a crash can never leave a file the index does not know."""
        with self.session() as s, s.begin():
            row = SegmentModel(
                camera_id=camera_id, start_ms=start_ms, end_ms=start_ms, bytes=0, path=path,
                codec=codec, width=width, height=height, status="open", keyframes=[], node_id=self.node_id,
            )
            s.add(row)
            s.flush()
            return row.id

    def close_segment(
        self, seg_id: int, start_ms: int, end_ms: int, size: int, keyframes: list[tuple[int, int]]
    ) -> None:
        with self.session() as s, s.begin():
            s.execute(
                update(SegmentModel)
                .where(SegmentModel.id == seg_id)
                .values(
                    start_ms=start_ms, end_ms=end_ms, bytes=size, status="closed",
                    keyframes=[list(k) for k in keyframes],
                )
            )

    def add_segment(self, row: SegmentRow, keyframes: list[tuple[int, int]]) -> int:
        with self.session() as s, s.begin():
            m = SegmentModel(
                camera_id=row.camera_id, start_ms=row.start_ms, end_ms=row.end_ms, bytes=row.bytes,
                path=row.path, codec=row.codec, width=row.width, height=row.height, status="closed",
                keyframes=[list(k) for k in keyframes], node_id=self.node_id,
            )
            s.add(m)
            s.flush()
            return m.id

    def delete_segments(self, ids: Sequence[int]) -> None:
        if ids:
            with self.session() as s, s.begin():
                s.execute(delete(SegmentModel).where(SegmentModel.id.in_(list(ids))))

    def segments(
        self, camera_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None,
        status: str | None = None, local_only: bool = False,
    ) -> list[SegmentRow]:
        """`local_only`: only the rows whose file is on this node's disk."""
        q = select(SegmentModel)
        if local_only:
            q = q.where(*self.on_this_disk())
        if camera_id is not None:
            q = q.where(SegmentModel.camera_id == camera_id)
        if start_ms is not None:
            q = q.where(SegmentModel.end_ms >= start_ms)
        if end_ms is not None:
            q = q.where(SegmentModel.start_ms <= end_ms)
        if status is not None:
            q = q.where(SegmentModel.status == status)
        with self.session() as s:
            return [SegmentRow.of(m) for m in s.scalars(q.order_by(SegmentModel.start_ms, SegmentModel.id))]

    def segments_by_id(self, ids: Sequence[int]) -> list[SegmentRow]:
        with self.session() as s:
            return [SegmentRow.of(m) for m in s.scalars(select(SegmentModel).where(SegmentModel.id.in_(list(ids))))]

    def segment_spans(self, camera_id: str, start_ms: int, end_ms: int) -> list[SegmentRow]:
        """Only the times: what a timeline needs, fast for a day of rows. The segment being written
        counts as recorded up to now."""
        q = (
            select(SegmentModel.id, SegmentModel.start_ms, SegmentModel.end_ms, SegmentModel.status)
            .where(SegmentModel.camera_id == camera_id, SegmentModel.start_ms <= end_ms)
            .where((SegmentModel.end_ms >= start_ms) | (SegmentModel.status == "open"))
            .order_by(SegmentModel.start_ms)
        )
        now = now_ms()
        with self.session() as s:
            return [
                SegmentRow(i, camera_id, a, max(b, now) if status == "open" else b, 0, "", status=status)
                for i, a, b, status in s.execute(q)
            ]

    def segment_paths(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(SegmentModel.path)))

    def on_this_disk(self) -> tuple[Any, Any]:
        """The condition for segment rows whose file is on this node's disk (a single Vigil's: node_id NULL)."""
        return SegmentModel.stored == "local", SegmentModel.node_id.is_not_distinct_from(self.node_id)

    def set_stored(self, seg_id: int, stored: str) -> bool:
        """The segment's bytes moved (to the bucket): any node reads them from there now. False: the row is gone
        (retention deleted it meanwhile)."""
        with self.session() as s, s.begin():
            done = s.execute(update(SegmentModel).where(SegmentModel.id == seg_id).values(stored=stored))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def keyframes(self, seg_id: int) -> list[tuple[int, int]]:
        with self.session() as s:
            m = s.get(SegmentModel, seg_id)
            return [(int(a), int(b)) for a, b in (m.keyframes if m else [])]

    # settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self.session() as s:
            row = s.get(SettingModel, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.session() as s, s.begin():
            row = s.get(SettingModel, key)
            if row is None:
                s.add(SettingModel(key=key, value=value))
            else:
                row.value = value

    def _retention_scope(self) -> Any:
        """The rows retention decides on here: in the bucket, or on this node's disk (another node's files are
        that node's to delete)."""
        return (SegmentModel.stored == "s3") | SegmentModel.node_id.is_not_distinct_from(self.node_id)

    def oldest_closed(self, limit: int, camera_id: str | None = None, before_ms: int | None = None,
                      local_only: bool = False) -> list[SegmentRow]:
        """Retention's candidates: at most `limit` closed segments in its scope, oldest first, read without their
        keyframe index — a pass reads the few it may delete, not a month of rows (100 000 rows took 4 s a pass)."""
        cols = (SegmentModel.id, SegmentModel.camera_id, SegmentModel.start_ms, SegmentModel.end_ms,
                SegmentModel.bytes, SegmentModel.path, SegmentModel.node_id, SegmentModel.stored)
        q = select(*cols).where(SegmentModel.status == "closed", self._retention_scope())
        if camera_id is not None:
            q = q.where(SegmentModel.camera_id == camera_id)
        if before_ms is not None:  # ended before: started before too (the index's column)
            q = q.where(SegmentModel.start_ms < before_ms, SegmentModel.end_ms < before_ms)
        if local_only:
            q = q.where(*self.on_this_disk())
        q = q.order_by(SegmentModel.start_ms, SegmentModel.id).limit(limit)
        with self.session() as s:
            return [SegmentRow(i, cam, a, z, b, path, node_id=node, stored=stored)
                    for i, cam, a, z, b, path, node, stored in s.execute(q)]

    def retained_bytes(self) -> dict[str, int]:
        """Bytes per camera of every segment in retention's scope (open ones too): what its quotas count."""
        from sqlalchemy import func

        q = (select(SegmentModel.camera_id, func.coalesce(func.sum(SegmentModel.bytes), 0))
             .where(self._retention_scope()).group_by(SegmentModel.camera_id))
        with self.session() as s:
            return {c: int(b) for c, b in s.execute(q)}

    def oldest_start(self, camera_id: str) -> int | None:
        """When a camera's oldest segment (anywhere) starts: one look in the (camera, start) index."""
        from sqlalchemy import func

        with self.session() as s:
            first = s.scalar(select(func.min(SegmentModel.start_ms)).where(SegmentModel.camera_id == camera_id))
            return int(first) if first is not None else None

    def storage_summary(self) -> list[tuple[str, int, int, int, int]]:
        """(camera, segments, bytes, oldest start, newest end) per camera."""
        from sqlalchemy import func

        q = select(SegmentModel.camera_id, func.count(), func.coalesce(func.sum(SegmentModel.bytes), 0),
                   func.min(SegmentModel.start_ms), func.max(SegmentModel.end_ms)).group_by(SegmentModel.camera_id)
        with self.session() as s:
            return [(c, int(n), int(b), int(a or 0), int(z or 0)) for c, n, b, a, z in s.execute(q)]

    # events
    def add_event(
        self, type_: str, message: str, camera_id: str | None = None, severity: str = "warning",
        details: dict[str, Any] | None = None, start_ms: int | None = None, end_ms: int | None = None,
        rule_id: str | None = None, label: str | None = None, score: float | None = None,
        track_id: int | None = None, snapshot: str | None = None, attributes: dict[str, str] | None = None,
    ) -> EventRow:
        """`attributes`: searchable target attributes (upper_color, lower_color, body_color, plate)."""
        with self.session() as s, s.begin():
            m = EventModel(
                camera_id=camera_id, type=type_, severity=severity, start_ms=start_ms or now_ms(),
                end_ms=end_ms, message=message, details=details or {}, rule_id=rule_id, label=label,
                score=score, track_id=track_id, snapshot=snapshot, **_attributes(attributes),
            )
            s.add(m)
            s.flush()
            return EventRow.of(m)

    def update_event(self, event_id: int, end_ms: int | None = None, details: dict[str, Any] | None = None,
                     message: str | None = None, snapshot: str | None = None,
                     attributes: dict[str, str] | None = None) -> EventRow | None:
        """Closes an event (its end) and merges details and attributes into it."""
        with self.session() as s, s.begin():
            m = s.get(EventModel, event_id)
            if m is None:
                return None
            for k, v in _attributes(attributes).items():
                setattr(m, k, v)
            if snapshot is not None:
                m.snapshot = snapshot
            if end_ms is not None:
                m.end_ms = end_ms
            if details:
                m.details = {**m.details, **details}
            if message is not None:
                m.message = message
            return EventRow.of(m)

    def event(self, event_id: int) -> EventRow | None:
        with self.session() as s:
            m = s.get(EventModel, event_id)
            return None if m is None else EventRow.of(m)

    def events_between(self, camera_id: str, start_ms: int, end_ms: int, limit: int = 5000) -> list[EventRow]:
        q = (
            select(EventModel)
            .where(EventModel.camera_id == camera_id, EventModel.start_ms <= end_ms)
            .where((EventModel.end_ms.is_(None)) | (EventModel.end_ms >= start_ms))
            .where(EventModel.start_ms >= start_ms - 86_400_000)
            .order_by(EventModel.start_ms)
            .limit(limit)
        )
        with self.session() as s:
            return [
                EventRow.of(r)
                for r in s.scalars(q)
            ]
