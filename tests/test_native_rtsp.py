"""Vigil's own RTSP client and RTP depacketizers: access units rebuilt exactly from real encoder output (libx264,
libx265) in every packetization a camera uses, losses that cost only the damaged frame, session descriptions as
cameras write them — and, against real servers (Vigil's sim, FFmpeg's own RTSP server), the same NAL units and
timestamps as the FFmpeg path delivers."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import av
import numpy as np
import pytest

from tests.helpers import Sim, free_port, wait_for
from vigil.media.depacketize import (
    AacDepacketizer,
    AccessUnit,
    Reorder,
    RtpError,
    RtpPacket,
    VideoDepacketizer,
    parse_rtp,
)
from vigil.media.rtp import RtpPacketizer, payloads, split_annexb
from vigil.media.rtsp_client import BlockingReader, RtspClient, RtspError, Track
from vigil.media.sdp import Media, join_control, parameter_nals, parse_sdp


def encoded(codec: str, frames: int = 24, size: tuple[int, int] = (320, 240),
            keys: list[bool] | None = None) -> list[list[bytes]]:
    """Access units (NAL lists) of a short moving picture, as libx264 / libx265 write them (Annex B); `keys`
    gets the encoder's keyframe flag of each."""
    ctx = av.CodecContext.create("libx264" if codec == "h264" else "libx265", "w")
    ctx.width, ctx.height, ctx.pix_fmt = size[0], size[1], "yuv420p"
    ctx.time_base = fractions.Fraction(1, 25)
    ctx.options = {"g": "12"} if codec == "h264" else {"x265-params": "keyint=12:log-level=error"}
    out: list[list[bytes]] = []
    rng = np.random.default_rng(1)
    for i in range(frames):
        img = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)  # noise: big NAL units, fragmented
        img[:, (i * 8) % size[0]:] //= 2
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = i
        packets = ctx.encode(frame)
        out += [split_annexb(bytes(p)) for p in packets]
        (keys if keys is not None else []).extend(p.is_keyframe for p in packets)
    packets = ctx.encode(None)
    out += [split_annexb(bytes(p)) for p in packets]
    (keys if keys is not None else []).extend(p.is_keyframe for p in packets)
    return out


def rtp_packets(codec: str, units: list[list[bytes]], mtu: int = 1200, seq: int = 65_500,
                ts0: int = 2**32 - 9000) -> list[bytes]:
    """What a camera sends: each unit's NALs in single-NAL packets and fragmentation units, 3600 ticks apart
    (25 fps at 90 kHz), sequence numbers and timestamps wrapping on the way."""
    pk = RtpPacketizer(seq=seq)
    return [p for i, nals in enumerate(units) for p in pk.packets(payloads(codec, nals, mtu), ts0 + 3600 * i)]


def depacketize(codec: str, packets: list[bytes]) -> tuple[list[AccessUnit], VideoDepacketizer]:
    """Each packet through `push` (parsed first), through `push_raw` (the fast path), and as views of one buffer
    through `push_many` in runs of 7 (what native ingest does with a read): the same units and losses, or the
    test fails."""
    d, fast, many = VideoDepacketizer(codec), VideoDepacketizer(codec), VideoDepacketizer(codec)
    units = [au for p in packets for au in d.push(parse_rtp(p))]
    assert [au for p in packets for au in fast.push_raw(p)] == units
    assert (fast.lost_packets, fast.dropped_units) == (d.lost_packets, d.dropped_units)
    whole = memoryview(b"".join(packets))
    ends = list(itertools.accumulate(len(p) for p in packets))
    views = [whole[e - len(p):e] for p, e in zip(packets, ends, strict=True)]
    got = [au for i in range(0, len(views), 7) for au in many.push_many(views[i:i + 7])]
    assert got == units and all(type(n) is bytes for au in got for n in au.nals)  # no view of the read kept
    assert (many.lost_packets, many.dropped_units) == (d.lost_packets, d.dropped_units)
    return units, d


