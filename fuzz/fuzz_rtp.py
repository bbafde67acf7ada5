"""atheris target: RTP packets (RFC 3550) with RFC 8285 header extensions.

Feeds the bytes to ``RtpPacket.parse`` (as bytes and as a bytearray), touches
every lazily built part (payload view, CSRCs, extension elements, lookups by
id), marshals the result and re-parses it, and runs the batch parser over the
same bytes; only ``rtp.ParseError`` may come out, and the two parsers must
agree.
"""

from __future__ import annotations

import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import rtp  # noqa: E402

_OFFSETS = array("q", [0])
_LENGTHS = array("q", [0])
_TABLE = memoryview(array("q", bytes(8 * rtp.PARSE_COLUMNS))).cast("B").cast(
    "q", (1, rtp.PARSE_COLUMNS)
)
_REUSED = rtp.RtpPacket()


def TestOneInput(data: bytes) -> None:
    _LENGTHS[0] = len(data)
    good = rtp.parse_headers(data, _OFFSETS, _LENGTHS, _TABLE)
    status = _TABLE[0, rtp.COL_STATUS]
    try:
        pkt = rtp.RtpPacket.parse(data)
    except rtp.ParseError:
        assert good == 0 and status != rtp.RTP_OK, "batch parser accepted a rejected packet"
        try:
            _REUSED.parse_into(bytearray(data))
        except rtp.ParseError:
            return
        raise AssertionError("parse_into accepted what parse rejected") from None
    assert good == 1 and status == rtp.RTP_OK, f"batch parser rejected a packet: {status}"
    assert _TABLE[0, rtp.COL_PAYLOAD_LENGTH] == pkt.payload_length
    assert pkt.header_length + pkt.payload_length + pkt.padding_size == len(data)

    payload = bytes(pkt.payload)
    assert payload == data[pkt.header_length : pkt.header_length + pkt.payload_length]
    assert len(pkt.csrc) == pkt.csrc_count
    elements = pkt.extensions
    for eid, _value in elements:
        assert pkt.get_extension(eid) is not None
    _ = pkt.extension_data, pkt.extension_profile, repr(pkt)

    out = pkt.marshal()
    assert len(out) == pkt.marshal_size() == len(data)
    assert out[: pkt.header_length] == data[: pkt.header_length]
    buf = bytearray(len(out) + 3)
    assert pkt.marshal_into(buf, 3) == len(out) and bytes(buf[3:]) == out

    _REUSED.parse_into(bytearray(out))
    assert _REUSED.extensions == elements and bytes(_REUSED.payload) == payload
    # Re-encoding the elements must give a block that parses to the same list.
    if elements:
        _REUSED.extensions = elements
        assert rtp.RtpPacket.parse(_REUSED.marshal()).extensions == elements


def seeds() -> list[bytes]:
    from tests.vectors import load

    return [bytes.fromhex(p["hex"]) for p in load("rtp/rtp_packets.json")["packets"]]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
