"""RTP packetisation of H.264 (RFC 6184) and H.265 (RFC 7798) access units, for RTSP serving."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Iterable

H264_PARAM_TYPES = {7: "sps", 8: "pps"}
HEVC_PARAM_TYPES = {32: "vps", 33: "sps", 34: "pps"}
_START_CODE = re.compile(b"\x00\x00\x01")


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream, without start codes."""
    starts = [m.end() for m in _START_CODE.finditer(data)]
    nals = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        nal = data[start:end]
        # A 4-byte start code leaves one zero byte at the end of the previous NAL.
        nals.append(nal.rstrip(b"\x00") if i + 1 < len(starts) else nal)
    return [n for n in nals if n]


def nal_type(codec: str, nal: bytes | memoryview) -> int:
    return (nal[0] >> 1) & 0x3F if codec == "hevc" else nal[0] & 0x1F


def is_parameter_set(codec: str, nal: bytes | memoryview) -> bool:
    """VPS, SPS or PPS (H.265); SPS or PPS (H.264)."""
    return nal_type(codec, nal) in (HEVC_PARAM_TYPES if codec == "hevc" else H264_PARAM_TYPES)


def parameter_sets(codec: str, nals: Iterable[bytes]) -> dict[str, bytes]:
    kinds = HEVC_PARAM_TYPES if codec == "hevc" else H264_PARAM_TYPES
    found: dict[str, bytes] = {}
    for nal in nals:
        kind = kinds.get(nal_type(codec, nal))
        if kind and kind not in found:
            found[kind] = nal
    return found


def split_length_prefixed(data: bytes, size: int) -> list[bytes]:
    """NAL units of an access unit in ISO 14496-15 form (each prefixed by its `size`-byte length)."""
    out, pos = [], 0
    while pos + size <= len(data):
        n = int.from_bytes(data[pos:pos + size], "big")
        pos += size
        if n <= 0 or pos + n > len(data):
            break
        out.append(data[pos:pos + n])
        pos += n
    return out


def _avcc_params(extradata: bytes) -> tuple[list[bytes], int]:
    """NAL units of an avcC record (ISO 14496-15) and its NAL length size."""
    size = (extradata[4] & 3) + 1
    nals, pos = [], 6
    count = extradata[5] & 0x1F
    for _ in range(count):
        n = int.from_bytes(extradata[pos:pos + 2], "big")
        nals.append(extradata[pos + 2:pos + 2 + n])
        pos += 2 + n
    if pos < len(extradata):
        count, pos = extradata[pos], pos + 1
        for _ in range(count):
            n = int.from_bytes(extradata[pos:pos + 2], "big")
            nals.append(extradata[pos + 2:pos + 2 + n])
            pos += 2 + n
    return nals, size


def _hvcc_params(extradata: bytes) -> tuple[list[bytes], int]:
    size = (extradata[21] & 3) + 1
    nals, pos = [], 23
    for _ in range(extradata[22]):
        pos += 1
        count = int.from_bytes(extradata[pos:pos + 2], "big")
        pos += 2
        for _ in range(count):
            n = int.from_bytes(extradata[pos:pos + 2], "big")
            nals.append(extradata[pos + 2:pos + 2 + n])
            pos += 2 + n
    return nals, size


def stream_format(codec: str, extradata: bytes | None) -> tuple[dict[str, bytes], int]:
    """(parameter sets, NAL length size; 0 for an Annex B stream) of a stream's codec extradata."""
    data = extradata or b""
    if not data:
        return {}, 0
    if data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01"):
        return parameter_sets(codec, split_annexb(data)), 0
    if codec == "h264" and data[0] == 1 and len(data) > 6:
        nals, size = _avcc_params(data)
        return parameter_sets(codec, nals), size
    if codec == "hevc" and len(data) > 23:
        nals, size = _hvcc_params(data)
        return parameter_sets(codec, nals), size
    return {}, 0


def split_access_unit(data: bytes, length_size: int) -> list[bytes]:
    """NAL units of one packet: length-prefixed when the stream's extradata said so (size > 0), else Annex B."""
    return split_length_prefixed(data, length_size) if length_size else split_annexb(data)


def sdp_fmtp(codec: str, params: dict[str, bytes], payload_type: int = 96) -> str:
    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    if codec == "hevc":
        parts = [f"sprop-{k}={b64(params[k])}" for k in ("vps", "sps", "pps") if k in params]
        return f"a=fmtp:{payload_type} " + ";".join(parts)
    sps = params.get("sps", b"")
    profile = sps[1:4].hex() if len(sps) >= 4 else "42e01f"
    sets = ",".join(b64(params[k]) for k in ("sps", "pps") if k in params)
    return f"a=fmtp:{payload_type} packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={sets}"


def payloads(codec: str, nals: list[bytes], mtu: int = 1400) -> list[bytes]:
    """RTP payloads of one access unit: single-NAL packets, or fragmentation units for large NALs."""
    out: list[bytes] = []
    for nal in nals:
        if len(nal) <= mtu:
            out.append(nal)
            continue
        if codec == "hevc":
            ntype = nal_type(codec, nal)
            head = bytes([(nal[0] & 0x81) | (49 << 1), nal[1]])
            body, start = nal[2:], ntype
        else:
            head = bytes([(nal[0] & 0xE0) | 28])
            body, start = nal[1:], nal[0] & 0x1F
        chunk = mtu - len(head) - 1
        for pos in range(0, len(body), chunk):
            fu = start
            if pos == 0:
                fu |= 0x80
            if pos + chunk >= len(body):
                fu |= 0x40
            out.append(head + bytes([fu]) + body[pos : pos + chunk])
    return out


class RtpPacketizer:
    """Numbers packets of one stream; every subscriber gets the same bytes."""

    def __init__(self, payload_type: int = 96, ssrc: int = 0x56494731, seq: int = 0) -> None:
        self.payload_type = payload_type
        self.ssrc = ssrc
        self.seq = seq & 0xFFFF

    def packets(self, chunks: list[bytes], timestamp: int) -> list[bytes]:
        out = []
        last = len(chunks) - 1
        for i, chunk in enumerate(chunks):
            marker = 0x80 if i == last else 0
            header = struct.pack(
                ">BBHII", 0x80, marker | self.payload_type, self.seq, timestamp & 0xFFFFFFFF, self.ssrc
            )
            self.seq = (self.seq + 1) & 0xFFFF
            out.append(header + chunk)
        return out