def test_headers_with_csrcs_extensions_and_padding_read_alike() -> None:
    """What the fast path does not read itself (CSRCs, a header extension, padding) goes through parse_rtp."""
    units = encoded("h264", frames=4)
    plain = rtp_packets("h264", units)
    dressed = []
    for p in plain:  # one CSRC, a one-word extension and 3 bytes of padding around the same payload
        head = bytes([0x80 | 0x20 | 0x10 | 1, p[1]]) + p[2:12] + b"\x00\x00\x00\x07" + b"\xbe\xde\x00\x01" + b"abcd"
        dressed.append(head + p[12:] + b"\x00\x00\x03")
    got, _ = depacketize("h264", dressed)
    assert [au.nals for au in got] == units


def test_push_many_skips_what_is_not_rtp() -> None:
    """A run with packets that are not RTP (too short, version 1) in it: they are skipped, nothing else changes."""
    units = encoded("h264", frames=4)
    packets = rtp_packets("h264", units)
    junk = [b"\x80\x60", b"\x40" + bytes(20)]
    mixed = [x for i, p in enumerate(packets) for x in ([p] + (junk if i % 5 == 2 else []))]
    d = VideoDepacketizer("h264")
    got = d.push_many(mixed)
    assert [au.nals for au in got] == units and d.lost_packets == 0 and d.dropped_units == 0


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_access_units_rebuilt_exactly_across_fragmentation_and_wraps(codec: str) -> None:
    keys: list[bool] = []
    units = encoded(codec, keys=keys)
    packets = rtp_packets(codec, units)
    assert len(packets) > 3 * len(units)  # most units fragmented
    got, d = depacketize(codec, packets)
    assert [au.nals for au in got] == units
    assert [au.timestamp - got[0].timestamp for au in got] == [3600 * i for i in range(len(units))]  # wrap unwrapped
    assert [au.keyframe for au in got] == keys and keys[0] and sum(keys) >= 2  # as the encoder said
    assert d.lost_packets == 0 and d.dropped_units == 0


def aggregate(codec: str, nals: list[bytes]) -> bytes:
    """STAP-A (H.264) or AP (H.265) of small NAL units, as cameras send SPS, PPS and SEI together."""
    head = bytes([0x18]) if codec == "h264" else bytes([48 << 1, 1])
    return head + b"".join(struct.pack(">H", len(n)) + n for n in nals)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_aggregation_packets_and_units_without_marker_bits(codec: str) -> None:
    units = encoded(codec, frames=6)
    first = units[0]
    params = [n for n in first if len(n) < 200]  # parameter sets and SEI
    rest = first[len(params):]
    pk = RtpPacketizer()
    packets = pk.packets([aggregate(codec, params), *payloads(codec, rest, 1200)], 1000)
    for i, nals in enumerate(units[1:], start=1):  # a camera that never sets the marker: timestamps end units
        packets += [p[:1] + bytes([p[1] & 0x7F]) + p[2:] for p in pk.packets(payloads(codec, nals, 1200), 1000 + i)]
    got, _ = depacketize(codec, packets)
    assert [au.nals for au in got] == units[:-1]  # the last one ends with the next timestamp, not yet here


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_a_lost_packet_costs_only_its_units(codec: str) -> None:
    units = encoded(codec)
    packets = rtp_packets(codec, units)
    per_unit = [len(payloads(codec, nals, 1200)) for nals in units]
    victim = 5
    at = sum(per_unit[:victim]) + per_unit[victim] // 2  # a packet inside the sixth unit
    assert per_unit[victim] >= 3
    got, d = depacketize(codec, packets[:at] + packets[at + 1:])
    assert d.lost_packets == 1 and d.dropped_units == 1
    assert [au.nals for au in got] == units[:victim] + units[victim + 1:]
    # A whole unit lost at its boundary: the units on both sides cannot be trusted.
    start = sum(per_unit[:victim])
    got, d = depacketize(codec, packets[:start] + packets[start + per_unit[victim]:])
    assert d.lost_packets == per_unit[victim]
    assert [au.nals for au in got] == units[:victim] + units[victim + 2:]


