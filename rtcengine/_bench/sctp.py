"""SCTP packet and chunk codec against aiortc.rtcsctptransport on the same bytes."""

from __future__ import annotations

import array
import os

from rtcengine._bench import Case
from rtcengine._core import sctp


def _data_packet(payload: bytes) -> bytes:
    pkt = sctp.Packet(5000, 5000, 0x1234ABCD, [
        sctp.DataChunk(flags=3, tsn=1000, stream_id=1, stream_seq=7, protocol=53,
                       user_data=payload)
    ])
    return pkt.marshal()


def cases() -> list[Case]:
    payload = os.urandom(1200)
    packet = _data_packet(payload)
    chunk = sctp.DataChunk(flags=3, tsn=1000, stream_id=1, stream_seq=7, protocol=53,
                           user_data=payload)
    chunk_bytes = chunk.marshal()
    bundle = sctp.Packet(5000, 5000, 1, [
        sctp.DataChunk(flags=3, tsn=i, stream_id=1, stream_seq=i, protocol=51,
                       user_data=os.urandom(100))
        for i in range(8)
    ]).marshal()
    out = array.array("i", bytes(4 * 4 * 64))
    writer = sctp.PacketWriter(mtu=1200)
    msg = os.urandom(100)
    reused = sctp.Packet()

    parse = sctp.Packet.parse

    def parse_packet() -> object:
        return parse(packet)

    def parse_into() -> None:
        reused.parse_into(packet)

    def walk() -> int:
        return sctp.walk_chunks(bundle, out)

    def build() -> int:
        w = writer
        w.begin(5000, 5000, 0x1234ABCD)
        for i in range(8):
            w.add_data(i, 1, i, 51, msg)
        w.add_sack(99, 1 << 20, ((2, 3),), ())
        return w.finish()

    result = [
        Case(
            name="SCTP packet parse + CRC-32c (1 DATA, 1200 B)",
            ours=parse_packet,
            bytes_per_op=len(packet),
            target_ratio=10,
            note="chunk objects built on access",
        ),
        Case(
            name="SCTP packet re-parse into a reused Packet + CRC-32c (1200 B)",
            ours=parse_into,
            bytes_per_op=len(packet),
        ),
        Case(
            name="SCTP packet parse + CRC-32c + build chunk objects (1200 B)",
            ours=lambda: sctp.Packet.parse(packet).chunks,
            bytes_per_op=len(packet),
        ),
        Case(
            name="SCTP DATA chunk parse",
            ours=lambda: sctp.DataChunk.parse(chunk_bytes),
        ),
        Case(
            name="SCTP DATA chunk marshal",
            ours=chunk.marshal,
        ),
        Case(
            name="SCTP walk_chunks (bundle of 8 DATA)",
            ours=walk,
            ops_per_call=8,
            note="C-level, no object per chunk; chunks/s",
        ),
        Case(
            name="SCTP PacketWriter build (8 DATA + SACK + CRC)",
            ours=build,
            note="packets/s",
        ),
    ]
    try:
        from aiortc import rtcsctptransport as a
    except ImportError:
        return result
    achunk = a.DataChunk(flags=3, body=chunk_bytes[4:])
    abody = chunk_bytes[4:]
    aparse = a.parse_packet
    result[0].baseline = lambda: aparse(packet)
    result[0].baseline_name = "aiortc parse_packet"
    result[2].baseline = lambda: a.parse_packet(packet)
    result[2].baseline_name = "aiortc parse_packet"
    result[3].baseline = lambda: a.DataChunk(3, abody)
    result[3].baseline_name = "aiortc DataChunk(flags, body)"
    result[4].baseline = achunk.__bytes__
    result[4].baseline_name = "aiortc bytes(DataChunk)"
    return result
