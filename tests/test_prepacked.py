"""The sim's prepacked clip sends the bytes `Broadcaster.publish` would, and RTSP's TCP framing moves channels."""

from __future__ import annotations

import asyncio
import os
import time

from vigil.media.rtp import RtpPacketizer, payloads
from vigil.media.rtsp_broadcast import AccessUnit, Broadcaster, Client, interleave, rechannel
from vigil.sim import prepacked


def nals(sizes: list[int]) -> list[bytes]:
    # H.264 NAL headers of a slice (type 1) then random bodies: sizes below and above the MTU (fragmented).
    return [bytes([0x41]) + os.urandom(n - 1) for n in sizes]


class Sink:
    """A client's writer that keeps what it is sent."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.transport = self

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


def test_prepacked_pictures_are_what_publish_sends() -> None:
    frames = [(nals([30, 5000]), True), (nals([900]), False), (nals([1400, 1401, 70_000]), False)]
    units = prepacked.prepack("h264", frames)
    # Sequence numbers wrap within a picture, RTP time wraps past 2**32.
    for seq, ts in [(0, 0), (65_530, 3600), (12_345, 2**32 + 7)]:
        for (au_nals, _), unit in zip(frames, units, strict=True):
            want = interleave(RtpPacketizer(seq=seq).packets(payloads("h264", au_nals), ts))
            assert prepacked.stamp(unit, seq, ts) == want


def test_a_broadcaster_fed_prepacked_sends_its_clients_the_same_stream() -> None:
    frames = [(nals([30, 5000]), True), (nals([900]), False), (nals([3000]), False)]
    units = prepacked.prepack("h264", frames)
    plain, packed = Broadcaster("h264", {}), Broadcaster("h264", {})
    packed.packetizer.seq = plain.packetizer.seq = 65_534
    sinks = []
    for b in (plain, packed):
        sink = Sink()
        client = Client(sink, channel=0, playing=True)  # type: ignore[arg-type]
        b.clients.add(client)
        sinks.append(sink)
    for i, (au_nals, key) in enumerate(frames * 2):
        plain.publish(AccessUnit(au_nals, key, i * 3600))
        prepacked.publish(packed, units[i % len(units)], i * 3600)
    assert sinks[0].data == sinks[1].data and len(sinks[0].data) > 10_000
    assert packed.packetizer.seq == plain.packetizer.seq
    # A client joining now starts at the last keyframe, with the seq and time its RTP-Info will announce.
    assert packed.start_position() == plain.start_position() != (packed.packetizer.seq, 0)


def test_rechannel_moves_every_packet() -> None:
    packets = RtpPacketizer().packets(payloads("h264", nals([30, 3000])), 90)
    framed = interleave(packets)
    moved = rechannel(framed, 2)
    assert moved == b"".join(b"$\x02" + len(p).to_bytes(2, "big") + p for p in packets)
    assert moved != framed and rechannel(moved, 0) == framed


def test_the_sim_loop_plays_one_clip_to_every_camera_at_staggered_instants() -> None:
    units = prepacked.prepack("h264", [(nals([2000]), True), (nals([500]), False)])
    streams = [Broadcaster("h264", {}) for _ in range(3)]
    starts = [b.packetizer.seq for b in streams]
    sent: list[tuple[int, float]] = []  # (camera, when) of each picture
    for k, b in enumerate(streams):
        def note(data: bytes, keyframe: bool, timestamp: int, k: int = k, b: Broadcaster = b) -> None:
            sent.append((k, time.monotonic()))
            Broadcaster.publish_interleaved(b, data, keyframe, timestamp)

        b.publish_interleaved = note  # type: ignore[method-assign]

    async def run() -> None:
        from vigil.sim.server import _play_loop

        task = asyncio.create_task(_play_loop(streams, units, 10, phases=3))
        await asyncio.sleep(0.45)
        task.cancel()

    asyncio.run(run())
    for b, start in zip(streams, starts, strict=True):
        assert (b.packetizer.seq - start) & 0xFFFF >= 2 + 1 + 2  # keyframe (2 packets), picture, keyframe
        assert b.gop and b.gop[0][0] % 9000 == 0  # RTP time steps of 1/10 s
    # Cameras 0, 1, 2 a third of a picture's interval apart, not at one instant.
    first = {k: t for k, t in reversed(sent)}
    assert 0.02 < first[1] - first[0] < 0.06 and 0.02 < first[2] - first[1] < 0.06