def test_bad_packets_are_refused_with_their_reason() -> None:
    with pytest.raises(RtpError, match="at least 12 bytes"):
        parse_rtp(b"\x80\x60\x00")
    with pytest.raises(RtpError, match="version 0"):
        parse_rtp(bytes(12))
    d = VideoDepacketizer("h264")
    start, end = 0x80 | 5, 0x40 | 5
    pk = RtpPacketizer()
    # A fragment whose start never came, then a good unit: the stream goes on.
    orphan = pk.packets([bytes([0x7C, end]) + b"tail"], 0)
    good = pk.packets([bytes([0x7C, start]) + b"he", bytes([0x7C, end]) + b"ad"], 3600)
    got = [au for p in orphan + good for au in d.push(parse_rtp(p))]
    assert [au.nals for au in got] == [[b"\x65head"]] and d.dropped_units == 1
    with pytest.raises(RtpError, match=r"H\.264 and H\.265"):
        VideoDepacketizer("mjpeg")


CAMERA_SDP = """v=0
o=- 1 1 IN IP4 192.168.1.64
s=Media Presentation
c=IN IP4 0.0.0.0
t=0 0
a=control:*
m=video 0 RTP/AVP 96
a=rtpmap:96 H264/90000
a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKZpkA8ARPyzUBAQFAAADA+gAAOpgBA==,\
aO48gA==
a=control:trackID=1
m=audio 0 RTP/AVP 97
a=rtpmap:97 MPEG4-GENERIC/16000/1
a=fmtp:97 streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3
a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2
m=application 0 RTP/AVP 107
a=rtpmap:107 vnd.onvif.metadata/90000
a=control:trackID=3
"""


def test_session_descriptions_as_cameras_write_them() -> None:
    media = parse_sdp(CAMERA_SDP, "rtsp://192.168.1.64:554/Streaming/Channels/101/")
    video, audio, meta = media
    assert (video.kind, video.encoding, video.clock_rate, video.codec) == ("video", "H264", 90000, "h264")
    assert video.control == "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1"
    assert audio.control == "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2"  # absolute as given
    assert (audio.codec, audio.clock_rate, audio.fmtp["config"]) == ("aac", 16000, "1408")
    assert meta.codec is None and meta.control.endswith("/trackID=3")
    sps, pps = parameter_nals(video)
    assert sps[0] & 0x1F == 7 and pps[0] & 0x1F == 8
    assert join_control("rtsp://h/s", "track1") == "rtsp://h/s/track1" == join_control("rtsp://h/s/", "track1")
    hevc = parse_sdp("m=video 0 RTP/AVP 98\na=rtpmap:98 H265/90000\n"
                     "a=fmtp:98 sprop-vps=QAEMAf//;sprop-sps=QgEB;sprop-pps=RAHA\na=control:stream=0\n", "rtsp://h/x")
    assert [n[0] >> 1 & 0x3F for n in parameter_nals(hevc[0])] == [32, 33, 34]


async def native_units(url: str, seconds: float, transport: Literal["tcp", "udp"] = "tcp",
                       lose: float = 0.0) -> tuple[list[AccessUnit], str, VideoDepacketizer]:
    """(access units, codec, the depacketizer with its loss counts) the native client reads from `url` in
    `seconds`; `lose`: the share of video packets thrown away on arrival (seeded), as a lossy network would."""
    client = RtspClient(url, transport=transport)
    tracks = await client.open()
    video = next(t for t in tracks if t.media.kind == "video")
    codec = video.media.codec or ""
    d = VideoDepacketizer(codec)
    order = Reorder()
    rng = np.random.default_rng(7)
    units: list[AccessUnit] = []

    async def read() -> None:
        if transport == "tcp" and not lose:  # in order, nothing lost: the fast path, as a recorder reads
            async for batch in client.frames():
                for track, data in batch:
                    if track is video:
                        units.extend(d.push_raw(data))
            return
        async for track, packet in client.packets():
            if track is video and not (lose and rng.random() < lose):
                for p in order.push(packet):
                    units.extend(d.push(p))

    try:
        async with asyncio.timeout(seconds):  # not wait_for: 3.11's can swallow the cancellation and hang
            await read()
    except TimeoutError:
        pass
    finally:
        await asyncio.wait_for(client.close(), 5)  # a close that hangs fails the test, not the suite
    return units, codec, d


