"""CRC-32c over 1200 bytes (the SCTP checksum) against google-crc32c/zlib."""

from __future__ import annotations

import os

from rtcengine._bench import Case
from rtcengine._core import crc


def cases() -> list[Case]:
    data = os.urandom(1200)
    out = [
        Case(
            name="CRC-32c, 1200 B",
            ours=lambda: crc.crc32c(data),
            bytes_per_op=1200,
        )
    ]
    try:
        import google_crc32c  # aiortc's dependency for the SCTP checksum

        out[0].baseline = lambda: google_crc32c.value(data)
        out[0].baseline_name = "google-crc32c"
    except ImportError:
        pass
    return out
