"""The recorder's packet times in milliseconds, worked out in integers, are what exact fractions give."""

from __future__ import annotations

from fractions import Fraction

import av

from vigil.recorder.camera import CameraRecorder


def test_packet_times_in_milliseconds_equal_exact_fractions() -> None:
    for tb in (Fraction(1, 90000), Fraction(1, 1000), Fraction(1, 48000), Fraction(1001, 30000), Fraction(1, 3)):
        for pts in (0, 1, 89, 90, 91, 2**33 + 7, 123_456_789_012, -1, -89, -90, -91, -123_457):
            p = av.Packet(b"\x00")
            p.pts, p.time_base = pts, tb
            assert CameraRecorder._pts_ms(p) == int(pts * tb * 1000), (pts, tb)