def ffmpeg_units(url: str, seconds: float) -> list[tuple[int, list[bytes]]]:
    """(pts in ms, NAL units) of each video packet the FFmpeg path (PyAV) reads from `url` over TCP."""
    out = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as c:
        stream = c.streams.video[0]
        assert stream.time_base is not None
        end = time.monotonic() + seconds
        for packet in c.demux(stream):
            if packet.pts is not None and packet.size:
                out.append((round(packet.pts * stream.time_base * 1000), split_annexb(bytes(packet))))
            if time.monotonic() > end:
                break
    return out


def same_stream(native: list[AccessUnit], ffmpeg: list[tuple[int, list[bytes]]], at_least: int) -> int:
    """How many access units both paths read alike — the same NAL units at the same time (within 1 ms) —, from the
    first unit both read (whichever client joined later). Every native unit inside the FFmpeg path's span must be
    one of its units at that time; a unit the native client dropped on a loss (a busy machine) is merely missing.
    Asserts at least `at_least` alike."""
    i = next((k for k, au in enumerate(native) if au.nals == ffmpeg[0][1]), None)
    j = 0
    if i is None:  # the native client joined later: its first unit is somewhere in the FFmpeg path's
        i, j = 0, next((k for k, (_, nals) in enumerate(ffmpeg) if nals == native[0].nals), -1)
        assert j >= 0, "the two paths read no access unit alike"
    t0, p0 = native[i].timestamp, ffmpeg[j][0]
    theirs = {pts - p0: nals for pts, nals in ffmpeg[j:]}
    last = ffmpeg[-1][0] - p0
    n = 0
    for au in native[i:]:
        at = round((au.timestamp - t0) / 90)
        if at > last:
            break
        match = next((theirs[t] for t in (at, at - 1, at + 1) if t in theirs), None)
        assert match is not None, f"a unit at {at} ms that the FFmpeg path does not have"
        assert au.nals == match, f"the unit at {at} ms differs"
        n += 1
    assert n >= at_least, n
    return n


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Sim:
    s = Sim(tmp_path_factory.mktemp("native"), cameras=2, codecs="h264,hevc", size="640x360", sub="none",
            live="all").start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.mark.parametrize("cam", [1, 2])
