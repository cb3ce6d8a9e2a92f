"""RTCP sender reports (RFC 3550 6.4.1): which instant of the camera's own wall clock an RTP time stands for
(pure).

A camera sends one every few seconds on the track's RTCP channel (over TCP, the odd interleaved channel after
the track's; over UDP, the port after the RTP port). Native ingest dates pictures by it when the camera keeps
time with this machine (media/clock.py), and shows how far the camera's clock is off when it does not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vigil.media.depacketize import Buffer

SENDER_REPORT = 200  # RTCP packet type
NTP_UNIX_S = 2_208_988_800  # seconds from 1900 (NTP's epoch) to 1970


@dataclass(frozen=True)
class SenderReport:
    ssrc: int
    wall_ms: int  # the camera's wall clock (Unix ms) at RTP time `rtp`
    rtp: int


def ntp_to_unix_ms(seconds: int, fraction: int) -> int:
    # NTP seconds wrap in 2036: a value with its top bit clear is from the era after (RFC 4330 section 3).
    if seconds < 0x8000_0000:
        seconds += 1 << 32
    return (seconds - NTP_UNIX_S) * 1000 + ((fraction * 1000) >> 32)


def sender_reports(data: Buffer) -> list[SenderReport]:
    """The sender reports in one compound RTCP packet. Receiver reports, descriptions, BYEs are skipped, and so is
    what is not RTCP (a packet is read up to its first malformed part)."""
    out: list[SenderReport] = []
    pos, n = 0, len(data)
    while n - pos >= 4:
        if data[pos] >> 6 != 2:  # version 2
            break
        size = 4 * (((data[pos + 2] << 8) | data[pos + 3]) + 1)
        if pos + size > n:
            break
        if data[pos + 1] == SENDER_REPORT and size >= 28:
            ssrc, seconds, fraction, rtp = struct.unpack_from(">IIII", data, pos + 4)
            if seconds or fraction:  # zero: the sender has no wall clock
                out.append(SenderReport(ssrc, ntp_to_unix_ms(seconds, fraction), rtp))
        pos += size
    return out
