"""Reading and repairing fragmented MP4 segment files, without decoding.

A segment is `ftyp moov (moof mdat)* [mfra]`. A crash can leave the last
fragment half written; `repair` cuts the file back to the last whole one.
The box walk also yields each fragment's byte offset and media time, which is
the keyframe index the catalog keeps for seeking.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vigil.errors import SegmentError

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts"}


@dataclass(frozen=True)
class Box:
    type: bytes
    offset: int
    size: int
    header: int

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def body(self) -> int:
        return self.offset + self.header


@dataclass(frozen=True)
class Fragment:
    offset: int  # byte offset of the moof
    size: int  # moof + mdat bytes
    start: int  # video decode time, in the video track's timescale
    end: int


@dataclass
class SegmentScan:
    file_size: int
    valid_end: int  # byte offset after the last whole box group; the file's good length
    timescale: int = 0
    video_track: int = 0
    init_size: int = 0  # bytes of ftyp + moov: the init segment
    timescales: dict[int, int] = field(default_factory=dict)  # track id -> timescale
    fragments: list[Fragment] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.valid_end < self.file_size

    @property
    def duration_ms(self) -> int:
        if not self.fragments or not self.timescale:
            return 0
        return round((self.fragments[-1].end - self.fragments[0].start) * 1000 / self.timescale)

    def keyframes_ms(self) -> list[tuple[int, int]]:
        """(milliseconds from segment start, byte offset) of each fragment; each starts with a keyframe."""
        if not self.fragments:
            return []
        t0 = self.fragments[0].start
        return [(round((f.start - t0) * 1000 / self.timescale), f.offset) for f in self.fragments]


def _iter_boxes(data: bytes, start: int, end: int) -> Iterator[Box]:
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield Box(kind, pos, size, header)
        pos += size


def _read_top_level(f: BinaryIO, file_size: int) -> Iterator[tuple[Box, bytes | None]]:
    """Top-level boxes; the payload is read only for boxes we parse (not mdat)."""
    pos = 0
    while pos + 8 <= file_size:
        f.seek(pos)
        head = f.read(16)
        if len(head) < 8:
            return
        size, kind = struct.unpack_from(">I4s", head, 0)
        header = 8
        if size == 1:
            if len(head) < 16:
                return
            size = struct.unpack_from(">Q", head, 8)[0]
            header = 16
        elif size == 0:
            size = file_size - pos
        if size < header or (not kind.isalnum() and kind != b"free"):
            return
        box = Box(kind, pos, size, header)
        if box.end > file_size:
            yield box, None  # incomplete
            return
        payload = None
        if kind in (b"moov", b"moof"):
            f.seek(pos)
            payload = f.read(size)
        yield box, payload
        pos += size


def _full_box(data: bytes, box: Box) -> tuple[int, int]:
    vf = struct.unpack_from(">I", data, box.body)[0]
    return vf >> 24, vf & 0xFFFFFF


def _parse_moov(data: bytes, box: Box, scan: SegmentScan, trex: dict[int, int]) -> None:
    for trak in _iter_boxes(data, box.body, box.end):
        if trak.type == b"mvex":
            for t in _iter_boxes(data, trak.body, trak.end):
                if t.type == b"trex":
                    track_id, _, default_duration = struct.unpack_from(">III", data, t.body + 4)
                    trex[track_id] = default_duration
        if trak.type != b"trak":
            continue
        track_id = 0
        handler = b""
        timescale = 0
        for child in _iter_boxes(data, trak.body, trak.end):
            if child.type == b"tkhd":
                version, _ = _full_box(data, child)
                track_id = struct.unpack_from(">I", data, child.body + (20 if version == 1 else 12))[0]
            elif child.type == b"mdia":
                for m in _iter_boxes(data, child.body, child.end):
                    if m.type == b"hdlr":
                        handler = data[m.body + 8 : m.body + 12]
                    elif m.type == b"mdhd":
                        version, _ = _full_box(data, m)
                        timescale = struct.unpack_from(">I", data, m.body + (20 if version == 1 else 12))[0]
        scan.timescales[track_id] = timescale
        if handler == b"vide" and not scan.video_track:
            scan.video_track = track_id
            scan.timescale = timescale


def _parse_moof(data: bytes, box: Box, video_track: int, trex: dict[int, int]) -> tuple[int, int] | None:
    """(start, end) decode time of the video track in this fragment."""
    for traf in _iter_boxes(data, box.body, box.end):
        if traf.type != b"traf":
            continue
        track_id = 0
        default_duration = 0
        base_time = 0
        total = 0
        for child in _iter_boxes(data, traf.body, traf.end):
            if child.type == b"tfhd":
                _, flags = _full_box(data, child)
                track_id = struct.unpack_from(">I", data, child.body + 4)[0]
                default_duration = trex.get(track_id, 0)
                pos = child.body + 8
                if flags & 0x01:
                    pos += 8
                if flags & 0x02:
                    pos += 4
                if flags & 0x08:
                    default_duration = struct.unpack_from(">I", data, pos)[0]
            elif child.type == b"tfdt":
                version, _ = _full_box(data, child)
                fmt = ">Q" if version == 1 else ">I"
                base_time = struct.unpack_from(fmt, data, child.body + 4)[0]
            elif child.type == b"trun":
                _, flags = _full_box(data, child)
                count = struct.unpack_from(">I", data, child.body + 4)[0]
                pos = child.body + 8
                if flags & 0x01:
                    pos += 4
                if flags & 0x04:
                    pos += 4
                per_sample = sum(4 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
                if flags & 0x100:
                    for i in range(count):
                        total += struct.unpack_from(">I", data, pos + i * per_sample)[0]
                else:
                    total += default_duration * count
        if track_id == video_track:
            return base_time, base_time + total
    return None


def scan_segment(path: Path) -> SegmentScan:
    """Walk the file's boxes; find the whole fragments and the good length."""
    try:
        f = path.open("rb")
    except OSError as err:
        raise SegmentError(f"{path}: cannot open segment: {err.strerror}") from None
    with f:
        return scan_file(f, os.fstat(f.fileno()).st_size)


