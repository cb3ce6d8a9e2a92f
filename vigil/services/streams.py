"""The live side of every camera: live views (the recorder's main stream, a sub-stream read on demand), RTSP
out's relays, and the routing of RTSP out's requests (live, a replay of the recordings, or a relay to the
cluster node that records the camera).

One reader per sub-stream feeds its live view, RTSP out and (see media/frames.py) the analysis: a camera gives
Vigil one session per stream."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from vigil.catalog.accounts import User, rtsp_user
from vigil.catalog.audit import AuditLog
from vigil.catalog.nodes import NodeRow
from vigil.catalog.store import Catalog
from vigil.config import CameraConfig, SourceSettings, TranscodeSettings
from vigil.errors import NotFoundError
from vigil.log import get_logger
from vigil.media.live import LiveReader, LiveStream, PacketSink
from vigil.media.rtsp_broadcast import Broadcaster
from vigil.media.rtsp_out import StreamRelay
from vigil.media.rtsp_replay import Replay, parse_start
from vigil.media.rtsp_server import Elsewhere, RtspServer
from vigil.media.segment_files import SegmentFiles
from vigil.media.transcode import TranscodedStream

log = get_logger(__name__)


class TranscodeLimit(Exception):
    """More live transcoders would run than the box is set to allow."""


class StreamHub:
    def __init__(self, catalog: Catalog, files: SegmentFiles, source: SourceSettings,
                 cameras: Callable[[], dict[str, CameraConfig]], lock: threading.Lock,
                 frames_for: Callable[[str], PacketSink | None],
                 elsewhere: Callable[[str], NodeRow | None] | None = None,
                 transcode: TranscodeSettings | None = None) -> None:
        """`cameras()`: the cameras as they are now; `lock`: the camera lifecycle's (readers start under it);
        `frames_for(camera)`: the analysis fed by its sub-stream, if any; `elsewhere(camera)`: in a cluster, the
        node that records a camera this node does not (None: a single Vigil records every camera)."""
        self.catalog, self.files, self.source = catalog, files, source
        self._cameras, self._lock, self._frames_for, self._elsewhere = cameras, lock, frames_for, elsewhere
        self.live: dict[tuple[str, str], LiveStream] = {}
        self._readers: dict[str, LiveReader] = {}
        self.relays: dict[tuple[str, str], StreamRelay] = {}  # RTSP out, per camera and stream
        self._loop: asyncio.AbstractEventLoop | None = None  # set when RTSP out serves
        self.transcode = transcode or TranscodeSettings()
        self.transcoded: dict[tuple[str, str], TranscodedStream] = {}

    def main_stream(self, camera_id: str) -> LiveStream:
        """The live view of a camera's main stream (its recorder feeds it)."""
        return self.live.setdefault((camera_id, "main"), LiveStream(f"{camera_id}/main"))

    def live_stream(self, camera_id: str, kind: str) -> LiveStream:
        """The live stream a viewer asked for: the recorder's main stream, or the sub-stream, read on demand.
        A camera without a sub-stream serves its main stream for both."""
        cam = self._cameras()[camera_id]
        if kind != "sub" or not cam.sub_url:
            return self.main_stream(camera_id)
        with self._lock:
            stream = self.live.setdefault((camera_id, "sub"), LiveStream(f"{camera_id}/sub"))
            stream.last_viewer = time.monotonic()
            self.read_sub(cam)
            return stream

    def playable(self, camera_id: str, kind: str, h264_only: bool) -> LiveStream:
        """The live stream for a viewer: as the camera sends it, or — when the viewer's browser decodes only H.264
        and the camera sends something else — the camera's one H.264 rendition, shared by all such viewers
        (within `live.transcode.max_sessions`)."""
        base = self.live_stream(camera_id, kind)
        if not h264_only or base.codec in (None, "h264"):
            return base
        with self._lock:
            key = (camera_id, kind)
            t = self.transcoded.get(key)
            if t is None:
                busy = sum(1 for x in self.transcoded.values() if x.wanted)
                if busy >= self.transcode.max_sessions:
                    raise TranscodeLimit(f"{busy} live transcoders run already (live.transcode.max_sessions: "
                                         f"{self.transcode.max_sessions}); open the camera's sub-stream, or use "
                                         "a browser that plays " + str(base.codec))
                t = self.transcoded[key] = TranscodedStream(f"{camera_id}/{kind}/h264", self.transcode.max_height)
            base.add_tap(t)
            return t

    def read_sub(self, cam: CameraConfig) -> None:
        """One reader of a camera's sub-stream for its analysis, live viewers and RTSP clients alike (the caller
        holds the lifecycle lock)."""
        reader = self._readers.get(cam.id)
        if reader is None or not reader.alive:
            assert cam.sub_url is not None
            stream = self.live.setdefault((cam.id, "sub"), LiveStream(f"{cam.id}/sub"))
            frames = self._frames_for(cam.id)
            self._readers[cam.id] = LiveReader(cam.sub_url, [stream, self.relay(cam.id, "sub"),
                                                             *([frames] if frames else [])],
                                               f"{cam.id}/sub", self.source.open_timeout_seconds,
                                               self.source.read_timeout_seconds, cam.transport)

    def stop_reader(self, camera_id: str) -> None:
        reader = self._readers.pop(camera_id, None)
        if reader is not None:
            reader.stop()

    def stop(self) -> None:
        for reader in self._readers.values():
            reader.stop()

    def relay(self, camera_id: str, kind: str) -> StreamRelay:
        relay = self.relays.get((camera_id, kind))
        if relay is None:
            relay = self.relays[(camera_id, kind)] = StreamRelay(f"{camera_id}/{kind}")
            relay.loop = self._loop
        return relay

    def serve_relays(self, loop: asyncio.AbstractEventLoop) -> None:
        """RTSP out is on: relays may hand packets to this loop from now on."""
        self._loop = loop
        for relay in self.relays.values():
            relay.loop = loop

    def rtsp_allowed(self, user: User, url: str) -> bool:
        """Whether a playing RTSP client may go on: the account still exists, is enabled and still has the
        camera (checked every second: a removed right ends the stream)."""
        camera_id = RtspServer.path_of(url).partition("/")[0]
        found = rtsp_user(self.catalog, user.username)
        if found is None or camera_id not in self._cameras():
            return False
        now = found[1]
        return now.cameras is None or camera_id in now.cameras

    async def rtsp_elsewhere(self, url: str) -> Elsewhere | None:
        """In a cluster, the node whose RTSP out has this live path: another node records the camera. None for
        this node's cameras, unknown paths and replays (the recordings play from any node)."""
        camera_id = RtspServer.path_of(url).partition("/")[0]
        if self._elsewhere is None or camera_id not in self._cameras() or "start" in parse_qs(urlsplit(url).query):
            return None
        there = await asyncio.to_thread(self._elsewhere, camera_id)
        rtsp = there.details.get("rtsp") if there is not None else None
        if not (isinstance(rtsp, str) and rtsp):
            return None
        parts = urlsplit(url)
        return Elsewhere(f"{rtsp}{parts.path}" + (f"?{parts.query}" if parts.query else ""))

    async def rtsp_stream(self, url: str, user: User | None, address: str = "") -> Broadcaster | Elsewhere | None:
        """What rtsp://…/<camera>[/sub][?start=T] plays for this user: live, or the recordings from T; None (404)
        for a camera they do not have, or no recording from T on. In a cluster, live video of a camera another
        node records is relayed to that node (recordings play from any node: they are in the bucket)."""
        camera_id, _, kind = RtspServer.path_of(url).partition("/")
        cam = self._cameras().get(camera_id)
        if cam is None or kind not in ("", "sub", "main"):
            return None
        if user is not None:
            if user.cameras is not None and camera_id not in user.cameras:
                return None
            await asyncio.to_thread(AuditLog(self.catalog).add, "rtsp", user.username, address, camera_id, None,
                                    {"url": RtspServer.path_of(url), "query": urlsplit(url).query})
        start = parse_qs(urlsplit(url).query).get("start")
        if start:
            return await self._replay(camera_id, start[0])
        if (where := await self.rtsp_elsewhere(url)) is not None:  # moved since the connection's first request
            return where
        wait = self.source.open_timeout_seconds + 1  # a camera just added or reconnecting gets its open time
        if kind == "sub" and cam.sub_url:
            relay = self.relay(camera_id, "sub")
            relay.want()
            with self._lock:
                self.read_sub(cam)
            return await relay.ready(wait)
        relay = self.relay(camera_id, "main")
        broadcaster = await relay.ready(wait)
        if broadcaster is None and relay.error:
            log.warning("rtsp_out_unsupported", camera=camera_id, error=relay.error)
        return broadcaster

    async def _replay(self, camera_id: str, start: str) -> Broadcaster | None:
        try:
            replay = Replay(self.catalog, self.files, camera_id, parse_start(start), asyncio.get_running_loop())
            prepared: Broadcaster | None = await asyncio.to_thread(replay.prepare)
            return prepared
        except (ValueError, NotFoundError) as err:
            log.info("rtsp_replay_refused", camera=camera_id, error=str(err))
            return None
