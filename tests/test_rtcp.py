"""RTCP sender reports: parsed from real compound packets, turned into the camera's clock offset, and trusted only
when the camera keeps time with this machine (pure)."""

from __future__ import annotations

import struct

from vigil.media.clock import CameraClock
from vigil.media.native_source import sender_offset_ms
from vigil.media.rtcp import NTP_UNIX_S, SenderReport, sender_reports
from vigil.media.rtsp_client import Interleaved, Track
from vigil.media.sdp import Media


def sr(ssrc: int, unix_s: float, rtp: int) -> bytes:
    seconds = (int(unix_s) + NTP_UNIX_S) & 0xFFFF_FFFF
    fraction = int((unix_s % 1) * (1 << 32))
    body = struct.pack(">IIIIII", ssrc, seconds, fraction, rtp, 10, 12_000)
    return bytes([0x80, 200]) + (len(body) // 4).to_bytes(2, "big") + body


def sdes(ssrc: int) -> bytes:
    item = b"\x01\x05camera"  # CNAME, padded to a word
    chunk = ssrc.to_bytes(4, "big") + item + b"\x00" * (4 - len(item) % 4)
    return bytes([0x81, 202]) + (len(chunk) // 4).to_bytes(2, "big") + chunk


def test_sender_reports_in_compound_packets() -> None:
    packet = sr(0x1234, 1_796_000_000.25, 3_000_000_000) + sdes(0x1234)
    assert sender_reports(packet) == [SenderReport(0x1234, 1_796_000_000_250, 3_000_000_000)]
    # A receiver report first (type 201, no report blocks), then the sender report: both read in turn.
    rr = bytes([0x80, 201, 0, 1]) + (7).to_bytes(4, "big")
    assert [r.ssrc for r in sender_reports(rr + sr(9, 1_796_000_000, 5))] == [9]
    # Not RTCP, cut short, or a sender without a wall clock: nothing.
    assert sender_reports(b"\x00" * 40) == []
    assert sender_reports(packet[:20]) == []
    assert sender_reports(bytes([0x80, 200, 0, 6]) + bytes(24)) == []
    # NTP's seconds wrap in 2036: after it, the era continues.
    later = sender_reports(sr(1, 2_100_000_000.5, 0))
    assert later[0].wall_ms == 2_100_000_000_500


def test_the_offset_from_a_report_and_a_picture() -> None:
    # The picture at RTP 1000 is pts 90 000 (1 s after the first); the report says RTP 1000 + 9000 (0.1 s
    # later) was 12:00:00.100 by the camera's clock: the picture was captured at 12:00:00.000.
    report = SenderReport(1, 43_200_100, 10_000)
    offset = sender_offset_ms(report, 1000, 90_000)
    assert offset is not None and 1000 + offset == 43_200_000
    # RTP time wrapped between the picture and the report, either way round.
    assert sender_offset_ms(SenderReport(1, 5_000, 100), 0xFFFF_FFFF - 899, 0) == 5_000 - 11
    # (89 000 ticks is 988.9 ms, truncated as the recorder truncates a pts)
    assert sender_offset_ms(SenderReport(1, 5_000, 0xFFFF_FFFF - 899), 100, 90_000) == 5_000 - 988
    assert sender_offset_ms(None, 0, 0) is None


def test_the_cameras_clock_dates_pictures_only_when_it_keeps_time() -> None:
    clock = CameraClock()
    # Pictures arrive 80 ms after their capture; the camera's clock is right: it dates them.
    assert clock.track(0, arrival_ms=10_080, sender_offset=10_000) == 10_000
    assert clock.skew_ms == -80
    # The camera's clock runs 30 s behind: the arrival dates them, and the skew says how far it is off.
    clock.reset()
    assert clock.track(0, arrival_ms=10_080, sender_offset=-20_000) == 10_080
    assert clock.skew_ms == -30_080
    # A little ahead of the arrival (a sender that stamps the sending, not the capture): in step.
    clock.reset()
    assert clock.track(0, arrival_ms=10_080, sender_offset=10_200) == 10_200
    # Far ahead of the arrival (captured long after it came): wrong too.
    clock.reset()
    assert clock.track(0, arrival_ms=10_080, sender_offset=11_000) == 10_080 and clock.skew_ms == 920
    # No reports: the arrival, and no skew to show.
    clock.reset()
    assert clock.track(40, arrival_ms=10_120) == 10_120 and clock.skew_ms is None


def test_interleaved_rtcp_notes_the_report_on_its_track() -> None:
    track = Track(Media("video", 96, "H264", 90000, "rtsp://camera/stream/trackID=0"), 0)

    class Client:
        url = "rtsp://camera/stream"
        tracks = (track,)

    cut = Interleaved(Client())  # type: ignore[arg-type]
    rtp = bytes([0x80, 96, 0, 1]) + bytes(8) + b"\x65payload"
    report = sr(7, 1_796_000_000, 1234)
    for ch, data in ((0, rtp), (1, report), (0, rtp)):
        cut.buf += b"$" + bytes([ch]) + len(data).to_bytes(2, "big") + data
    batch, _ = cut.take()
    assert [bytes(d) for _, d in batch] == [rtp, rtp]
    assert track.sender_report == SenderReport(7, 1_796_000_000_000, 1234)