def scan_file(f: BinaryIO, file_size: int) -> SegmentScan:
    """`scan_segment` of an open file (a local one, or an object in the bucket read by ranges)."""
    scan = SegmentScan(file_size=file_size, valid_end=0)
    trex: dict[int, int] = {}
    pending: tuple[Box, tuple[int, int] | None] | None = None  # a moof waiting for its mdat
    for box, payload in _read_top_level(f, file_size):
        if payload is None and box.type in (b"moov", b"moof"):
            break  # incomplete header box: the good part ends before it
        if box.type == b"moov":
            assert payload is not None
            _parse_moov(payload, Box(box.type, 0, box.size, box.header), scan, trex)
            scan.valid_end = box.end
            scan.init_size = box.end
        elif box.type == b"moof":
            assert payload is not None
            times = _parse_moof(payload, Box(box.type, 0, box.size, box.header), scan.video_track, trex)
            pending = (box, times)
        elif box.type == b"mdat":
            if payload is None and box.end > file_size:
                break
            if pending is not None:
                moof, times = pending
                if times is not None:
                    scan.fragments.append(Fragment(moof.offset, box.end - moof.offset, times[0], times[1]))
                pending = None
            scan.valid_end = box.end
        elif box.end <= file_size:
            if pending is None:
                scan.valid_end = box.end
        else:
            break
    return scan


def repair(path: Path) -> SegmentScan:
    """Cut a segment back to its last whole fragment; return the scan of the result."""
    scan = scan_segment(path)
    if scan.truncated:
        with path.open("r+b") as f:
            f.truncate(scan.valid_end)
            f.flush()
            os.fsync(f.fileno())
        scan.file_size = scan.valid_end
    return scan


def patch_moof(moof: bytes, shifts: dict[int, int], sequence: int | None = None) -> bytes:
    """A copy of a moof whose tfdt (decode time) of each track is moved by `shifts[track]`.

    Segments restart their clock at 0; shifting each fragment by its segment's offset on a common
    timeline lets fragments of many files play as one stream, with no bytes copied but the moof.
    """
    out = bytearray(moof)
    for traf in _iter_boxes(moof, 8, len(moof)):
        if traf.type == b"mfhd" and sequence is not None:
            struct.pack_into(">I", out, traf.body + 4, sequence & 0xFFFFFFFF)
        if traf.type != b"traf":
            continue
        track = 0
        for child in _iter_boxes(moof, traf.body, traf.end):
            if child.type == b"tfhd":
                track = struct.unpack_from(">I", moof, child.body + 4)[0]
            elif child.type == b"tfdt":
                version, _ = _full_box(moof, child)
                if version == 1:
                    value = struct.unpack_from(">Q", moof, child.body + 4)[0] + shifts.get(track, 0)
                    if value >= 2**64:
                        raise SegmentError("fragment decode time does not fit a version-1 tfdt")
                    struct.pack_into(">Q", out, child.body + 4, max(0, value))
                else:
                    value = struct.unpack_from(">I", moof, child.body + 4)[0] + shifts.get(track, 0)
                    if not 0 <= value < 2**32:
                        raise SegmentError("fragment decode time does not fit a version-0 tfdt")
                    struct.pack_into(">I", out, child.body + 4, value)
    return bytes(out)
