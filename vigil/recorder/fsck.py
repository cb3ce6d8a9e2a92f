"""`vigil catalog check`: the index against the disk, as Moonfire's `check` does — rows without files, files without
rows, segments whose file is cut or damaged, and one camera's segments overlapping in time — and, asked to, the
repair of each. Open segments (being written) are left alone, so a check may run beside a recording Vigil; a
repair is safest with Vigil stopped.

What a repair does, and why it never loses video:
- a row whose file is gone: the row is deleted (there is nothing left to play);
- a recording file without a row: it is repaired and indexed, as after a crash; a file that is not a recording
  (a wrong name, no video in it) is moved to `_lost+found/`, never deleted;
- a cut or damaged segment: the file is cut back to its last whole fragment and its row says what remains;
- overlapping segments are reported only: both hold video the camera sent, and playback takes them in order.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from vigil.catalog.rows import SegmentRow
from vigil.catalog.store import Catalog
from vigil.errors import SegmentError
from vigil.layout import SEGMENT_GLOB
from vigil.media.fmp4 import SegmentScan, repair, scan_segment
from vigil.recorder.recovery import index_file

LOST_AND_FOUND = "_lost+found"
OVERLAP_TOLERANCE_MS = 100  # a segment is cut at a keyframe: neighbours may share a frame's duration


@dataclass(frozen=True)
class Problem:
    kind: str  # missing_file | stray_file | damaged | size_mismatch | overlap
    path: str
    detail: str
    row: SegmentRow | None = None  # the segment's row, when it has one
    repairable: bool = True


def _scan(path: Path) -> SegmentScan | None:
    try:
        return scan_segment(path)
    except SegmentError:
        return None


def _row_problem(row: SegmentRow, storage: Path) -> Problem | None:
    path = storage / row.path
    if not path.is_file():
        return Problem("missing_file", row.path, "the index has this segment but its file is gone", row)
    scan = _scan(path)
    if scan is None or not scan.fragments:
        return Problem("damaged", row.path, "the file holds no whole fragment of video", row)
    if scan.truncated:
        return Problem("damaged", row.path, f"{scan.file_size - scan.valid_end} byte(s) after the last whole "
                       f"fragment (a cut or damaged tail)", row)
    if scan.file_size != row.bytes:
        return Problem("size_mismatch", row.path, f"the file has {scan.file_size} bytes, the index says "
                       f"{row.bytes}", row)
    return None


def _overlaps(rows: list[SegmentRow]) -> list[Problem]:
    out: list[Problem] = []
    last: dict[str, SegmentRow] = {}
    for r in sorted(rows, key=lambda r: (r.camera_id, r.start_ms)):
        prev = last.get(r.camera_id)
        if prev is not None and r.start_ms < prev.end_ms - OVERLAP_TOLERANCE_MS:
            out.append(Problem("overlap", r.path, f"starts {prev.end_ms - r.start_ms} ms before {prev.path} ends",
                               r, repairable=False))
        if prev is None or r.end_ms > prev.end_ms:
            last[r.camera_id] = r
    return out


def check(catalog: Catalog, storage: Path) -> list[Problem]:
    """Every problem between this node's segment rows and files (reads only)."""
    rows = catalog.segments(status="closed", local_only=True)
    problems = [p for p in (_row_problem(r, storage) for r in rows) if p is not None]
    known = catalog.segment_paths()
    for f in _recording_files(storage):
        rel = str(f.relative_to(storage))
        if rel not in known:
            what = ("a recording the index does not know" if f.match(SEGMENT_GLOB) and f.stem.isdigit()
                    else "a file among the recordings that is not one")
            problems.append(Problem("stray_file", rel, what))
    return problems + _overlaps(rows)


def _recording_files(storage: Path) -> list[Path]:
    """Every file in the cameras' folders (`_events`, `_faces` and the lost and found are not recordings)."""
    if not storage.is_dir():
        return []
    cams = [d for d in storage.iterdir() if d.is_dir() and not d.name.startswith("_")]
    return sorted(f for d in cams for f in d.rglob("*") if f.is_file())


def repair_problem(catalog: Catalog, storage: Path, p: Problem) -> str:
    """Repairs one problem; returns what was done (for the user)."""
    path = storage / p.path
    row = p.row
    if p.kind == "missing_file" and row is not None:
        catalog.delete_segments([row.id])
        return "row deleted"
    if p.kind == "stray_file":
        if path.match(SEGMENT_GLOB) and path.stem.isdigit() and index_file(catalog, storage, path) is not None:
            return "indexed"
        if path.exists():
            dest = storage / LOST_AND_FOUND / p.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), dest)
            return f"moved to {dest.relative_to(storage)}"
        return "removed (it held no video)"
    if p.kind in ("damaged", "size_mismatch") and row is not None:
        try:
            scan = repair(path)
        except SegmentError:
            scan = None
        if scan is None or not scan.fragments:
            catalog.delete_segments([row.id])
            dest = storage / LOST_AND_FOUND / p.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), dest)
            return f"no whole fragment: row deleted, file moved to {dest.relative_to(storage)}"
        catalog.close_segment(row.id, row.start_ms, row.start_ms + scan.duration_ms, scan.file_size,
                              scan.keyframes_ms())
        return f"cut to its last whole fragment ({scan.duration_ms / 1000:.1f} s, {scan.file_size} bytes)"
    return "left as it is (not repairable automatically)"
