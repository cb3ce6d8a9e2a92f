"""The shipped detector on real photographs (Debian's darknet package carries them)."""

from __future__ import annotations

from pathlib import Path

import cv2

from vigil.analytics.detector import Detection, YoloV3Tiny, merge_nested

PHOTOS = Path("/usr/share/darknet/data")


def test_person_horse_and_dog_in_real_photographs() -> None:
    det = YoloV3Tiny()
    person = det.detect(cv2.imread(str(PHOTOS / "person.jpg")))
    labels = {d.label for d in person}
    assert "person" in labels and ({"horse", "dog"} & labels), labels
    p = next(d for d in person if d.label == "person")
    assert p.score > 0.5 and 0.1 < (p.box[3] - p.box[1]) <= 1.0
    dog = det.detect(cv2.imread(str(PHOTOS / "dog.jpg")))
    assert "dog" in {d.label for d in dog} and {"car", "truck", "bicycle"} & {d.label for d in dog}, dog
    # The pick-up is one vehicle: YOLO's nested "car" and "truck" boxes for it are folded into one.
    vehicles = [d for d in dog if d.label in ("car", "truck")]
    assert len(vehicles) == 1 and vehicles[0].box[2] - vehicles[0].box[0] > 0.25, vehicles
    # A picture with nothing in it finds nothing.
    assert det.detect(cv2.imread(str(PHOTOS / "person.jpg"))[:40, :40] * 0) == []


def test_nested_boxes_of_one_group_merge_but_other_groups_stay() -> None:
    big = Detection("truck", 0.6, (0.3, 0.5, 0.6, 0.75))
    part = Detection("truck", 0.8, (0.4, 0.55, 0.5, 0.7))
    rider = Detection("person", 0.9, (0.42, 0.3, 0.5, 0.7))
    other = Detection("car", 0.7, (0.7, 0.5, 0.9, 0.7))
    out = merge_nested([big, part, rider, other])
    assert sorted((d.label, d.score, d.box) for d in out) == sorted([
        ("truck", 0.8, big.box), ("person", 0.9, rider.box), ("car", 0.7, other.box)])
