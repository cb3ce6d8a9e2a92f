"""Playback by time without re-encoding: fragments of many segment files, re-timed onto one timeline.

Each segment file restarts its clock at 0. A playback of [start, end] is the init segment (ftyp+moov)
of the first file followed by the whole fragments (one GOP each) that cover the range, each moof's
decode time shifted to the common timeline. Only moofs are rewritten (a few hundred bytes); the mdat
bytes are read straight from the files, so an MP4 download or an export runs at disk speed and an HLS
fragment is served without touching FFmpeg.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.errors import NotFoundError, SegmentError
from vigil.media.fmp4 import SegmentScan, patch_moof, scan_file
from vigil.media.segment_files import SegmentFiles

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class FragmentRef:
    segment: SegmentRow
    index: int  # position in its file
    offset: int
    size: int
    moof_size: int
    wall_ms: int  # wall time of the fragment's first frame
    duration_ms: int


@dataclass
class Plan:
    camera: str
    fragments: list[FragmentRef]
    start_ms: int  # wall time of the first frame (a keyframe at or before the asked start)
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class ScanCache:
    """Segment scans keyed by the bytes' version: a growing open segment is rescanned, a closed one is not."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[tuple[str, str, int, int], SegmentScan] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, files: SegmentFiles, seg: SegmentRow) -> SegmentScan:
        key = files.version(seg)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        with files.open(seg) as f:
            scan = scan_file(f, key[2])
        with self._lock:
            self._items[key] = scan
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return scan


SCANS = ScanCache()


def fragments_of(files: SegmentFiles, seg: SegmentRow) -> list[FragmentRef]:
    scan = SCANS.get(files, seg)
    if not scan.fragments or not scan.timescale:
        return []
    t0 = scan.fragments[0].start
    ts = scan.timescale
    out = []
    for i, f in enumerate(scan.fragments):
        wall = seg.start_ms + round((f.start - t0) * 1000 / ts)
        dur = round((f.end - f.start) * 1000 / ts)
        out.append(FragmentRef(seg, i, f.offset, f.size, 0, wall, dur))
    return out


def plan_range(catalog: Catalog, files: SegmentFiles, camera: str, start_ms: int, end_ms: int) -> Plan:
    """The fragments covering [start_ms, end_ms]: from the keyframe at or before start to the GOP holding end."""
    segs = catalog.segments(camera, start_ms - 3_600_000, end_ms)
    frags: list[FragmentRef] = []
    for seg in segs:
        if seg.status == "closed" and seg.end_ms < start_ms:
            continue
        if not files.readable(seg):
            continue  # being written on another node's disk: that node serves it until it is uploaded
        for f in fragments_of(files, seg):
            if f.wall_ms + f.duration_ms > start_ms and f.wall_ms < end_ms:
                frags.append(f)
    if not frags:
        raise NotFoundError(
            f"no recording of camera {camera!r} between {iso(start_ms)} and {iso(end_ms)}; "
            f"GET /api/cameras/{camera}/timeline shows what is recorded"
        )
    frags.sort(key=lambda f: f.wall_ms)
    last = frags[-1]
    return Plan(camera, frags, frags[0].wall_ms, last.wall_ms + last.duration_ms)


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_init(files: SegmentFiles, seg: SegmentRow) -> bytes:
    scan = SCANS.get(files, seg)
    with files.open(seg) as f:
        return f.read(scan.init_size)


def patched_moof(files: SegmentFiles, frag: FragmentRef, origin_ms: int, sequence: int) -> bytes:
    """The fragment's moof with decode times moved so that `origin_ms` is time 0."""
    scan = SCANS.get(files, frag.segment)
    with files.open(frag.segment) as f:
        f.seek(frag.offset)
        head = f.read(8)
        size = int.from_bytes(head[:4], "big")
        if head[4:8] != b"moof":
            raise SegmentError(f"{frag.segment.path}: no fragment at byte {frag.offset}")
        moof = head + f.read(size - 8)
    shift_ms = frag.segment.start_ms - origin_ms
    shifts = {track: round(shift_ms * ts / 1000) for track, ts in scan.timescales.items()}
    return patch_moof(moof, shifts, sequence)


def fragment_bytes(files: SegmentFiles, frag: FragmentRef, origin_ms: int, sequence: int) -> bytes:
    """The whole fragment (patched moof + mdat), re-timed so that `origin_ms` is time 0."""
    moof = patched_moof(files, frag, origin_ms, sequence)
    with files.open(frag.segment) as f:
        f.seek(frag.offset + len(moof))
        return moof + f.read(frag.size - len(moof))


@dataclass(frozen=True)
class Part:
    """A piece of a virtual MP4: bytes in memory, or a slice of a segment file."""

    size: int
    data: bytes | None = None
    segment: SegmentRow | None = None
    offset: int = 0


def mp4_parts(files: SegmentFiles, plan: Plan) -> list[Part]:
    """init + (patched moof, mdat slice) for each fragment; stops where the stream's parameters change."""
    first = plan.fragments[0].segment
    init = read_init(files, first)
    parts = [Part(len(init), data=init)]
    inits = {first.id: init}
    for seq, frag in enumerate(plan.fragments, start=1):
        if frag.segment.id not in inits:
            inits[frag.segment.id] = read_init(files, frag.segment)
        if inits[frag.segment.id] != init:
            break  # the camera changed codec or resolution: one MP4 cannot hold both
        moof = patched_moof(files, frag, plan.start_ms, seq)
        parts.append(Part(len(moof), data=moof))
        parts.append(Part(frag.size - len(moof), segment=frag.segment, offset=frag.offset + len(moof)))
    return parts


def read_parts(files: SegmentFiles, parts: list[Part], start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes [start, end] (inclusive) of the virtual file made of `parts`."""
    total = sum(p.size for p in parts)
    end = total - 1 if end is None else min(end, total - 1)
    pos = 0
    for part in parts:
        lo, hi = pos, pos + part.size - 1
        pos += part.size
        if hi < start or lo > end:
            continue
        a, b = max(start, lo) - lo, min(end, hi) - lo + 1
        if part.data is not None:
            yield part.data[a:b]
            continue
        assert part.segment is not None
        with files.open(part.segment) as f:
            f.seek(part.offset + a)
            left = b - a
            while left > 0:
                chunk = f.read(min(READ_CHUNK, left))
                if not chunk:
                    raise SegmentError(f"{part.segment.path} is shorter than its index says")
                left -= len(chunk)
                yield chunk


def hls_playlist(plan: Plan, token_query: str = "") -> str:
    """HLS VOD (fMP4): one media segment per fragment, with a new EXT-X-MAP where the file's init changes."""
    q = f"?origin={plan.start_ms}" + (f"&{token_query}" if token_query else "")
    target = max(1, math.ceil(max(f.duration_ms for f in plan.fragments) / 1000))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    current: int | None = None
    prev_shape: tuple[str, int, int] | None = None
    for frag in plan.fragments:
        seg = frag.segment
        if seg.id != current:
            if current is not None and (seg.codec, seg.width, seg.height) != prev_shape:
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f'#EXT-X-MAP:URI="/api/segments/{seg.id}/init.mp4{"?" + token_query if token_query else ""}"')
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso(frag.wall_ms)}")
            current, prev_shape = seg.id, (seg.codec, seg.width, seg.height)
        lines.append(f"#EXTINF:{frag.duration_ms / 1000:.3f},")
        lines.append(f"/api/segments/{seg.id}/fragments/{frag.index}.m4s{q}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
