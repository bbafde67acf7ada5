"""atheris target: SRTP/SRTCP unprotect of arbitrary bytes (rtcengine._core.srtp).

The first input byte picks the profile (bits 0-1), RTP or RTCP (bit 2) and the
per-call or the in-place batch API (bit 3); the rest is the packet.  Sessions
have fixed keys and live across inputs (so the replay window, ROC and stream
table see long histories; ``max_streams`` is small so the limit is hit too).
Only a typed ``SrtpError`` may come out; an accepted packet must have the
length the profile implies.
"""

from __future__ import annotations

import array
import struct
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make `fuzz` and `rtcengine` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rtcengine._core import srtp

PROFILES = list(srtp.SrtpProfile)


def _keys(profile: int) -> tuple[bytes, bytes]:
    return bytes(range(srtp.key_length(profile))), bytes(range(srtp.salt_length(profile)))


SESSIONS = [srtp.SrtpSession(p, *_keys(p), replay_window=64, max_streams=8) for p in PROFILES]
SLOT = 2048
BUF = bytearray(SLOT)
OFFS = array.array("i", [0])
LENS = array.array("i", [0])
OUT_LENS = array.array("i", [0])
STATUS = array.array("B", [0])


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    session = SESSIONS[data[0] & 3]
    rtcp = bool(data[0] & 4)
    packet = data[1:]
    overhead = session.rtcp_overhead if rtcp else session.rtp_overhead
    if data[0] & 8 and len(packet) <= SLOT:
        BUF[: len(packet)] = packet
        LENS[0] = len(packet)
        fn = session.unprotect_rtcp_batch if rtcp else session.unprotect_batch
        ok = fn(BUF, OFFS, LENS, OUT_LENS, STATUS)
        status = srtp.SrtpStatus(STATUS[0])
        assert ok == (status == srtp.SrtpStatus.OK)
        assert OUT_LENS[0] == (len(packet) - overhead if ok else 0)
        return
    try:
        out = session.unprotect_rtcp(packet) if rtcp else session.unprotect(packet)
    except srtp.SrtpError as e:
        assert isinstance(e.status, srtp.SrtpStatus)
        return
    assert len(out) == len(packet) - overhead


def seeds() -> list[bytes]:
    out = []
    for i, p in enumerate(PROFILES):
        tx = srtp.SrtpSession(p, *_keys(p))
        for seq in (1, 65535, 0):
            rtp = struct.pack("!BBHII", 0x90, 96, seq, 1000, 0x1234) + b"\xbe\xde\x00\x01"
            out.append(bytes([i]) + tx.protect(rtp + b"\x10\xff\x00\x00" + bytes(30)))
        rtcp = struct.pack("!BBHI", 0x80, 200, 6, 0x1234) + bytes(20)
        out.append(bytes([i | 4]) + tx.protect_rtcp(rtcp))
        out.append(bytes([i | 12]) + tx.protect_rtcp(rtcp))
    return out


if __name__ == "__main__":
    from fuzz._harness import main

    main(TestOneInput, seeds(), sys.argv)
