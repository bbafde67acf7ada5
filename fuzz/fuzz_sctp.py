"""atheris target: SCTP packet parse (CRC skipped so the fuzzer reaches the
chunk parsers), chunk objects, re-marshal, walk_chunks and Chunk.parse."""

from __future__ import annotations

import array
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import sctp  # noqa: E402

OUT = array.array("i", [0] * 4 * 512)


def TestOneInput(data: bytes) -> None:
    try:
        pkt = sctp.Packet.parse(data, verify_checksum=False)
    except sctp.ParseError:
        pass
    else:
        chunks = pkt.chunks
        for c in chunks:
            if isinstance(c, sctp.ReconfigChunk):
                assert len(c.requests) == len(c.params)
        again = sctp.Packet.parse(pkt.marshal())
        assert again.chunks == chunks
    try:
        n = sctp.walk_chunks(data, OUT)
    except sctp.ParseError:
        pass
    else:
        assert 0 <= n <= len(data) // 4
    sctp.verify_checksum(data)
    try:
        sctp.Chunk.parse(data)
    except sctp.ParseError:
        pass


def seeds() -> list[bytes]:
    return [
        sctp.Packet(5000, 5000, 1, [sctp.DataChunk(3, 1, 0, 0, 51, b"hello")]).marshal(),
        sctp.Packet(5000, 5000, 0, [sctp.InitChunk(0, 1, 65536, 1024, 1024, 7, [
            (0xC000, b""), (0x8008, bytes([0x82, 0xC0])), (7, b"cookie")])]).marshal(),
        sctp.Packet(1, 2, 3, [sctp.SackChunk(0, 5, 6, [(1, 2)], [3]),
                              sctp.ForwardTsnChunk(0, 9, [(1, 2)]),
                              sctp.IForwardTsnChunk(0, 9, [(1, True, 2)]),
                              sctp.IDataChunk(2, 1, 1, 1, 0, 50, b"x")]).marshal(),
        sctp.Packet(1, 2, 3, [sctp.ReconfigChunk(params=[
            sctp.OutgoingSsnResetRequest(1, 2, 3, [4]).to_param(),
            sctp.ReconfigResponse(1, 1).to_param()]),
            sctp.AbortChunk(1, [(12, b"bye")]), sctp.HeartbeatChunk(params=[(1, b"hb")]),
            sctp.CookieEchoChunk(cookie=b"c" * 9), sctp.UnknownChunk(0xFF, 0, b"u")]).marshal(),
    ]


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
