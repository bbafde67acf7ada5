"""RTP parse/marshal (RFC 3550 + RFC 8285) against aiortc's ``RtpPacket``.

The workload is a video-sized packet: 1200-byte payload and two one-byte
header extensions (transport-wide CC sequence number and abs-send-time), the
shape a relay sees most.
"""

from __future__ import annotations

import os
import struct
from array import array

from rtcengine._bench import Case
from rtcengine._core import rtp

PAYLOAD_SIZE = 1200
BATCH = 64
# Extension ids as a browser typically negotiates them (a=extmap).
ABS_SEND_TIME_ID = 3
TRANSPORT_CC_ID = 5
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


def sample_packet(seq: int = 27023, payload: bytes | None = None) -> rtp.RtpPacket:
    """A 1200-byte-payload VP8-like packet with two one-byte extensions."""
    return rtp.RtpPacket(
        payload_type=96,
        marker=True,
        sequence_number=seq,
        timestamp=3653407706,
        ssrc=0x1C642782,
        payload=payload if payload is not None else os.urandom(PAYLOAD_SIZE),
        extensions=[
            (ABS_SEND_TIME_ID, struct.pack("!I", 123456)[1:]),
            (TRANSPORT_CC_ID, struct.pack("!H", seq)),
        ],
    )


def batch_buffer(count: int = BATCH) -> tuple[bytes, array[int], array[int]]:
    """``count`` sample packets back to back, with their offsets and lengths."""
    chunks = [sample_packet(seq=i).marshal() for i in range(count)]
    offsets, lengths = array("q"), array("q")
    pos = 0
    for chunk in chunks:
        offsets.append(pos)
        lengths.append(len(chunk))
        pos += len(chunk)
    return b"".join(chunks), offsets, lengths


def cases() -> list[Case]:
    packet = sample_packet()
    data = packet.marshal()
    parse = rtp.RtpPacket.parse
    reused = rtp.RtpPacket()
    parse_into = reused.parse_into
    out_buf = bytearray(packet.marshal_size())
    marshal_into = packet.marshal_into

    buf, offsets, lengths = batch_buffer()
    table = memoryview(array("q", bytes(8 * BATCH * rtp.PARSE_COLUMNS))).cast("B").cast(
        "q", (BATCH, rtp.PARSE_COLUMNS)
    )
    parse_headers = rtp.parse_headers

    out = [
        Case(
            name="RTP parse (1200 B, 2 ext)",
            ours=lambda: parse(data),
            bytes_per_op=len(data),
            target_ratio=15,
        ),
        Case(
            name="RTP parse_into reused object",
            ours=lambda: parse_into(data),
            bytes_per_op=len(data),
        ),
        Case(
            name="RTP marshal (1200 B, 2 ext)",
            ours=lambda: marshal_into(out_buf),
            bytes_per_op=len(data),
        ),
        Case(
            name=f"RTP batch parse_headers ({BATCH} packets)",
            ours=lambda: parse_headers(buf, offsets, lengths, table),
            ops_per_call=BATCH,
            bytes_per_op=len(data),
            note="C-level, no Python call per packet",
        ),
    ]
    try:
        from aiortc.rtcrtpparameters import (
            RTCRtpHeaderExtensionParameters,
            RTCRtpParameters,
        )
        from aiortc.rtp import HeaderExtensionsMap
        from aiortc.rtp import RtpPacket as AiortcRtpPacket
    except ImportError:
        return out

    aparse = AiortcRtpPacket.parse
    for case in out[:2]:
        case.baseline = lambda: aparse(data)
        case.baseline_name = "aiortc RtpPacket.parse"

    # aiortc writes extensions through a map configured from the negotiated
    # a=extmap lines; configure the same two so both write the same bytes.
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=ABS_SEND_TIME_ID, uri=ABS_SEND_TIME_URI),
                RTCRtpHeaderExtensionParameters(id=TRANSPORT_CC_ID, uri=TRANSPORT_CC_URI),
            ]
        )
    )
    apacket = AiortcRtpPacket(
        payload_type=packet.payload_type,
        marker=int(packet.marker),
        sequence_number=packet.sequence_number,
        timestamp=packet.timestamp,
        ssrc=packet.ssrc,
        payload=bytes(packet.payload),
    )
    apacket.extensions.abs_send_time = 123456
    apacket.extensions.transport_sequence_number = packet.sequence_number
    if apacket.serialize(ext_map) != data:  # pragma: no cover - a broken setup
        raise RuntimeError("aiortc and rtcengine marshal different bytes")
    out[2].baseline = lambda: apacket.serialize(ext_map)
    out[2].baseline_name = "aiortc RtpPacket.serialize"
    return out
