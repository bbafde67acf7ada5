# CRC-32 (STUN FINGERPRINT, RFC 8489 §14.7) and CRC-32c (SCTP, RFC 9260 App. B).
# Both take a running CRC (0 to start) and return the final value, so a
# message can be summed in pieces without copying.
from libc.stdint cimport uint8_t, uint32_t

cdef extern from "rtce_crc.h" nogil:
    void rtce_crc_init()
    uint32_t rtce_crc32_update(uint32_t crc, const uint8_t* p, size_t n)
    uint32_t rtce_crc32c_update(uint32_t crc, const uint8_t* p, size_t n)
    uint32_t rtce_crc32c_update_sw(uint32_t crc, const uint8_t* p, size_t n)
    int rtce_crc32c_hw
