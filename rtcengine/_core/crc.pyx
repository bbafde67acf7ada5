"""CRC-32 and CRC-32c over any bytes-like object, computed in C.

``crc32`` is the ISO-HDLC CRC used by STUN's FINGERPRINT (RFC 8489 §14.7);
``crc32c`` is the Castagnoli CRC of the SCTP common header (RFC 9260 §6.8,
Appendix B).  Both accept a running value so data can be summed in pieces.
"""

from libc.stdint cimport uint8_t, uint32_t
from rtcengine._core.buffer cimport InputView

rtce_crc_init()


def crc32(data, unsigned int value=0) -> int:
    """CRC-32 (IEEE 802.3) of ``data``, continuing from ``value``."""
    cdef InputView v = InputView()
    v.acquire(data)
    return rtce_crc32_update(value, v.ptr, <size_t>v.length)


def crc32c(data, unsigned int value=0) -> int:
    """CRC-32c (Castagnoli) of ``data``, continuing from ``value``."""
    cdef InputView v = InputView()
    v.acquire(data)
    return rtce_crc32c_update(value, v.ptr, <size_t>v.length)


def crc32c_software(data, unsigned int value=0) -> int:
    """CRC-32c with the table path only (to cross-check the SSE4.2 path)."""
    cdef InputView v = InputView()
    v.acquire(data)
    return rtce_crc32c_update_sw(value, v.ptr, <size_t>v.length)


def crc32c_uses_hardware() -> bool:
    """True when CRC-32c runs on the CPU's SSE4.2 crc32 instruction."""
    return rtce_crc32c_hw != 0
