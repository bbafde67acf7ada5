"""atheris target: an established SCTP association fed arbitrary packets.

The input is split into packets (2-byte length prefixes); each gets the
association's verification tag and a valid CRC-32c half of the time, so it
reaches the chunk handlers.  No input may crash the association or make its
state grow without bound.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import crc  # noqa: E402
from rtcengine._core.sctp_association import Association  # noqa: E402

_SECRET = b"k" * 32


def _connected() -> tuple[Association, Association]:
    a = Association(5000, 5000, True, initial_tsn=1000, secret=_SECRET)
    b = Association(5000, 5000, False, initial_tsn=5000, secret=_SECRET)
    a.connect(0.0)
    for _ in range(4):
        for src, dst in ((a, b), (b, a)):
            while (p := src.poll_transmit()) is not None:
                dst.handle_packet(p, 0.0)
    assert a.is_established and b.is_established
    return a, b


def _stamp(pkt: bytes, vtag: int) -> bytes:
    body = struct.pack("!HHI", 5000, 5000, vtag) + b"\0\0\0\0" + pkt
    return body[:8] + struct.pack("<I", crc.crc32c(body)) + body[12:]


def TestOneInput(data: bytes) -> None:
    _a, b = _connected()
    now = 0.0
    pos = 0
    while pos + 2 <= len(data):
        n = data[pos] | (data[pos + 1] << 8)
        flags = n >> 14
        n &= 0x3FFF
        pkt = data[pos + 2:pos + 2 + n]
        pos += 2 + n
        b.handle_packet(_stamp(pkt, b.local_tag) if flags & 1 else pkt, now)
        if flags & 2:
            now += 0.5
            b.handle_timeout(now)
        while b.poll_transmit(now) is not None:
            pass
        while b.poll_event() is not None:
            pass
    st = b.stats
    assert st["rx_span"] <= 65536
    assert st["outstanding_chunks"] <= 65536
    assert st["rx_buffered"] <= 2 * b.local_rwnd + 65536


def seeds() -> list[bytes]:
    data_chunk = bytes.fromhex("0003 0014 00001388 0000 0000 00000035 61626364".replace(" ", ""))
    sack = bytes.fromhex("03000010000003e8000100000000000000".replace(" ", ""))[:16]
    return [
        struct.pack("<H", len(data_chunk) | 0x4000) + data_chunk,
        struct.pack("<H", len(sack) | 0x4000) + sack,
    ]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
