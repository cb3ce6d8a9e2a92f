"""The accuracy harness's scoring on small known cases: a perfect answer scores 1.0, a shuffled or shifted one
does not, and 'ignore' truth absorbs events without counting them."""

from __future__ import annotations

import random

import pytest

from vigil.analytics.scoring import (
    Crossing,
    read_crossings,
    read_mot,
    score_crossings,
    score_detections,
    score_tracks,
)

TRUTH = [Crossing("w", 1000, "a_to_b"), Crossing("w", 5000, "b_to_a"), Crossing("w", 5200, "a_to_b"),
         Crossing("e", 9000, "b_to_a"), Crossing("w", 12000, "ignore")]


def test_crossings_perfect_late_wrong_way_and_ignored() -> None:
    perfect = [c for c in TRUTH if c.direction != "ignore"]
    s = score_crossings(TRUTH, perfect)
    assert (s.truth, s.hits, s.false, s.recall, s.precision) == (4, 4, 0, 1.0, 1.0)
    # 0.9 s late still counts; 1.7 s late does not (a miss and a false alarm); the wrong way is both too.
    s = score_crossings(TRUTH, [Crossing("w", 1900, "a_to_b"), Crossing("w", 6700, "b_to_a"),
                                Crossing("e", 9000, "a_to_b")])
    assert (s.hits, s.false) == (1, 2)
    assert s.recall == pytest.approx(0.25) and s.precision == pytest.approx(1 / 3)
    assert [m.t_ms for m in s.misses] == [5000, 5200, 9000]
    # The same crossing on another line is not this line's.
    assert score_crossings(TRUTH, [Crossing("e", 1000, "a_to_b")]).hits == 0
    # Any number of events where someone stands on the line: neither hits nor false alarms.
    s = score_crossings(TRUTH, [Crossing("w", 12300, "a_to_b"), Crossing("w", 11500, "b_to_a")])
    assert (s.hits, s.false) == (0, 0)
    # Two found for one true crossing: one hit, one false alarm.
    s = score_crossings(TRUTH, [Crossing("w", 1000, "a_to_b"), Crossing("w", 1100, "a_to_b")])
    assert (s.hits, s.false) == (1, 1)


def _scene(frames: int = 20) -> dict[int, list[tuple[int, tuple[float, float, float, float]]]]:
    """Three people walking, one 30 px tall (below the height of interest)."""
    out = {}
    for f in range(1, frames + 1):
        out[f] = [(1, (10 + 5 * f, 100, 40 + 5 * f, 180)), (2, (300 - 4 * f, 120, 330 - 4 * f, 200)),
                  (3, (500, 50 + f, 512, 80 + f))]
    return out


def test_detections_count_people_of_interest_only() -> None:
    truth = _scene()
    boxes = {f: [b for _, b in v] for f, v in truth.items()}
    s = score_detections(boxes, boxes, min_height=40)
    assert (s.truth, s.hits, s.false, s.recall, s.precision) == (40, 40, 0, 1.0, 1.0)
    # Missing the small person costs nothing; missing a big one does; a box where nobody is is false.
    found = {f: [v[0], (600.0, 100.0, 640.0, 190.0)] for f, v in boxes.items()}
    s = score_detections(boxes, found, min_height=40)
    assert s.recall == pytest.approx(0.5) and s.precision == pytest.approx(0.5)
    # A box shifted by half a person's width has IoU < 0.5: not a hit.
    shifted = {f: [(b[0] + 16, b[1], b[2] + 16, b[3]) for b in v] for f, v in boxes.items()}
    assert score_detections(boxes, shifted).hits == 0
    # A don't-care region (a crowd) forgives a box centred in it, and only there.
    crowd = {f: [(590.0, 90.0, 650.0, 200.0)] for f in boxes}
    s = score_detections(boxes, found, min_height=40, ignore=crowd)
    assert s.precision == 1.0 and s.recall == pytest.approx(0.5)
    elsewhere = {f: [(0.0, 0.0, 50.0, 50.0)] for f in boxes}
    assert score_detections(boxes, found, min_height=40, ignore=elsewhere).precision == pytest.approx(0.5)


def test_tracks_perfect_scores_one_and_shuffled_ids_do_not() -> None:
    truth = _scene()
    perfect = score_tracks(truth, truth)
    assert (perfect.mota, perfect.idf1, perfect.switches) == (1.0, 1.0, 0)
    rng = random.Random(1)
    shuffled = {f: [(rng.randrange(100), b) for _, b in v] for f, v in truth.items()}
    s = score_tracks(truth, shuffled)
    assert s.switches > 10 and s.idf1 < 0.5 and s.mota < 0.8
    # Same boxes, ids swapped between the two walkers half way: detection is perfect, identity is not.
    swapped = {f: [({1: 2, 2: 1}.get(i, i) if f > 10 else i, b) for i, b in v] for f, v in truth.items()}
    s = score_tracks(truth, swapped)
    assert s.recall == 1.0 and s.switches == 2 and s.idf1 < 1.0


def test_readers() -> None:
    assert read_mot(["# frame,id,x,y,w,h", "1,7,10,20,30,40,1,-1,-1,-1", "3,8,0,0,5,5"]) == {
        1: [(7, (10.0, 20.0, 40.0, 60.0))], 3: [(8, (0.0, 0.0, 5.0, 5.0))]}
    # MOTChallenge's consider flag 0: a don't-care region, not a target.
    rows = ["1,7,10,20,30,40,1,-1,-1,-1", "1,9,0,0,50,50,0,-1,-1,-1"]
    assert read_mot(rows) == {1: [(7, (10.0, 20.0, 40.0, 60.0))]}
    assert read_mot(rows, considered=False) == {1: [(9, (0.0, 0.0, 50.0, 50.0))]}
    rows = read_crossings(["line,frame,direction", "west,15,a_to_b", "east,20,ignore"], fps=10)
    assert rows == [Crossing("west", 1500, "a_to_b"), Crossing("east", 2000, "ignore")]
    with pytest.raises(ValueError, match="a_to_b, b_to_a or ignore"):
        read_crossings(["west,1,left"], fps=10)
