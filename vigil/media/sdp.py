"""The parts of an SDP session description (RFC 8866) an RTSP client needs: each medium's payload type, encoding,
clock rate, control URL and format parameters, and the parameter sets H.264 (RFC 6184) and H.265 (RFC 7798)
cameras announce there."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field


class SdpError(ValueError):
    """The camera's session description cannot be used."""


@dataclass(frozen=True)
class Media:
    kind: str  # video | audio | application
    payload_type: int
    encoding: str  # upper case: H264, H265, MPEG4-GENERIC, PCMU, …
    clock_rate: int
    control: str  # absolute URL to SETUP
    channels: int = 1
    fmtp: dict[str, str] = field(default_factory=dict)

    @property
    def codec(self) -> str | None:
        """FFmpeg's name of the encoding where Vigil records it natively."""
        return {"H264": "h264", "H265": "hevc", "MPEG4-GENERIC": "aac"}.get(self.encoding)


def join_control(base: str, control: str) -> str:
    """A control attribute made absolute (RFC 2326 C.1.1): a URL as it is, `*` the base itself, anything else
    appended to the base — as cameras mean it, whether or not the base ends in a slash."""
    if "://" in control:
        return control
    if control in ("", "*"):
        return base
    return base.rstrip("/") + "/" + control.lstrip("/")


def parse_sdp(text: str, base: str) -> list[Media]:
    """The media of a session description; `base` is Content-Base (else Content-Location, else the request URL)."""
    session_control = ""
    sections: list[list[str]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        elif line.startswith("a=control:"):
            session_control = line[len("a=control:"):].strip()
    if session_control:
        base = join_control(base, session_control)
    out = []
    for lines in sections:
        out.extend(_media(lines, base))
    if not out:
        raise SdpError("the camera's session description lists no media stream")
    return out


def _media(lines: list[str], base: str) -> list[Media]:
    fields = lines[0][2:].split()
    if len(fields) < 4:
        raise SdpError(f"malformed media line {lines[0]!r}")
    kind = fields[0]
    try:
        pt = int(fields[3])
    except ValueError:
        raise SdpError(f"media line {lines[0]!r}: the payload type is not a number") from None
    encoding, rate, channels, control, fmtp = "", 0, 1, "", {}
    for line in lines[1:]:
        if line.startswith("a=rtpmap:"):
            num, _, desc = line[len("a=rtpmap:"):].partition(" ")
            if num.strip() == str(pt):
                parts = desc.strip().split("/")
                encoding = parts[0].upper()
                rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                channels = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 1
        elif line.startswith("a=fmtp:"):
            num, _, params = line[len("a=fmtp:"):].partition(" ")
            if num.strip() == str(pt):
                for item in params.split(";"):
                    key, sep, value = item.strip().partition("=")
                    if sep:
                        fmtp[key.strip().lower()] = value.strip()
        elif line.startswith("a=control:"):
            control = line[len("a=control:"):].strip()
    if not encoding:  # static payload types (RFC 3551) need no rtpmap
        encoding, rate = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 26: ("JPEG", 90000)}.get(pt, ("", 0))
    return [Media(kind, pt, encoding, rate, join_control(base, control), channels, fmtp)]


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise SdpError(f"parameter set {value!r} is not base64") from None


def parameter_nals(media: Media) -> list[bytes]:
    """The H.264 SPS/PPS (sprop-parameter-sets) or H.265 VPS/SPS/PPS (sprop-vps/-sps/-pps) the SDP carries."""
    if media.encoding == "H264":
        sets = media.fmtp.get("sprop-parameter-sets", "")
        return [n for n in (_b64(s) for s in sets.split(",") if s) if n]
    if media.encoding == "H265":
        return [n for key in ("sprop-vps", "sprop-sps", "sprop-pps")
                for n in (_b64(s) for s in media.fmtp.get(key, "").split(",") if s) if n]
    return []