def test_native_client_reads_the_sim_as_ffmpeg_does(sim: Sim, cam: int) -> None:
    """Both paths read the same camera at once; from the FFmpeg path's first access unit on, every unit must be
    the same NAL units at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(ffmpeg_units, sim.url(cam), 4.0)
        native, codec, _ = asyncio.run(native_units(sim.url(cam), 6.0))
        ffmpeg = theirs.result()
    assert codec == ("h264" if cam == 1 else "hevc")
    n = same_stream(native, ffmpeg, at_least=50)
    print(f"\nsim cam{cam} ({codec}): {n} access units alike, NAL for NAL")


def test_clear_errors_for_a_dead_or_wrong_camera(sim: Sim) -> None:
    port = free_port()
    with pytest.raises(RtspError, match="connection refused"):
        asyncio.run(native_units(f"rtsp://127.0.0.1:{port}/x", 2))
    with pytest.raises(RtspError, match=r"no such stream|404"):
        asyncio.run(native_units(f"rtsp://127.0.0.1:{sim.rtsp_port}/nope", 2))
    with pytest.raises(RtspError, match="not an rtsp:// URL"):
        RtspClient("http://127.0.0.1/x")


def test_digest_login_to_vigils_rtsp_out_and_a_wrong_password(sim: Sim, tmp_path: Path) -> None:
    """Vigil's own RTSP out (Digest, per-connection nonces) as the camera: the right password plays, a wrong one
    gets a message saying so."""
    from tests.helpers import ADMIN_PASSWORD, Server, running

    srv = Server(tmp_path, [{"id": "door", "url": sim.url(1)}])
    with running(srv):
        wait_for(lambda: srv.get("/api/cameras/door")["state"] == "online", 30, what="camera online")
        url = f"rtsp://admin:{ADMIN_PASSWORD}@127.0.0.1:{srv.rtsp_port}/door"
        units, codec, _ = asyncio.run(native_units(url, 3.0))
        assert codec == "h264" and len(units) >= 25 and any(au.keyframe for au in units)
        with pytest.raises(RtspError, match="refused the user name or password"):
            asyncio.run(native_units(f"rtsp://admin:wrong-password@127.0.0.1:{srv.rtsp_port}/door", 3.0))
        with pytest.raises(RtspError, match="wants a login"):
            asyncio.run(native_units(f"rtsp://127.0.0.1:{srv.rtsp_port}/door", 3.0))


def write_clip(path: Path, encoder: str, seconds: int = 8) -> None:
    """An MP4 of a moving picture encoded by PyAV's libx264 / libx265 (ultrafast, a keyframe every 2 s)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(encoder, rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "50"} if encoder == "libx264" else {
            "preset": "ultrafast", "x265-params": "keyint=50:log-level=error"}
        ramp = np.tile(np.arange(640, dtype=np.uint8), (360, 1))
        for i in range(25 * seconds):
            img = np.dstack([np.roll(ramp, 7 * i, axis=1), np.roll(ramp.T[:360, :360], i, axis=0).repeat(2, 1)[:, :640],
                             np.full((360, 640), (5 * i) % 256, np.uint8)])
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def gst_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Debian's GStreamer RTSP server (`make test` installs it) on a free port, streaming two clips that FFmpeg
    encoded (libx264, libx265) to each client from their start."""
    tmp = tmp_path_factory.mktemp("gst")
    clips = []
    for codec, encoder in (("h264", "libx264"), ("h265", "libx265")):
        clip = tmp / f"{codec}.mp4"
        write_clip(clip, encoder)
        clips.append(f"{codec}={clip}")
    port = free_port()
    proc = subprocess.Popen(["/usr/bin/python3", str(Path(__file__).with_name("gst_rtsp_server.py")), str(port),
                             *clips], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "the GStreamer server did not start"
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.mark.parametrize("path,transport", [("h264", "tcp"), ("h265", "tcp"), ("h264", "udp"), ("h265", "udp")])
def test_native_client_reads_gstreamers_rtsp_server_as_ffmpeg_does(gst_server: int, path: str,
                                                                    transport: Literal["tcp", "udp"]) -> None:
    """Two sessions at once, each streamed the clip from its start: every access unit alike, from the first."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"rtsp://127.0.0.1:{gst_server}/{path}"
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(ffmpeg_units, url, 5.0)
        native, codec, d = asyncio.run(native_units(url, 5.5, transport))
        ffmpeg = theirs.result()
    assert codec == ("h264" if path == "h264" else "hevc")
    assert native[0].keyframe  # the clip's first picture: nothing lost at the start
    n = same_stream(native, ffmpeg, at_least=80)
    assert d.lost_packets == 0
    print(f"\nGStreamer {path} over {transport}: {n} access units alike, NAL for NAL")


