"""atheris target: RTCP compound packets (RFC 3550 §6, RFC 4585, RFC 5104, REMB, TWCC).

Feeds the bytes to ``parse_compound`` and to the allocation-free
``walk_compound`` (they must agree), touches every lazily decoded part,
marshals the packets and re-parses them; only ``rtcp.ParseError`` may come out
of the parsers.
"""

from __future__ import annotations

import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import rtcp  # noqa: E402

_OUT = array("i", [0] * 4 * 1024)
_LAZY = ("reports", "sender_info", "extension", "chunks", "lost", "pairs", "entries",
         "ssrcs", "bitrate", "packets", "arrivals", "statuses")


def TestOneInput(data: bytes) -> None:
    try:
        packets = rtcp.parse_compound(data)
    except rtcp.ParseError:
        packets = None
    try:
        walked = rtcp.walk_compound(data, _OUT)
    except rtcp.ParseError:
        walked = None
    except ValueError:  # more packets than _OUT holds: not a finding
        return
    if packets is None:
        if walked is not None:
            raise AssertionError("walk_compound accepted what parse_compound refused")
        return
    if walked != len(packets):
        raise AssertionError("walk_compound and parse_compound disagree")
    for pkt in packets:
        repr(pkt)
        for name in _LAZY:
            getattr(pkt, name, None)
    if rtcp.parse_compound(rtcp.marshal_compound(packets)) != packets:
        raise AssertionError("parse(marshal(parse(x))) != parse(x)")


def seeds() -> list[bytes]:
    from tests.vectors import load

    return [bytes.fromhex(v["hex"]) for v in load("rtcp/rtcp_packets.json")["packets"]]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
