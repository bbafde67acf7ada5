# STUN wire codec (RFC 8489) with the ICE (RFC 8445), TURN (RFC 8656) and
# NAT-behaviour-discovery (RFC 5780) attributes, plus TURN ChannelData framing
# (RFC 8656 §12.4).  Other _core modules (the transport demux, the ICE agent,
# the TURN client) cimport the C-level entry points declared here.

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from rtcengine._core.buffer cimport InputView, load_u16, load_u32
from rtcengine._core.hmac cimport HmacKey


cdef enum:
    # RFC 8489 §5: the fixed header is 20 bytes.
    STUN_HEADER_SIZE = 20
    # RFC 8489 §5: magic cookie in bytes 4..7.
    STUN_MAGIC_COOKIE = 0x2112A442
    # RFC 8489 §14.7: FINGERPRINT = CRC-32 ^ 0x5354554e ("STUN").
    STUN_FINGERPRINT_XOR = 0x5354554E
    # Largest attribute table kept per parsed message (more: ParseError).
    STUN_MAX_ATTRS = 64

    # Results of stun_verify / verify_batch.
    STUN_VERIFY_OK = 0               # integrity (and fingerprint when present/required) good
    STUN_VERIFY_MALFORMED = 1        # not a well-formed STUN message
    STUN_VERIFY_NO_INTEGRITY = 2     # no MESSAGE-INTEGRITY(-SHA256) matching the key
    STUN_VERIFY_BAD_INTEGRITY = 3    # HMAC mismatch
    STUN_VERIFY_BAD_FINGERPRINT = 4  # FINGERPRINT wrong, or missing when required


# One attribute of a scanned message: type, value length (before padding)
# and the offset of its value from the start of the message.
ctypedef struct StunAttr:
    uint16_t type
    uint16_t length
    uint32_t offset


# The result of stun_scan(): the header fields, the attribute table, the
# index of MESSAGE-INTEGRITY / -SHA256 / FINGERPRINT (-1 when absent) and,
# on failure, an error code with up to three numbers for the message.
ctypedef struct StunScan:
    uint16_t msg_type
    uint16_t msg_length
    int count
    int mi
    int mi256
    int fp
    int ignored          # attributes after MESSAGE-INTEGRITY dropped (§14.5)
    int err
    long err_a
    long err_b
    long err_c
    StunAttr attrs[STUN_MAX_ATTRS]


# RFC 7983 §7 + RFC 8489 §5: cheap "is this a STUN message?" for the demux:
# first byte 0..3 (top two bits zero), magic cookie, length a multiple of 4
# and exactly covering the datagram.
cdef inline bint stun_is_stun(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n < STUN_HEADER_SIZE or p[0] > 3:
        return False
    if load_u32(p + 4) != STUN_MAGIC_COOKIE:
        return False
    cdef uint16_t length = load_u16(p + 2)
    return (length & 3) == 0 and <Py_ssize_t>length + STUN_HEADER_SIZE == n


# RFC 8656 §12.4 + RFC 7983: ChannelData starts with a channel number in
# 0x4000..0x4FFF (first byte 64..79) and its length fits the datagram.
cdef inline bint stun_is_channel_data(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n < 4 or p[0] < 0x40 or p[0] > 0x4F:
        return False
    return <Py_ssize_t>load_u16(p + 2) + 4 <= n


# Structural parse of p[0:n] into s (no allocation, no Python).  Returns 0, or
# -1 with s.err set (the Python layer turns it into stun.ParseError).
cdef int stun_scan(const uint8_t* p, Py_ssize_t n, StunScan* s) noexcept nogil
# 1 when the MESSAGE-INTEGRITY (key.algorithm == "sha1") or
# MESSAGE-INTEGRITY-SHA256 ("sha256") of a scanned message verifies, 0 when
# it does not or is absent, -1 on an OpenSSL failure.
cdef int stun_check_integrity(const uint8_t* p, const StunScan* s, HmacKey key) noexcept nogil
# 1 when FINGERPRINT is present and right, else 0.
cdef int stun_check_fingerprint(const uint8_t* p, const StunScan* s) noexcept nogil
# Scan + integrity + fingerprint in one call; returns a STUN_VERIFY_* code.
# ``scratch`` is caller-provided so nothing is allocated.
cdef int stun_verify(const uint8_t* p, Py_ssize_t n, HmacKey key,
                     bint require_fingerprint, StunScan* scratch) noexcept nogil


cdef class Message:
    cdef public int message_method
    cdef public int message_class
    cdef uint8_t tid[12]
    # Parsed state: a held view of the received bytes and its attribute table.
    cdef InputView _view
    cdef object _source
    cdef StunScan _scan
    cdef bint _parsed
    # Decoded / built attributes: a list of (type, value); None while lazy.
    cdef list _attrs

    cdef int parse_c(self, object data) except -1
    # Index of the first attribute of type t in the scan table, or -1.
    cdef int find_c(self, uint16_t t) noexcept
    # Pointer to the value of attribute i of the scan table (length in *n):
    # raw bytes as received, valid until the next parse.  NULL if i is out of range.
    cdef const uint8_t* value_c(self, int i, Py_ssize_t* n) noexcept
    # Checks over the bytes as received (0/1; 0 when not a parsed message).
    cdef int check_integrity_c(self, HmacKey key) noexcept
    cdef int check_fingerprint_c(self) noexcept
    cdef object _decode_at(self, int i)
    cdef list _materialize(self)
    cdef Py_ssize_t _body_size(self, bint skip_auth) except -1
    cdef Py_ssize_t _write(self, uint8_t* out, Py_ssize_t size, HmacKey key,
                           bint fingerprint) except -1
    cdef Py_ssize_t _size(self, HmacKey key, bint fingerprint) except -1
    cdef HmacKey _key_arg(self, object integrity_key, object integrity_algorithm)
    cdef HmacKey _verify_key(self, object key, object algorithm)