def test_lost_packets_cost_only_their_pictures(gst_server: int) -> None:
    """1 % of the video packets thrown away on arrival over UDP: the stream goes on, each lost packet costs at most
    the two pictures beside it, and every picture passed on is the FFmpeg path's, byte for byte."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"rtsp://127.0.0.1:{gst_server}/h264"
    with ThreadPoolExecutor(1) as pool:
        theirs = pool.submit(ffmpeg_units, url, 5.0)
        native, _, d = asyncio.run(native_units(url, 5.5, "udp", lose=0.01))
        ffmpeg = theirs.result()
    assert d.lost_packets >= 2, "the seeded losses did not happen: the test proves nothing"
    where = {tuple(nals): i for i, (_, nals) in enumerate(ffmpeg)}
    assert all(tuple(au.nals) in where for au in native)  # nothing half passed on: each is one of FFmpeg's, whole
    seen = [where[tuple(au.nals)] for au in native]
    assert seen == sorted(seen)  # in order
    missing = seen[-1] - seen[0] + 1 - len(native)  # pictures the losses cost over the span both read
    assert missing <= 2 * d.lost_packets and d.dropped_units <= 2 * d.lost_packets
    print(f"\n{d.lost_packets} packets lost: {missing} of {seen[-1] - seen[0] + 1} pictures missing, the rest whole")


def test_reorder_puts_udp_packets_back_in_sequence_and_gives_up_on_lost_ones() -> None:
    def pkt(seq: int) -> RtpPacket:
        return RtpPacket(seq & 0xFFFF, 0, False, 96, 1, b"x")

    r = Reorder(window=3)
    got = [p.sequence for s in (65534, 0, 65535, 1, 3, 4, 5, 6, 2) for p in r.push(pkt(s))]
    # 65535 and 0 swapped: put back; 2 missing: waited for while 3 more came, then given up; its late arrival dropped.
    assert got == [65534, 65535, 0, 1, 3, 4, 5, 6] and r.late == 1


def aac_packet(seq: int, ts: int, frames: list[bytes], marker: bool = True, declared: int | None = None) -> RtpPacket:
    headers = b"".join(struct.pack(">H", ((declared if declared is not None else len(f)) << 3)) for f in frames)
    return RtpPacket(seq, ts, marker, 97, 1, struct.pack(">H", 16 * len(frames)) + headers + b"".join(frames))


def test_aac_frames_from_rfc3640_packets_aggregated_fragmented_and_lost() -> None:
    d = AacDepacketizer({"sizelength": "13", "indexlength": "3", "mode": "AAC-hbr"})
    a, b, c = b"\x21" * 300, b"\x22" * 200, b"\x23" * 3000
    assert d.push(aac_packet(1, 1000, [a, b])) == [(1000, a), (2024, b)]  # two frames, 1024 ticks apart
    # A frame larger than a packet: fragments (each declaring the whole size) up to the marker.
    assert d.push(RtpPacket(2, 3048, False, 97, 1, struct.pack(">HH", 16, 3000 << 3) + c[:1400])) == []
    assert d.push(RtpPacket(3, 3048, True, 97, 1, struct.pack(">HH", 16, 3000 << 3) + c[1400:])) == [(3048, c)]
    # The first fragment of the next big frame is lost: its rest is dropped, the stream goes on.
    assert d.push(RtpPacket(5, 4072, True, 97, 1, struct.pack(">HH", 16, 3000 << 3) + c[1400:])) == []
    assert d.push(aac_packet(6, 5096, [a])) == [(5096, a)] and d.lost_packets == 1


def test_aac_from_the_sim_as_ffmpeg_reads_it(tmp_path: Path) -> None:
    """A camera with a microphone (the sim's AAC track, RFC 3640): the native client's frames are FFmpeg's."""
    from concurrent.futures import ThreadPoolExecutor

    sim = Sim(tmp_path, cameras=1, codecs="h264", size="640x360", sub="none", scenes=("crossing",),
              audio=True).start()
    try:
        def ffmpeg_audio() -> list[bytes]:
            out = []
            with av.open(sim.url(1), options={"rtsp_transport": "tcp"}, timeout=10) as c:
                end = time.monotonic() + 4
                for packet in c.demux(c.streams.audio[0]):
                    if packet.size:
                        out.append(bytes(packet))
                    if time.monotonic() > end:
                        break
            return out

        async def native_audio() -> tuple[list[bytes], str | None]:
            client = RtspClient(sim.url(1))
            tracks = await client.open()
            audio = next(t for t in tracks if t.media.kind == "audio")
            d = AacDepacketizer(audio.media.fmtp)
            frames: list[bytes] = []

            async def read() -> None:
                async for track, packet in client.packets():
                    if track is audio:
                        frames.extend(f for _, f in d.push(packet))

            try:
                async with asyncio.timeout(5):
                    await read()
            except TimeoutError:
                pass
            finally:
                await client.close()
            return frames, audio.media.codec

        with ThreadPoolExecutor(1) as pool:
            theirs = pool.submit(ffmpeg_audio)
            ours, codec = asyncio.run(native_audio())
            ffmpeg = theirs.result()
    finally:
        sim.stop()
    assert codec == "aac" and len(ffmpeg) > 50
    start = ours.index(ffmpeg[1])  # both read the same frames from the first FFmpeg kept on
    n = min(len(ours) - start, len(ffmpeg) - 1)
    assert n > 50 and ours[start:start + n] == ffmpeg[1:1 + n]


class _PlayingClient:
    """What BlockingReader needs of a playing RtspClient, over one end of a socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        self.url, self.idle, self.session_timeout = "rtsp://test/stream", 5.0, 60.0
        self.tracks = [Track(Media("video", 96, "H264", 90000, "rtsp://test/stream/video"), 0)]
        self._sock = sock

    def detach(self) -> tuple[socket.socket, bytes]:
        return self._sock, b""

    def keepalive_request(self) -> bytes:
        return b""


def _read_packets(urgent: Callable[[], bool], seconds: float, switch: Callable[[int], None] = lambda n: None
                  ) -> tuple[dict[int, float], dict[int, float]]:
    """200-byte packets 100 ms apart over TCP through a BlockingReader: when each was sent and when read."""
    import threading

    with socket.create_server(("127.0.0.1", 0)) as server:  # TCP, as a camera's: a Unix pair ignores the mark
        ours = socket.create_connection(server.getsockname())
        theirs, _ = server.accept()
    reader = BlockingReader(_PlayingClient(ours), urgent=urgent)  # type: ignore[arg-type]
    got: dict[int, float] = {}
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for _, data in reader.batch():
                got[struct.unpack(">I", data[:4])[0]] = time.monotonic()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    sent: dict[int, float] = {}
    for n in range(int(seconds * 10)):
        switch(n)
        payload = struct.pack(">I", n) + bytes(196)
        sent[n] = time.monotonic()
        theirs.sendall(b"$\x00" + struct.pack(">H", len(payload)) + payload)
        time.sleep(0.1)
    time.sleep(0.4)
    stop.set()
    thread.join(2)
    reader.close()
    theirs.close()
    return sent, got


def test_a_low_rate_camera_is_read_picture_by_picture() -> None:
    """The low-water mark follows the stream's average rate (at least 1 KiB); a camera whose pictures are smaller
    than that (a quiet 640×360 stream between keyframes) must still be read as each picture arrives, not several
    at a time: 200-byte packets 100 ms apart, each taken within a fraction of that interval."""
    sent, got = _read_packets(lambda: True, 3.0)  # 3 s: the mark is set after the first second
    late = {n: round(got[n] - sent[n], 3) for n in range(15, 30) if n in got and got[n] - sent[n] > 0.09}
    assert len(got) == 30, sorted(got)
    # Before the wait was bounded, each packet waited for the next four (0.4 s); a slow machine may be late
    # now and then, never by whole pictures.
    assert len(late) <= 2, late


def test_recording_alone_reads_a_quarter_second_at_a_time_until_someone_watches() -> None:
    """Nobody takes the pictures as they come (no analysis, viewer or RTSP out client): the reader wakes up about
    every 0.3 s and takes several pictures at once — fewer wake-ups for a recorder. A viewer comes (`urgent`):
    within one such wait each picture is read as it arrives again."""
    watching = [False]

    def switch(n: int) -> None:
        if n == 30:
            watching[0] = True

    sent, got = _read_packets(lambda: watching[0], 5.0, switch)
    assert len(got) == 50, sorted(got)
    relaxed = [got[n] - sent[n] for n in range(10, 28)]
    assert sum(d > 0.09 for d in relaxed) >= 9, relaxed  # most pictures waited for others
    # Within the relaxed bound (0.3 s), with slack for a slow machine now and then.
    assert sum(d > 0.45 for d in relaxed) <= 2, relaxed
    late = [round(got[n] - sent[n], 3) for n in range(35, 50) if got[n] - sent[n] > 0.09]
    assert len(late) <= 2, late
