"""`vigil catalog check` on a damaged copy of a recording: a deleted file, a truncated segment and stray files are
each reported; `--repair` fixes them without losing a frame that was whole, and a second check is clean."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import av

from tests.helpers import Server, running, wait_for
from tests.test_audio_and_rebuild import make_av_file
from vigil.media.fmp4 import scan_segment


def vigil(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigil.cli", "catalog", "check", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


def rows(db: Path) -> dict[str, tuple[int, int, int]]:
    with sqlite3.connect(db) as c:
        return {p: (s, e, b) for p, s, e, b in c.execute("select path, start_ms, end_ms, bytes from segments")}


def frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_check_reports_each_damage_and_repair_fixes_it(tmp_path: Path) -> None:
    src = tmp_path / "camera.mp4"
    make_av_file(src, seconds=12)
    srv = Server(tmp_path, [{"id": "cam", "url": f"file://{src}", "record": {"segment_seconds": 2}}])
    with running(srv):
        wait_for(lambda: len([s for s in srv.get("/api/cameras/cam/recordings")["segments"]
                              if s["status"] == "closed"]) >= 4, 40, what="four closed segments")
    clean = vigil(srv.config)
    assert clean.returncode == 0 and "0 problem(s)" in clean.stdout, clean.stdout + clean.stderr

    before = rows(srv.db)
    gone, cut, other = sorted(before)[:3]
    (srv.storage / gone).unlink()
    whole = scan_segment(srv.storage / cut)
    assert len(whole.fragments) >= 2
    keep = whole.fragments[-2]  # cut inside the last fragment: everything before it stays playable
    with (srv.storage / cut).open("r+b") as f:
        f.truncate(whole.fragments[-1].offset + 100)
    # A recording the index lost (copied under a later name), and a file that is no recording at all.
    stray = Path(other).with_name(f"{int(Path(other).stem) + 86_400_000}.mp4")
    (srv.storage / stray).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(srv.storage / other, srv.storage / stray)
    (srv.storage / "cam" / "notes.txt").write_text("not video")

    found = vigil(srv.config)
    assert found.returncode == 1, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    assert any(x.startswith("missing_file") and gone in x for x in lines), found.stdout
    assert any(x.startswith("damaged") and cut in x for x in lines), found.stdout
    assert any(x.startswith("stray_file") and str(stray) in x for x in lines), found.stdout
    assert any(x.startswith("stray_file") and "notes.txt" in x for x in lines), found.stdout
    assert "4 problem(s)" in found.stdout and "--repair" in found.stdout
    assert rows(srv.db) == before, "a check alone changes nothing"

    fixed = vigil(srv.config, "--repair")
    assert fixed.returncode == 0 and "4 repaired" in fixed.stdout, fixed.stdout + fixed.stderr
    after = rows(srv.db)
    assert gone not in after
    # The cut segment: cut back to its last whole fragment, its row says so, and every whole frame still plays.
    start, end, size = after[cut]
    assert size == (srv.storage / cut).stat().st_size == keep.offset + keep.size
    assert end - start < before[cut][1] - before[cut][0]
    assert frames(srv.storage / cut) >= 25  # at least one whole second (25 fps, one fragment a second)
    assert str(stray) in after and after[str(stray)][2] == before[other][2]
    assert (srv.storage / "_lost+found" / "cam" / "notes.txt").read_text() == "not video"
    again = vigil(srv.config)
    assert again.returncode == 0 and "0 problem(s)" in again.stdout, again.stdout
