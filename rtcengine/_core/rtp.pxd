# RTP (RFC 3550 §5.1) with RFC 8285 header extensions: the C layout of
# ``RtpPacket`` and the C-level entry points other modules (SRTP, the jitter
# buffer, the relay path) ``cimport``.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int16_t, int64_t
from rtcengine._core.buffer cimport InputView


# What one header parse finds (all offsets relative to the packet start).
ctypedef struct rtp_header_t:
    uint8_t version             # RFC 3550 §5.1: V, always 2 after a good parse
    uint8_t padding             # P bit
    uint8_t extension           # X bit
    uint8_t csrc_count          # CC
    uint8_t marker              # M bit
    uint8_t payload_type        # PT (7 bits)
    uint16_t sequence_number
    uint32_t timestamp
    uint32_t ssrc
    uint16_t extension_profile  # "defined by profile" (0xBEDE, 0x100X, ...)
    Py_ssize_t extension_offset   # first octet of the extension data, 0 if none
    Py_ssize_t extension_length   # octets of extension data (4 * length field)
    Py_ssize_t header_length      # 12 + 4*CC + (X ? 4 + extension_length : 0)
    Py_ssize_t payload_offset     # == header_length
    Py_ssize_t payload_length     # octets between header and padding
    Py_ssize_t padding_size       # RFC 3550 §5.1: last octet when P=1, else 0


# Status codes of ``rtp_parse_header`` (also the batch table's status column).
cpdef enum RtpStatus:
    RTP_OK = 0
    RTP_TOO_SHORT = 1               # fewer than 12 octets
    RTP_BAD_VERSION = 2             # V != 2
    RTP_CSRC_PAST_END = 3           # CC * 4 octets run past the end
    RTP_EXT_HEADER_PAST_END = 4     # X=1 but no room for profile + length
    RTP_EXT_LENGTH_PAST_END = 5     # extension length runs past the end
    RTP_EXT_ELEMENT_PAST_END = 6    # an RFC 8285 element runs past its block
    RTP_PADDING_ZERO = 7            # P=1 and the count octet is 0
    RTP_PADDING_PAST_END = 8        # count larger than what follows the header
    RTP_BAD_RANGE = 9               # batch only: offset/length outside the buffer


# Columns of the ``parse_headers`` output table (int64, one row per packet).
cpdef enum RtpColumn:
    COL_SEQUENCE_NUMBER = 0
    COL_TIMESTAMP = 1
    COL_SSRC = 2
    COL_PAYLOAD_TYPE = 3
    COL_MARKER = 4
    COL_HEADER_LENGTH = 5
    COL_PAYLOAD_OFFSET = 6      # absolute offset in the batch buffer
    COL_PAYLOAD_LENGTH = 7
    COL_STATUS = 8              # an RtpStatus: RTP_OK (0) for a good packet
    COL_PADDING_SIZE = 9
    COL_EXTENSION_OFFSET = 10   # absolute offset of the extension data, -1 if none
    PARSE_COLUMNS = 11          # the number of columns above


# Parse the header of p[0:n] into *h.  Returns RTP_OK or a status code; never
# reads outside p[0:n]; needs no GIL and raises nothing.
cdef RtpStatus rtp_parse_header(const uint8_t* p, Py_ssize_t n, rtp_header_t* h) noexcept nogil

# Walk the RFC 8285 elements of an extension block (one-byte form when
# ``profile == 0xBEDE``, two-byte form when ``profile & 0xFFF0 == 0x1000``)
# and check that each lies inside it.  Other profiles: nothing to check.
cdef RtpStatus rtp_check_extension_block(uint16_t profile, const uint8_t* p,
                                         Py_ssize_t n) noexcept nogil

# Find element ``ext_id`` in an RFC 8285 block; on success store its data
# offset/length (relative to p) and return 1, else 0.
cdef int rtp_find_extension(uint16_t profile, const uint8_t* p, Py_ssize_t n, int ext_id,
                            Py_ssize_t* off, Py_ssize_t* length) noexcept nogil


# --- Sequence numbers (RFC 3550 §A.1 uses 16-bit arithmetic modulo 2^16) ---

# RFC 1982 §3.2 serial-number comparison for SERIAL_BITS = 16: ``a < b`` when
# the forward distance from a to b is in [1, 2^15 - 1].  At exactly 2^15 apart
# the order is undefined (RFC 1982 §3.2): neither lt nor gt holds.
cdef inline bint c_seq_lt(uint16_t a, uint16_t b) noexcept nogil:
    cdef uint16_t d = <uint16_t>(b - a)
    return d != 0 and d < 0x8000

cdef inline bint c_seq_gt(uint16_t a, uint16_t b) noexcept nogil:
    return c_seq_lt(b, a)

# Signed distance from b to a with wrap: a - b folded into [-2^15, 2^15 - 1].
cdef inline int c_seq_diff(uint16_t a, uint16_t b) noexcept nogil:
    return <int16_t>(<uint16_t>(a - b))

# RFC 5761 §4: on a muxed port, an RTP/RTCP packet whose second octet's low
# 7 bits are 64..95 is RTCP (RTCP packet types 192..223 with the top bit).
cdef inline bint c_is_rtcp(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint8_t pt
    if n < 2:
        return False
    pt = p[1] & 0x7F
    return 64 <= pt <= 95


cdef class SequenceUnwrapper:
    """16-bit sequence numbers -> 64-bit extended sequence numbers."""
    cdef int64_t _highest      # extended value of the newest packet seen
    cdef bint _started
    cdef int64_t unwrap_c(self, uint16_t seq) noexcept nogil


cdef class RtpPacket:
    # Header fields (RFC 3550 §5.1).
    cdef uint8_t _version
    cdef public bint marker
    cdef uint8_t _payload_type
    cdef public uint16_t sequence_number
    cdef public uint32_t timestamp
    cdef public uint32_t ssrc
    cdef uint8_t _csrc_count
    cdef uint32_t _csrc[15]        # RFC 3550 §5.1: CC is 4 bits, at most 15
    cdef uint8_t _padding_size     # RFC 3550 §5.1: includes the count octet

    # The parsed input: kept referenced (bytes) or exported (InputView, for
    # any other exporter) so the pointers below stay valid.
    cdef object _data
    cdef InputView _view

    # Extension block (X bit, profile, data) — points into _data after a
    # parse, or into the bytes object _ext_src after a change.
    cdef bint _has_ext
    cdef uint16_t _ext_profile
    cdef object _ext_src
    cdef const uint8_t* _ext_ptr
    cdef Py_ssize_t _ext_len

    # Payload — a window of _pay_src (the parsed input or a buffer given by
    # the application), exported through _pay_view when it is not bytes.
    cdef object _pay_src
    cdef InputView _pay_view
    cdef Py_ssize_t _pay_off
    cdef const uint8_t* _pay_ptr
    cdef Py_ssize_t _pay_len
    cdef object _pay_mv            # cached memoryview for .payload

    cdef int parse_c(self, object data) except -1
    cdef void _clear(self) noexcept
    cdef void _set_block(self, bytes block, uint16_t profile, bint present) noexcept
    cdef bint _is_rfc8285(self) noexcept
    cdef list _elements(self)
    cdef Py_ssize_t _header_size(self) noexcept
    cdef Py_ssize_t size_c(self) noexcept
    # Write exactly size_c() octets to p.
    cdef Py_ssize_t write_c(self, uint8_t* p) noexcept
