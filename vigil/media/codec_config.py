"""The decoder configuration records an MP4 sample entry carries (pure): `avcC` for H.264 and `hvcC` for H.265
(ISO/IEC 14496-15 §5.3.3.1, §8.3.3.1), built from the stream's parameter sets, and the AAC `esds` descriptor
(ISO/IEC 14496-1 §7.2.6.5) from its AudioSpecificConfig.

Written by hand because no maintained Python library builds them from NAL units; FFmpeg does it inside its muxer,
which native ingest does without. The few SPS fields the records repeat are read with a small Exp-Golomb reader.
"""

from __future__ import annotations

import struct

from vigil.media.rtp import nal_type


class CodecConfigError(ValueError):
    """Parameter sets that cannot describe the stream (missing, truncated)."""


def unescape(nal: bytes) -> bytes:
    """The RBSP of a NAL unit: emulation prevention bytes (00 00 03) removed."""
    if b"\x00\x00\x03" not in nal:
        return nal
    out = bytearray()
    zeros = 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class Bits:
    """A big-endian bit reader with Exp-Golomb codes (H.264/H.265 §9.1)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise CodecConfigError("parameter set ends too early")
            v = (v << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise CodecConfigError("unreadable Exp-Golomb code in a parameter set")
        return (1 << zeros) - 1 + self.u(zeros)


def _sets(codec: str, nals: list[bytes], kinds: dict[int, str]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {k: [] for k in kinds.values()}
    for nal in nals:
        kind = kinds.get(nal_type(codec, nal)) if nal else None
        if kind and nal not in found[kind]:
            found[kind].append(nal)
    missing = [k for k, v in found.items() if not v]
    if missing:
        raise CodecConfigError(f"no {', '.join(missing)} among the stream's parameter sets")
    return found


def avcc(nals: list[bytes]) -> bytes:
    """AVCDecoderConfigurationRecord from the SPS and PPS among `nals`, with 4-byte NAL lengths."""
    sets = _sets("h264", nals, {7: "SPS", 8: "PPS"})
    sps = sets["SPS"][0]
    if len(sps) < 4:
        raise CodecConfigError("SPS too short")
    out = bytearray((1, sps[1], sps[2], sps[3], 0xFF, 0xE0 | len(sets["SPS"])))
    for n in sets["SPS"]:
        out += struct.pack(">H", len(n)) + n
    out.append(len(sets["PPS"]))
    for n in sets["PPS"]:
        out += struct.pack(">H", len(n)) + n
    if sps[1] in (100, 110, 122, 144):  # High profiles: chroma format and bit depths follow (§5.3.3.1.2)
        b = Bits(unescape(sps), 32)
        b.ue()  # seq_parameter_set_id
        chroma = b.ue()
        if chroma == 3:
            b.u(1)
        luma, chroma_depth = b.ue(), b.ue()
        out += bytes((0xFC | chroma, 0xF8 | luma, 0xF8 | chroma_depth, 0))
    return bytes(out)


def hvcc(nals: list[bytes]) -> bytes:
    """HEVCDecoderConfigurationRecord from the VPS, SPS and PPS among `nals`, with 4-byte NAL lengths."""
    sets = _sets("hevc", nals, {32: "VPS", 33: "SPS", 34: "PPS"})
    sps = unescape(sets["SPS"][0])
    b = Bits(sps, 16)  # after the two-byte NAL header
    b.u(4)  # sps_video_parameter_set_id
    sub_layers = b.u(3)
    nested = b.u(1)
    ptl_start = b.pos
    general = sps[ptl_start >> 3:(ptl_start >> 3) + 12]  # profile space/tier/idc, 32 compat, 48 constraint, level
    if len(general) < 12:
        raise CodecConfigError("SPS too short")
    b.pos += 96
    present = [(b.u(1), b.u(1)) for _ in range(sub_layers)]
    if sub_layers:
        b.pos += 2 * (8 - sub_layers)
    for profile, level in present:
        b.pos += (88 if profile else 0) + (8 if level else 0)
    b.ue()  # sps_seq_parameter_set_id
    chroma = b.ue()
    if chroma == 3:
        b.u(1)
    b.ue()
    b.ue()  # picture width and height
    if b.u(1):  # conformance window
        for _ in range(4):
            b.ue()
    luma, chroma_depth = b.ue(), b.ue()
    out = bytearray((1,)) + general[:1] + general[1:5] + general[5:11] + general[11:12]
    out += bytes((0xF0, 0x00, 0xFC, 0xFC | chroma, 0xF8 | luma, 0xF8 | chroma_depth, 0, 0,
                  ((sub_layers + 1) << 3) | (nested << 2) | 3, 3))
    for kind, nal_kind in (("VPS", 32), ("SPS", 33), ("PPS", 34)):
        out += bytes((0x80 | nal_kind,)) + struct.pack(">H", len(sets[kind]))
        for n in sets[kind]:
            out += struct.pack(">H", len(n)) + n
    return bytes(out)


def _descriptor(tag: int, body: bytes) -> bytes:
    n = len(body)
    return bytes((tag, 0x80 | (n >> 21) & 0x7F, 0x80 | (n >> 14) & 0x7F, 0x80 | (n >> 7) & 0x7F, n & 0x7F)) + body


def esds(track_id: int, config: bytes, bitrate: int = 0) -> bytes:
    """The body of an `esds` box (after its version and flags) for AAC with this AudioSpecificConfig."""
    # MPEG-4 audio, an audio stream; no buffer size given; bit rates (0: unknown).
    decoder = bytes((0x40, 0x15, 0, 0, 0)) + struct.pack(">II", bitrate, bitrate)
    return _descriptor(3, struct.pack(">HB", track_id, 0) + _descriptor(4, decoder + _descriptor(5, config))
                       + _descriptor(6, b"\x02"))
