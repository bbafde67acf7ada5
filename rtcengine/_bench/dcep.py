"""DCEP (RFC 8832) messages.  aiortc decodes DATA_CHANNEL_OPEN inline in
RTCSctpTransport._data_channel_receive (no standalone callable): no baseline."""

from __future__ import annotations

from rtcengine._bench import Case
from rtcengine._core import dcep


def cases() -> list[Case]:
    msg = dcep.DataChannelOpen(
        channel_type=dcep.DATA_CHANNEL_PARTIAL_RELIABLE_TIMED, priority=256,
        reliability_parameter=3000, label="telemetry", protocol="json",
    )
    data = msg.marshal()
    buf = bytearray(64)
    return [
        Case(name="DCEP OPEN parse", ours=lambda: dcep.parse_message(data),
             note="no aiortc callable"),
        Case(name="DCEP OPEN marshal_into", ours=lambda: msg.marshal_into(buf)),
    ]
