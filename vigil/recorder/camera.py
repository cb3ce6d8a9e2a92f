"""One camera's recorder: source packets → segment files → catalog rows. Runs in its own thread,
so a stuck or failing camera never stalls another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import av
import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from vigil.analytics.audio import AudioChange, AudioLevel
from vigil.catalog.store import Catalog
from vigil.clock import now_ms
from vigil.config import CameraConfig, SourceSettings, redact_url
from vigil.errors import SegmentError, StorageError
from vigil.layout import segment_path
from vigil.log import get_logger
from vigil.media.clock import CameraClock, ms_of
from vigil.media.fmp4 import scan_segment
from vigil.media.fmp4_writer import CODECS as OWN_WRITER_CODECS
from vigil.media.fmp4_writer import Fmp4Writer
from vigil.media.live import LiveStream, PacketSink
from vigil.media.native_source import NativeSource, NativeUnsupported
from vigil.media.rtsp_out import StreamRelay
from vigil.media.segmenter import SegmentWriter, recordable_audio
from vigil.media.source import CameraSource, Lost, Opened
from vigil.recorder.modes import TRIGGERS, PreBuffer, RecordGate
from vigil.recorder.rate import RateMeter
from vigil.schedule import covers

log = get_logger(__name__)

STORAGE_ALARM_INTERVAL_S = 60.0
CLOCK_SLACK_MS = 100  # two estimates of one picture's wall time differ by less (clock rounding, jitter)


@dataclass
class PendingCut:
    at_s: float  # the new segment's first picture, on the stream's clock
    pts_ms: int
    held: list[Any]  # its pictures so far

    MAX_HELD = 2.0  # seconds of pictures held at most: sound later than this (or none) does not stall recording

    def overdue(self) -> bool:
        last = self.held[-1]
        return float(last.pts * last.time_base) - self.at_s > self.MAX_HELD


@dataclass
class CameraStatus:
    state: str = "connecting"  # connecting | online | offline | disabled
    last_error: str | None = None
    since_ms: int = 0
    stream: str = ""
    segments_written: int = 0
    packets: int = 0
    bytes_received: int = 0
    frames: int = 0  # video packets
    dropped_packets: int = 0  # refused by the segment writer (timestamps going backwards)
    camera_clock_ms: int | None = None  # the camera's clock (RTCP sender reports) - ours, at a picture's arrival


class CameraRecorder:
    def __init__(
        self,
        camera: CameraConfig,
        storage: Path,
        catalog: Catalog,
        source: SourceSettings,
        fsync: bool = True,
        on_storage_error: Callable[[str, str], None] | None = None,
        live: LiveStream | None = None,
        on_state: Callable[[str, str, str | None], None] | None = None,
        on_audio: Callable[[str, AudioChange], None] | None = None,
        relay: StreamRelay | None = None,
        frames: PacketSink | None = None,
    ) -> None:
        self.camera = camera
        self.relay = relay  # RTSP out
        self.frames = frames  # the analysis of a camera without a sub-stream: pictures from this connection
        self._on_state = on_state
        self._on_audio = on_audio
        aa = camera.audio_alarm
        self._hearing = AudioLevel(aa.threshold_db, aa.jump_db) if aa.enabled else None
        self._audio_in: Any = None  # the camera's audio stream, recorded or not
        self._ear: Any = None  # its decoder, for audio alarms
        self.storage = storage
        self.catalog = catalog
        self.fsync = fsync
        self.status = CameraStatus(since_ms=now_ms())
        self.rate = RateMeter()
        self._stop = threading.Event()
        self._settings = source
        self.fallback: str | None = None  # why native ingest gave way to FFmpeg for this camera
        self._source = self._make_source()
        self._thread: threading.Thread | None = None
        self._on_storage_error = on_storage_error
        self.live = live
        self._writer: SegmentWriter | Fmp4Writer | None = None
        self._seg_id = 0
        self._clock = CameraClock()
        self._wall_ms: int | None = None  # the last video packet's wall time
        self._seg_first_pts_ms = 0
        self._video: Any = None
        self._audio: Any = None
        self._last_storage_alarm = 0.0
        self._last_dts: int | None = None
        self._frame_delta = 0
        rec = camera.record
        # Event-driven modes: a RAM pre-buffer and a gate the event bus opens (see recorder/modes.py).
        self.gate = RecordGate(int(rec.post_seconds * 1000)) if rec.mode != "continuous" else None
        self.triggers = TRIGGERS.get(rec.mode, frozenset())
        # A weekly schedule sends even continuous recording through the gated path: outside its windows nothing
        # is written; at a window's start the segment begins at the pre-buffer's first keyframe.
        self.gated = self.gate is not None or bool(rec.schedule)
        self._pre = PreBuffer(int(rec.pre_seconds * 1000))
        self._handover = False
        self._cut: PendingCut | None = None  # a segment cut waiting for the sound before it
        self._writer_opened = 0  # segments this recorder opened
        self._not_before = 0  # the first one starts no earlier (see _previous_end)

    def _make_source(self) -> CameraSource | NativeSource:
        s, url = self._settings, self.camera.url
        args = (url, self._stop, s.open_timeout_seconds, s.read_timeout_seconds, s.backoff_initial_seconds,
                s.backoff_max_seconds, self.camera.transport)
        # HTTP-MJPEG, files and rtsps:// are FFmpeg's to read; so is a camera the native client gave up on.
        if self.camera.ingest == "native" and self.fallback is None and urlsplit(url).scheme == "rtsp":
            return NativeSource(*args, urgent=self._urgent)
        return CameraSource(*args)

    def _urgent(self) -> bool:
        """Whether someone takes this camera's pictures as they come: its analysis, a live viewer, RTSP out
        clients. Recording alone can take them a quarter of a second at a time (fewer wake-ups of this thread)."""
        return self.frames is not None or (self.live is not None and self.live.wanted) or (
            self.relay is not None and self.relay.active)

    @property
    def ingest(self) -> str:
        return "native" if isinstance(self._source, NativeSource) else "ffmpeg"

    # lifecycle
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"rec-{self.camera.id}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def hand_over(self) -> None:
        """Stop at the next segment cut (a cluster hands the camera to another node without cutting a segment
        short); `finished` tells when it has."""
        self._handover = True

    @property
    def finished(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        retry_s = 1.0
        try:
            while not self._stop.is_set():
                events = self._source.events()
                try:
                    for item in events:
                        if isinstance(item, Opened):
                            self._on_opened(item)
                            retry_s = 1.0
                        elif isinstance(item, Lost):
                            self._drop_connection()
                            self._set_state("offline", item.error)
                            log.warning("camera_offline", camera=self.camera.id, error=item.error)
                        else:
                            self._on_packet(item)
                    return
                except NativeUnsupported as err:
                    # Not a camera fault: what this camera sends is beyond Vigil's own client. FFmpeg reads it
                    # from now on (until a restart or a reload), and the camera's stream says why.
                    self.fallback = f"FFmpeg reads this camera: {err}"
                    log.warning("native_ingest_fallback", camera=self.camera.id, reason=str(err))
                    self._drop_connection()
                    self._source = self._make_source()
                except Exception as err:  # one camera's stream must not end its recording for good
                    # Whatever this stream did to Vigil, the segment written so far is closed and indexed, the
                    # camera shows the error, and the connection starts again (a bug is logged with its trace).
                    where = redact_url(self.camera.url)
                    what = f"{type(err).__name__}: {err}".replace(self.camera.url, where)
                    log.exception("recorder_error", camera=self.camera.id, error=what)
                    events.close()
                    self._drop_connection()
                    self._set_state("offline", f"{where}: Vigil could not handle this stream ({what}) — it "
                                    "reconnects; if this repeats, check the camera's codec settings and report the log")
                    self._stop.wait(retry_s)
                    retry_s = min(30.0, retry_s * 2)
        finally:
            self._drop_connection()

    def _drop_connection(self) -> None:
        self._flush_cut()
        if self.live is not None:
            self.live.close()
        if self.relay is not None:
            self.relay.close()
        if self.frames is not None:
            self.frames.close()
        self._close_segment()

    # state
    def _set_state(self, state: str, error: str | None = None) -> None:
        if state == self.status.state and error == self.status.last_error:
            return
        changed = state != self.status.state
        if changed:
            self.status.since_ms = now_ms()
        self.status.state, self.status.last_error = state, error
        if changed and self._on_state is not None:
            try:
                self._on_state(self.camera.id, state, error)
            except Exception as err:  # an alarm must not take the recorder down with it
                log.error("state_callback_failed", camera=self.camera.id, error=repr(err))
        try:
            self.catalog.set_camera_state(self.camera.id, state, error)
        except SQLAlchemyError as err:
            log.error("catalog_write_failed", camera=self.camera.id, error=err)

    def _on_opened(self, opened: Opened) -> None:
        self._video = opened.video
        self._audio_in = opened.audio
        self._ear = None
        if self._hearing is not None and opened.audio is None:
            log.warning("audio_alarm_without_audio", camera=self.camera.id,
                        why="the camera sends no audio track: enable its microphone, or turn audio_alarm off")
        self._audio = opened.audio if self.camera.record.record_audio and recordable_audio(opened.audio) else None
        if opened.audio is not None and self._audio is None and self.camera.record.record_audio:
            log.info("audio_not_recorded", camera=self.camera.id, codec=opened.audio.codec_context.name,
                     reason="the MP4 container carries AAC/MP3 only")
        self._clock.reset()
        self._wall_ms = None
        self._pre.drain()  # packets of the previous connection belong to a closed stream
        self._last_dts = None
        self.status.stream = opened.description
        if self.fallback is not None:  # why FFmpeg reads an RTSP camera that native ingest was to read
            self.status.stream += f" ({self.fallback})"
        if self.live is not None:
            self.live.open(opened.video)
        if self.relay is not None:
            self.relay.open(opened.video, opened.audio)
        if self.frames is not None:
            self.frames.open(opened.video)
        self._set_state("online")
        log.info("camera_online", camera=self.camera.id, stream=opened.description)

    # packets
    @staticmethod
    def _pts_ms(packet: Any) -> int:
        tb: Fraction = packet.time_base
        return ms_of(packet.pts, tb.numerator, tb.denominator)

    def _hear(self, packet: Any) -> None:
        """Audio alarms: the level of the camera's sound (decoding audio is cheap: ~0.1 ms a frame)."""
        assert self._hearing is not None
        if self._ear is None:
            # Its own decoder, from the stream's parameters: the packets may come from native ingest, whose
            # streams only describe the codec.
            cc = self._audio_in.codec_context
            self._ear = av.CodecContext.create(cc.name, "r")
            self._ear.extradata = cc.extradata
            self._ear.sample_rate = cc.sample_rate
            self._ear.layout = cc.layout
        try:
            frames = self._ear.decode(packet)
        except av.error.FFmpegError as err:  # a damaged audio packet costs its sound, not the recording
            log.debug("audio_decode_failed", camera=self.camera.id, error=str(err))
            return
        for frame in frames:
            arr = frame.to_ndarray()
            if arr.dtype.kind in "iu":
                arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
            channels = max(1, len(frame.layout.channels))
            mono = arr.mean(axis=0) if frame.format.is_planar else arr.reshape(-1, channels).mean(axis=1)
            for change in self._hearing.update(now_ms(), mono, frame.sample_rate):
                if self._on_audio is not None:
                    self._on_audio(self.camera.id, change)

    def _on_packet(self, packet: Any) -> None:
        st = self.status
        st.packets += 1
        st.bytes_received += packet.size
        video = packet.stream is self._video
        st.frames += video
        self.rate.add(time.monotonic(), packet.size, video)
        if self._handover and video and packet.is_keyframe and (
                self._writer is None
                or self._writer.elapsed_seconds(packet.pts) >= self.camera.record.segment_seconds):
            self._flush_cut()
            self._close_segment()
            self._stop.set()
            return
        if self.relay is not None:
            self.relay.feed(packet)  # as received, before anything here re-stamps it
        if not video and self._hearing is not None and packet.stream is self._audio_in:
            self._hear(packet)
        if video:
            dts = packet.dts if packet.dts is not None else packet.pts
            if self._last_dts is not None and dts > self._last_dts:
                self._frame_delta = dts - self._last_dts
            self._last_dts = dts
            if not packet.duration and self._frame_delta:
                # The last sample of a fragment needs a duration, or segments end one frame short.
                packet.duration = self._frame_delta
            if self.live is not None and self.live.wanted:
                self.live.feed(packet)  # before the segment writer, which re-stamps the packet
            if self.frames is not None:
                self.frames.feed(packet)  # copied there: the re-stamping below cannot reach it
            pts_ms = self._pts_ms(packet)
            self._wall_ms = self._clock.track(pts_ms, sender_offset=self._source.sender_offset_ms)
            st.camera_clock_ms = self._clock.skew_ms
            if self.gated:
                self._on_packet_gated(packet, True, pts_ms)
                return
            if self._cut is not None:
                self._cut.held.append(packet)
                if self._cut.overdue():
                    self._finish_cut()
                return
            if packet.is_keyframe and (
                self._writer is None
                or self._writer.elapsed_seconds(packet.pts) >= self.camera.record.segment_seconds
            ):
                if self._writer is not None and self._audio is not None:
                    # Sound comes late beside the pictures (an encoder's delay, a camera's buffering): the sound
                    # of the ending segment's last moments is still on its way. The cut waits for it, holding
                    # the new segment's pictures, so no sound is lost at a cut.
                    self._cut = PendingCut(float(packet.pts * packet.time_base), pts_ms, [packet])
                    return
                self._close_segment()
                self._open_segment(pts_ms)
        elif self.gated:
            self._on_packet_gated(packet, False, 0)
            return
        elif self._cut is not None:
            if float(packet.pts * packet.time_base) < self._cut.at_s:
                self._write(packet)  # sound of the ending segment
                return
            self._finish_cut()
        if self._writer is None:
            return
        self._write(packet)

    def _flush_cut(self) -> None:
        """A held cut given up (the stream ends, the camera is handed over): its pictures go into the segment
        being written, which ends a little later."""
        cut, self._cut = self._cut, None
        for p in cut.held if cut is not None else ():
            self._write(p)

    def _finish_cut(self) -> None:
        """The held cut: the ending segment closed, the new one opened at the held keyframe, the held pictures
        written into it."""
        cut, self._cut = self._cut, None
        if cut is None:
            return
        self._close_segment()
        self._open_segment(cut.pts_ms)
        for p in cut.held:
            self._write(p)

    def _write(self, packet: Any) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(packet)
        except StorageError as err:
            self._storage_error(str(err))
            self._close_segment()

    def _on_packet_gated(self, packet: Any, video: bool, pts_ms: int) -> None:
        """Event modes and schedules: buffer while idle; on an event (in the schedule), open a segment at the oldest
        buffered keyframe (pre-event video) and keep writing until the gate closes, then stop at a keyframe."""
        # Asked at the packet's own time, not the clock's: a recorder running behind would otherwise close the
        # gate on packets from before the post-event time and cut the recording short.
        t = self._wall_ms if self._wall_ms is not None else now_ms()
        wanted = (self.gate is None or self.gate.wanted(t)) and covers(self.camera.record.schedule, t)
        key = video and packet.is_keyframe
        if self._writer is not None:
            if key and (not wanted or self._writer.elapsed_seconds(packet.pts) >= self.camera.record.segment_seconds):
                self._close_segment()
                if wanted:
                    self._open_segment(pts_ms)
            if self._writer is not None:
                self._write(packet)
                return
        self._pre.push(packet, video, key, pts_ms)
        start = self._pre.start_pts_ms
        if wanted and start is not None:
            self._open_segment(start)
            for p in self._pre.drain():
                self._write(p)
    def _open_segment(self, pts_ms: int) -> None:
        if not self.camera.record.enabled or self._clock.offset is None:
            return
        start_ms = pts_ms + self._clock.offset
        if self._writer_opened == 0:
            self._not_before = self._previous_end(start_ms)
        self._writer_opened += 1
        start_ms = max(start_ms, self._not_before)
        path = segment_path(self.storage, self.camera.id, start_ms)
        rel = str(path.relative_to(self.storage))
        cc = self._video.codec_context
        try:
            self._seg_id = self.catalog.open_segment(self.camera.id, start_ms, rel, cc.name, cc.width, cc.height)
        except SQLAlchemyError as err:
            log.error("catalog_write_failed", camera=self.camera.id, error=err)
            return
        try:
            # Native ingest writes with Vigil's own fMP4 writer (no FFmpeg per packet); FFmpeg's muxer otherwise.
            own = self.ingest == "native" and cc.name in OWN_WRITER_CODECS
            self._writer = (Fmp4Writer if own else SegmentWriter)(path, self._video, self._audio, self.fsync)
        except StorageError as err:
            self.catalog.delete_segments([self._seg_id])
            self._storage_error(str(err))
            return
        self._seg_first_pts_ms = pts_ms
        log.debug("segment_open", camera=self.camera.id, path=rel)

    def _previous_end(self, start_ms: int) -> int:
        """Where the camera's recording before this recorder ended, when that is a hair after `start_ms`: the
        picture this recorder starts with is the one the other (a node that handed the camera over, this node
        before a restart) stopped before, and the two clock estimates of it differ by a few ms. The new row starts
        at the old one's end, so rows never overlap."""
        try:
            rows = self.catalog.segments(self.camera.id, start_ms=start_ms - CLOCK_SLACK_MS, status="closed")
        except SQLAlchemyError:
            return 0
        ends = [r.end_ms for r in rows if r.start_ms < start_ms and 0 < r.end_ms - start_ms <= CLOCK_SLACK_MS]
        return max(ends, default=0)

    def _close_segment(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.close()
        self.status.dropped_packets += writer.dropped
        try:
            scan = scan_segment(writer.path)
        except SegmentError as err:
            log.error("segment_unreadable", camera=self.camera.id, path=writer.path, error=err)
            return
        try:
            if not scan.fragments:
                writer.path.unlink(missing_ok=True)
                self.catalog.delete_segments([self._seg_id])
                return
            # The clock offset has settled since the file was named: the row gets the refined start.
            start = max(self._seg_first_pts_ms + (self._clock.offset or 0), self._not_before)
            self.catalog.close_segment(self._seg_id, start, start + scan.duration_ms, scan.file_size,
                                       scan.keyframes_ms())
            self.status.segments_written += 1
        except SQLAlchemyError as err:
            # The row stays 'open'; recovery on the next start indexes the file from disk.
            log.error("catalog_write_failed", camera=self.camera.id, error=err)
        except OSError as err:
            log.error("segment_cleanup_failed", camera=self.camera.id, error=err)

    def _storage_error(self, message: str) -> None:
        log.error("storage_error", camera=self.camera.id, error=message)
        now = time.monotonic()
        if self._on_storage_error and now - self._last_storage_alarm > STORAGE_ALARM_INTERVAL_S:
            self._last_storage_alarm = now
            self._on_storage_error(self.camera.id, message)
