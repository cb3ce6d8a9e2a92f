"""The shipped detector on real photographs (Debian's darknet package carries them)."""

from __future__ import annotations

from pathlib import Path

import cv2

from vigil.analytics.detector import YoloV3Tiny

PHOTOS = Path("/usr/share/darknet/data")


def test_person_horse_and_dog_in_real_photographs() -> None:
    det = YoloV3Tiny()
    person = det.detect(cv2.imread(str(PHOTOS / "person.jpg")))
    labels = {d.label for d in person}
    assert "person" in labels and ({"horse", "dog"} & labels), labels
    p = next(d for d in person if d.label == "person")
    assert p.score > 0.5 and 0.1 < (p.box[3] - p.box[1]) <= 1.0
    dog = det.detect(cv2.imread(str(PHOTOS / "dog.jpg")))
    assert {"dog", "bicycle"} <= {d.label for d in dog} or {"dog", "truck"} <= {d.label for d in dog}, dog
    # A picture with nothing in it finds nothing.
    assert det.detect(cv2.imread(str(PHOTOS / "person.jpg"))[:40, :40] * 0) == []
