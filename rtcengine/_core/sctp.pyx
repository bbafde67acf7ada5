"""SCTP packets and chunks: RFC 9260, RFC 3758, RFC 6525, RFC 7053, RFC 8260.

A :class:`Packet` is the 12-byte common header (source/destination port,
verification tag, CRC-32c checksum) followed by chunks.  ``Packet.parse``
verifies the checksum (RFC 9260 §6.8) in place, checks the framing and the
per-type structure of every chunk, and builds the chunk objects only when
``packet.chunks`` is read.  ``walk_chunks`` / ``PacketWriter`` are the paths
for the association: no Python object per chunk.

Decisions (where the RFCs leave the codec a choice):

* Padding (RFC 9260 §3.2): the Chunk Length excludes the chunk padding, and
  every chunk, the last one included, must be followed by its padding (the
  RFC asks the sender to pad and says nothing about accepting a missing final
  pad, so a packet ending in 1-3 stray bytes is a ``ParseError``).  Inside a
  chunk, the padding of the last parameter / error cause may or may not be
  counted in the Chunk Length: both are accepted, as §3.2 asks ("a robust
  implementation is expected to accept the chunk whether or not the final
  padding has been included").  Padding bytes are ignored, not checked.
* A packet with no chunk after the common header parses (to an empty list);
  the association drops it.
* DATA / I-DATA with no user data (Length 16 / 20) is a ``ParseError``:
  RFC 9260 §6.2 says such a chunk is a protocol error (the receiver ABORTs
  with "No User Data").  An association that wants to send that ABORT reads
  the length from ``walk_chunks`` (framing only) before calling
  ``check_chunk``.  WebRTC never needs one: an empty message is sent with PPID
  56/57 and one byte of user data (RFC 8831 §6.6).
* Semantic values are the association's call, not the codec's: an INIT with
  Initiate Tag 0 or with 0 inbound/outbound streams parses.  RFC 9260 §3.3.2
  asks for different reactions (silently discard for tag 0, ABORT with
  "Invalid Mandatory Parameter" for 0 streams, §3.3.3 destroy the TCB for an
  INIT-ACK with tag 0), which only the association can take.
* Unknown chunk types are kept raw (:class:`UnknownChunk`) with the action of
  their upper two bits (RFC 9260 §3.2) in ``.action``; unknown parameters
  inside INIT/INIT-ACK are kept raw in ``params`` and ``param_action(type)``
  gives the RFC 9260 §3.2.1 action.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, Py_buffer,
                             PyBUF_WRITABLE, PyBUF_FORMAT)
from libc.string cimport memcpy, memset
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t

from rtcengine._core.buffer cimport (InputView, OutputView, fail, fail_short,
                                     load_u16, load_u32, store_u16, store_u32,
                                     pad4, bytes_of)
from rtcengine._core.crc cimport rtce_crc_init, rtce_crc32c_update

from rtcengine._core import buffer as _buffer

# rtce_crc.h keeps its tables and CPU-feature flag per C file: set ours up.
rtce_crc_init()


class ParseError(_buffer.ParseError):
    """Malformed SCTP packet or chunk."""


# ---------------------------------------------------------------- constants
# (values and RFC sections are declared once, in sctp.pxd)

CHUNK_DATA = CT_DATA
CHUNK_INIT = CT_INIT
CHUNK_INIT_ACK = CT_INIT_ACK
CHUNK_SACK = CT_SACK
CHUNK_HEARTBEAT = CT_HEARTBEAT
CHUNK_HEARTBEAT_ACK = CT_HEARTBEAT_ACK
CHUNK_ABORT = CT_ABORT
CHUNK_SHUTDOWN = CT_SHUTDOWN
CHUNK_SHUTDOWN_ACK = CT_SHUTDOWN_ACK
CHUNK_ERROR = CT_ERROR
CHUNK_COOKIE_ECHO = CT_COOKIE_ECHO
CHUNK_COOKIE_ACK = CT_COOKIE_ACK
CHUNK_ECNE = CT_ECNE
CHUNK_CWR = CT_CWR
CHUNK_SHUTDOWN_COMPLETE = CT_SHUTDOWN_COMPLETE
CHUNK_AUTH = CT_AUTH
CHUNK_I_DATA = CT_I_DATA
CHUNK_ASCONF_ACK = CT_ASCONF_ACK
CHUNK_RE_CONFIG = CT_RE_CONFIG
CHUNK_PAD = CT_PAD
CHUNK_FORWARD_TSN = CT_FORWARD_TSN
CHUNK_ASCONF = CT_ASCONF
CHUNK_I_FORWARD_TSN = CT_I_FORWARD_TSN

CHUNK_NAMES = {
    CT_DATA: "DATA", CT_INIT: "INIT", CT_INIT_ACK: "INIT ACK", CT_SACK: "SACK",
    CT_HEARTBEAT: "HEARTBEAT", CT_HEARTBEAT_ACK: "HEARTBEAT ACK",
    CT_ABORT: "ABORT", CT_SHUTDOWN: "SHUTDOWN", CT_SHUTDOWN_ACK: "SHUTDOWN ACK",
    CT_ERROR: "ERROR", CT_COOKIE_ECHO: "COOKIE ECHO", CT_COOKIE_ACK: "COOKIE ACK",
    CT_ECNE: "ECNE", CT_CWR: "CWR", CT_SHUTDOWN_COMPLETE: "SHUTDOWN COMPLETE",
    CT_AUTH: "AUTH", CT_I_DATA: "I-DATA", CT_ASCONF_ACK: "ASCONF-ACK",
    CT_RE_CONFIG: "RE-CONFIG", CT_PAD: "PAD", CT_FORWARD_TSN: "FORWARD TSN",
    CT_ASCONF: "ASCONF", CT_I_FORWARD_TSN: "I-FORWARD-TSN",
}

# DATA / I-DATA chunk flags.
DATA_FLAG_END = FLAG_END
DATA_FLAG_BEGINNING = FLAG_BEGINNING
DATA_FLAG_UNORDERED = FLAG_UNORDERED
DATA_FLAG_IMMEDIATE = FLAG_IMMEDIATE
# ABORT / SHUTDOWN COMPLETE: the T bit.
FLAG_TAG_REFLECTED = FLAG_T

PARAM_HEARTBEAT_INFO = PT_HEARTBEAT_INFO
PARAM_IPV4_ADDRESS = PT_IPV4_ADDRESS
PARAM_IPV6_ADDRESS = PT_IPV6_ADDRESS
PARAM_STATE_COOKIE = PT_STATE_COOKIE
PARAM_UNRECOGNIZED_PARAMETER = PT_UNRECOGNIZED_PARAMETER
PARAM_COOKIE_PRESERVATIVE = PT_COOKIE_PRESERVATIVE
PARAM_HOST_NAME_ADDRESS = PT_HOST_NAME_ADDRESS
PARAM_SUPPORTED_ADDRESS_TYPES = PT_SUPPORTED_ADDRESS_TYPES
PARAM_OUTGOING_SSN_RESET = PT_OUTGOING_SSN_RESET
PARAM_INCOMING_SSN_RESET = PT_INCOMING_SSN_RESET
PARAM_SSN_TSN_RESET = PT_SSN_TSN_RESET
PARAM_RECONFIG_RESPONSE = PT_RECONFIG_RESPONSE
PARAM_ADD_OUTGOING_STREAMS = PT_ADD_OUTGOING_STREAMS
PARAM_ADD_INCOMING_STREAMS = PT_ADD_INCOMING_STREAMS
PARAM_ECN_CAPABLE = PT_ECN_CAPABLE
PARAM_RANDOM = PT_RANDOM
PARAM_CHUNK_LIST = PT_CHUNK_LIST
PARAM_HMAC_ALGO = PT_HMAC_ALGO
PARAM_PADDING = PT_PADDING
PARAM_SUPPORTED_EXTENSIONS = PT_SUPPORTED_EXTENSIONS
PARAM_FORWARD_TSN_SUPPORTED = PT_FORWARD_TSN_SUPPORTED
PARAM_ADAPTATION_LAYER = PT_ADAPTATION_LAYER

# Error cause codes, RFC 9260 §3.3.10 (and RFC 4895 §6.1 for 0x0105).
CAUSE_INVALID_STREAM_IDENTIFIER = 1         # RFC 9260 §3.3.10.1
CAUSE_MISSING_MANDATORY_PARAMETER = 2       # RFC 9260 §3.3.10.2
CAUSE_STALE_COOKIE = 3                      # RFC 9260 §3.3.10.3
CAUSE_OUT_OF_RESOURCE = 4                   # RFC 9260 §3.3.10.4
CAUSE_UNRESOLVABLE_ADDRESS = 5              # RFC 9260 §3.3.10.5
CAUSE_UNRECOGNIZED_CHUNK_TYPE = 6           # RFC 9260 §3.3.10.6
CAUSE_INVALID_MANDATORY_PARAMETER = 7       # RFC 9260 §3.3.10.7
CAUSE_UNRECOGNIZED_PARAMETERS = 8           # RFC 9260 §3.3.10.8
CAUSE_NO_USER_DATA = 9                      # RFC 9260 §3.3.10.9
CAUSE_COOKIE_WHILE_SHUTTING_DOWN = 10       # RFC 9260 §3.3.10.10
CAUSE_RESTART_WITH_NEW_ADDRESSES = 11       # RFC 9260 §3.3.10.11
CAUSE_USER_INITIATED_ABORT = 12             # RFC 9260 §3.3.10.12
CAUSE_PROTOCOL_VIOLATION = 13               # RFC 9260 §3.3.10.13
CAUSE_UNSUPPORTED_HMAC_IDENTIFIER = 0x0105  # RFC 4895 §6.1

CAUSE_NAMES = {
    1: "Invalid Stream Identifier",
    2: "Missing Mandatory Parameter",
    3: "Stale Cookie Error",
    4: "Out of Resource",
    5: "Unresolvable Address",
    6: "Unrecognized Chunk Type",
    7: "Invalid Mandatory Parameter",
    8: "Unrecognized Parameters",
    9: "No User Data",
    10: "Cookie Received While Shutting Down",
    11: "Restart of an Association with New Addresses",
    12: "User-Initiated Abort",
    13: "Protocol Violation",
    0x0105: "Unsupported HMAC Identifier",
}

# RFC 6525 §4.4: Re-configuration Response results.
RECONFIG_SUCCESS_NOTHING_TO_DO = 0
RECONFIG_SUCCESS_PERFORMED = 1
RECONFIG_DENIED = 2
RECONFIG_ERROR_WRONG_SSN = 3
RECONFIG_ERROR_REQUEST_IN_PROGRESS = 4
RECONFIG_ERROR_BAD_SEQUENCE_NUMBER = 5
RECONFIG_IN_PROGRESS = 6

# RFC 9260 §3.2 (chunk types) and §3.2.1 (parameter types): what to do with
# an unrecognized type, from its two highest-order bits.
ACTION_STOP = 0          # 00: stop processing, discard; do not report
ACTION_STOP_REPORT = 1   # 01: stop processing, discard; report it
ACTION_SKIP = 2          # 10: skip it and continue; do not report
ACTION_SKIP_REPORT = 3   # 11: skip it and continue; report it
# Reporting a chunk type is an ERROR with "Unrecognized Chunk Type" (§3.2);
# reporting a parameter is an "Unrecognized Parameter" in the INIT ACK or an
# ERROR with "Unrecognized Parameters" (§3.2.1).  For a chunk, "stop" means
# drop the rest of the packet; for a parameter inside INIT/INIT ACK it means
# stop processing the remaining parameters of that chunk.


def chunk_action(int chunk_type) -> int:
    """RFC 9260 §3.2 action for an unrecognized chunk type (ACTION_*)."""
    return (chunk_type >> 6) & 3


def param_action(int param_type) -> int:
    """RFC 9260 §3.2.1 action for an unrecognized parameter type (ACTION_*)."""
    return (param_type >> 14) & 3


def cause_name(int code) -> str:
    """The RFC 9260 §3.3.10 name of an error cause code."""
    return CAUSE_NAMES.get(code, f"Unknown cause {code}")


# Four zero bytes that stand in for the checksum field (RFC 9260 §6.8).
cdef uint8_t _ZERO4[4]
memset(_ZERO4, 0, 4)


# ---------------------------------------------------------------- C level

cdef uint32_t packet_crc(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # RFC 9260 §6.8: CRC-32c over the packet with the checksum field as 0;
    # summed in three pieces so the input is never copied.
    cdef uint32_t crc = rtce_crc32c_update(0, p, 8)
    crc = rtce_crc32c_update(crc, _ZERO4, 4)
    return rtce_crc32c_update(crc, p + 12, <size_t>(n - 12))


cdef inline uint32_t _stored_crc(const uint8_t* p) noexcept nogil:
    # RFC 9260 §6.8 / Appendix A: the checksum is stored little-endian.
    return (<uint32_t>p[8] | (<uint32_t>p[9] << 8) | (<uint32_t>p[10] << 16)
            | (<uint32_t>p[11] << 24))


cdef inline void _store_crc(uint8_t* p, uint32_t crc) noexcept nogil:
    p[8] = <uint8_t>crc
    p[9] = <uint8_t>(crc >> 8)
    p[10] = <uint8_t>(crc >> 16)
    p[11] = <uint8_t>(crc >> 24)


cdef bint checksum_ok(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n < COMMON_HEADER_SIZE:
        return False
    return packet_crc(p, n) == _stored_crc(p)


cdef int _short(str what, Py_ssize_t need_, Py_ssize_t have) except -1:
    return fail_short(ParseError, what, need_, have)


cdef int _bad(str message) except -1:
    return fail(ParseError, message)


cdef str _chunk_name(uint8_t t):
    return CHUNK_NAMES.get(t, f"chunk type {t}")


# Walk the chunks of the packet p[0:n]; store them in ``out`` (if not NULL,
# up to ``cap``) and run ``check_chunk`` on each when ``check``.
cdef Py_ssize_t _walk(const uint8_t* p, Py_ssize_t n, int32_t* out,
                      Py_ssize_t cap, bint check, list objs=None) except -1:
    cdef Py_ssize_t pos = COMMON_HEADER_SIZE
    cdef Py_ssize_t count = 0
    cdef Py_ssize_t clen, padded
    while pos < n:
        # RFC 9260 §3.2: Type, Flags, Length (>= 4, padding excluded).
        if n - pos < CHUNK_HEADER_SIZE:
            return _bad(f"SCTP chunk header past end: need 4 bytes at offset {pos}, "
                        f"have {n - pos}")
        clen = load_u16(p + pos + 2)
        if clen < CHUNK_HEADER_SIZE:
            return _bad(f"SCTP chunk length must be >= 4, got {clen} at offset {pos}")
        if clen > n - pos:
            return _bad(f"SCTP chunk past end: length {clen} at offset {pos}, "
                        f"have {n - pos} bytes")
        padded = clen + pad4(clen)
        if padded > n - pos:
            # RFC 9260 §3.2: the sender pads every chunk, the last one too.
            return _bad(f"SCTP chunk padding past end: length {clen} at offset {pos} "
                        f"needs {padded} bytes, have {n - pos}")
        if check:
            check_chunk(p + pos, clen)
        if out != NULL:
            if count >= cap:
                raise ValueError(f"walk_chunks: more than {cap} chunks, out is full")
            out[4 * count] = p[pos]
            out[4 * count + 1] = p[pos + 1]
            out[4 * count + 2] = <int32_t>pos
            out[4 * count + 3] = <int32_t>clen
        if objs is not None:
            objs.append(_make_chunk(p + pos, clen))
        count += 1
        pos += padded
    return count


cdef Py_ssize_t walk_chunks_c(const uint8_t* p, Py_ssize_t n, int32_t* out,
                              Py_ssize_t cap) except -1:
    if n < COMMON_HEADER_SIZE:
        return _short("SCTP packet", COMMON_HEADER_SIZE, n)
    return _walk(p, n, out, cap, False)


# Check a list of TLVs (parameters or error causes: 16-bit type, 16-bit
# length >= 4 including the 4-byte header, value, padding to 4) in p[pos:end].
# ``reconfig`` adds the RFC 6525 §4 length rules of the known parameters.
cdef int _check_tlvs(const uint8_t* p, Py_ssize_t pos, Py_ssize_t end,
                     str what, bint reconfig) except -1:
    cdef Py_ssize_t tlen
    cdef uint16_t t
    while pos < end:
        if end - pos < 4:
            return _bad(f"{what} header past end: need 4 bytes, have {end - pos}")
        t = load_u16(p + pos)
        tlen = load_u16(p + pos + 2)
        if tlen < 4:
            return _bad(f"{what} length must be >= 4, got {tlen}")
        if tlen > end - pos:
            return _bad(f"{what} past end: length {tlen}, have {end - pos} bytes")
        if reconfig:
            _check_reconfig_param(t, tlen - 4)
        # RFC 9260 §3.2: the padding of the last TLV may be outside the
        # Chunk Length; the loop then ends past ``end``, which is fine.
        pos += tlen + pad4(tlen)
    return 0


cdef int _check_reconfig_param(uint16_t t, Py_ssize_t n) except -1:
    # RFC 6525 §4.1-4.6 value sizes (the 4-byte TLV header excluded).
    if t == PT_OUTGOING_SSN_RESET:
        if n < 12:
            return _short("Outgoing SSN Reset Request", 16, n + 4)
        if (n - 12) & 1:
            return _bad(f"Outgoing SSN Reset Request stream list has odd length {n - 12}")
    elif t == PT_INCOMING_SSN_RESET:
        if n < 4:
            return _short("Incoming SSN Reset Request", 8, n + 4)
        if (n - 4) & 1:
            return _bad(f"Incoming SSN Reset Request stream list has odd length {n - 4}")
    elif t == PT_SSN_TSN_RESET:
        if n < 4:
            return _short("SSN/TSN Reset Request", 8, n + 4)
    elif t == PT_RECONFIG_RESPONSE:
        if n != 8 and n != 16:
            return _bad(f"Re-configuration Response length must be 12 or 20, got {n + 4}")
    elif t == PT_ADD_OUTGOING_STREAMS or t == PT_ADD_INCOMING_STREAMS:
        if n < 8:
            return _short("Add Streams Request", 12, n + 4)
    return 0


cdef int check_chunk(const uint8_t* p, Py_ssize_t length) except -1:
    cdef uint8_t t = p[0]
    cdef Py_ssize_t need_
    if t == CT_DATA:
        # RFC 9260 §3.3.1: 16 header bytes, then at least 1 byte (§6.2).
        if length < DATA_HEADER_SIZE:
            return _short("DATA chunk", DATA_HEADER_SIZE + 1, length)
        if length == DATA_HEADER_SIZE:
            return _bad("DATA chunk has no user data (RFC 9260 §6.2: No User Data)")
    elif t == CT_I_DATA:
        # RFC 8260 §2.1: 20 header bytes, then at least 1 byte.
        if length < IDATA_HEADER_SIZE:
            return _short("I-DATA chunk", IDATA_HEADER_SIZE + 1, length)
        if length == IDATA_HEADER_SIZE:
            return _bad("I-DATA chunk has no user data (RFC 8260 §2.1)")
    elif t == CT_SACK:
        if length < SACK_HEADER_SIZE:
            return _short("SACK chunk", SACK_HEADER_SIZE, length)
        need_ = SACK_HEADER_SIZE + 4 * (<Py_ssize_t>sack_gap_count(p)
                                         + <Py_ssize_t>sack_dup_count(p))
        if need_ > length:
            return _bad(f"SACK gap blocks and duplicate TSNs past end: "
                        f"{sack_gap_count(p)} gaps and {sack_dup_count(p)} "
                        f"duplicates need {need_} bytes, chunk length is {length}")
    elif t == CT_INIT or t == CT_INIT_ACK:
        if length < INIT_HEADER_SIZE:
            return _short(_chunk_name(t) + " chunk", INIT_HEADER_SIZE, length)
        _check_tlvs(p, INIT_HEADER_SIZE, length, _chunk_name(t) + " parameter", False)
    elif t == CT_HEARTBEAT or t == CT_HEARTBEAT_ACK:
        _check_tlvs(p, 4, length, _chunk_name(t) + " parameter", False)
    elif t == CT_ABORT or t == CT_ERROR:
        _check_tlvs(p, 4, length, _chunk_name(t) + " error cause", False)
    elif t == CT_RE_CONFIG:
        _check_tlvs(p, 4, length, "RE-CONFIG parameter", True)
    elif t == CT_SHUTDOWN:
        if length < 8:
            return _short("SHUTDOWN chunk", 8, length)
    elif t == CT_FORWARD_TSN:
        # RFC 3758 §3.2: new cumulative TSN, then (stream, SSN) pairs.
        if length < 8:
            return _short("FORWARD TSN chunk", 8, length)
        if (length - 8) & 3:
            return _bad(f"FORWARD TSN stream list length {length - 8} is not a multiple of 4")
    elif t == CT_I_FORWARD_TSN:
        # RFC 8260 §2.3.1: new cumulative TSN, then 8-byte stream entries.
        if length < 8:
            return _short("I-FORWARD-TSN chunk", 8, length)
        if (length - 8) & 7:
            return _bad(f"I-FORWARD-TSN stream list length {length - 8} is not a multiple of 8")
    return 0


cdef int read_data(const uint8_t* p, Py_ssize_t length, data_fields_t* out) except -1:
    cdef uint32_t v
    if length < CHUNK_HEADER_SIZE:
        return _short("SCTP chunk", CHUNK_HEADER_SIZE, length)
    if p[0] != CT_DATA and p[0] != CT_I_DATA:
        return _bad(f"expected DATA or I-DATA chunk, got {_chunk_name(p[0])}")
    check_chunk(p, length)
    out.flags = p[1]
    out.tsn = load_u32(p + 4)
    out.stream_id = load_u16(p + 8)
    if p[0] == CT_DATA:
        out.stream_seq = load_u16(p + 10)
        out.mid = 0
        out.fsn = 0
        out.ppid = load_u32(p + 12)
        out.user_offset = DATA_HEADER_SIZE
    else:
        out.stream_seq = 0
        out.mid = load_u32(p + 12)
        v = load_u32(p + 16)
        # RFC 8260 §2.1: the word holds the PPID when B is set, else the FSN.
        if p[1] & FLAG_BEGINNING:
            out.ppid = v
            out.fsn = 0
        else:
            out.ppid = 0
            out.fsn = v
        out.user_offset = IDATA_HEADER_SIZE
    out.user_length = length - out.user_offset
    return 0


# ---------------------------------------------------------------- TLV lists

# Size of a TLV list written back to back: padding between entries, none
# after the last one (RFC 9260 §3.2: it is the chunk's padding).
cdef Py_ssize_t _tlv_size(list items) except -1:
    cdef Py_ssize_t total = 0, prevpad = 0, n
    if items is None:
        raise TypeError("parameter list must be a list, not None")
    for item in items:
        t, v = item
        n = 4 + len(v)
        if n > 0xFFFF:
            raise ValueError(f"parameter/cause {t} too long: {n} bytes")
        total += prevpad + n
        prevpad = pad4(n)
    return total


cdef Py_ssize_t _tlv_write(list items, uint8_t* p, Py_ssize_t room) except -1:
    cdef Py_ssize_t pos = 0, n, prevpad = 0
    cdef uint16_t t
    cdef bytes b
    for item in items:
        t = item[0]
        b = bytes_of(item[1])
        n = 4 + PyBytes_GET_SIZE(b)
        if n > 0xFFFF or pos + prevpad + n > room:
            raise ValueError("parameter list changed while marshalling")
        memset(p + pos, 0, prevpad)
        pos += prevpad
        store_u16(p + pos, t)
        store_u16(p + pos + 2, <uint16_t>n)
        memcpy(p + pos + 4, PyBytes_AS_STRING(b), n - 4)
        pos += n
        prevpad = pad4(n)
    return pos


cdef list _tlv_parse(const uint8_t* p, Py_ssize_t pos, Py_ssize_t end):
    # Framing was checked by _check_tlvs.
    cdef list out = []
    cdef Py_ssize_t tlen
    while pos + 4 <= end:
        tlen = load_u16(p + pos + 2)
        if tlen < 4 or tlen > end - pos:
            break
        out.append((load_u16(p + pos),
                    PyBytes_FromStringAndSize(<const char*>p + pos + 4, tlen - 4)))
        pos += tlen + pad4(tlen)
    return out


cdef object _tlv_get(list items, uint16_t t):
    for item in items:
        if item[0] == t:
            return item[1]
    return None


cdef void _tlv_set(list items, uint16_t t, object value):
    cdef Py_ssize_t i
    for i in range(len(items)):
        if items[i][0] == t:
            if value is None:
                del items[i]
            else:
                items[i] = (t, value)
            return
    if value is not None:
        items.append((t, value))


cdef bytes _as_bytes(object v):
    if v is None:
        raise TypeError("expected a bytes-like object, got None")
    return bytes_of(v)


# ---------------------------------------------------------------- chunks

cdef class Chunk:
    """Base of every chunk: ``type`` and ``flags``, marshal/parse."""

    _fields = ("flags",)

    @property
    def type(self) -> int:
        return self._type

    cdef Py_ssize_t _value_size(self) except -1:
        return 0

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        return 0

    cdef Py_ssize_t size(self) except -1:
        cdef Py_ssize_t v = self._value_size()
        if v + 4 > 0xFFFF:
            raise ValueError(f"{type(self).__name__} too long: {v + 4} bytes")
        return 4 + v + pad4(v)

    cdef Py_ssize_t write(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t v = self._value_size()
        cdef Py_ssize_t total = 4 + v + pad4(v)
        if v + 4 > 0xFFFF:
            raise ValueError(f"{type(self).__name__} too long: {v + 4} bytes")
        if total > room:
            raise ValueError(f"buffer too small: need {total} bytes, have {room}")
        p[0] = self._type
        p[1] = self.flags
        store_u16(p + 2, <uint16_t>(4 + v))
        if self._write_value(p + 4, v) != v:
            raise ValueError(f"{type(self).__name__} changed while marshalling")
        memset(p + 4 + v, 0, total - 4 - v)
        return total

    def marshal_size(self) -> int:
        """Bytes ``marshal_into`` writes: the chunk and its padding."""
        return self.size()

    def marshal_into(self, buf, Py_ssize_t offset=0) -> int:
        """Write the padded chunk into ``buf`` at ``offset``; return its size."""
        cdef Py_ssize_t n = self.size()
        cdef OutputView out = OutputView()
        out.acquire(buf, offset, n)
        try:
            return self.write(out.ptr, n)
        finally:
            out.release()

    def marshal(self) -> bytes:
        cdef Py_ssize_t n = self.size()
        cdef bytes b = PyBytes_FromStringAndSize(NULL, n)
        self.write(<uint8_t*>PyBytes_AS_STRING(b), n)
        return b

    def serialize(self) -> bytes:
        return self.marshal()

    def __bytes__(self) -> bytes:
        return self.marshal()

    @staticmethod
    def parse(data) -> Chunk:
        """Parse one chunk (with or without its padding) into its class."""
        return _parse_one(data, -1)

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return self.marshal() == (<Chunk>other).marshal()

    __hash__ = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({fields})"


cdef Chunk _parse_one(object data, int expected):
    cdef InputView v
    cdef const uint8_t* p
    cdef Py_ssize_t n, clen
    if type(data) is bytes:  # no export needed: bytes are immutable
        p = <const uint8_t*>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
    else:
        v = InputView()
        v.acquire(data)
        p = v.ptr
        n = v.length
    if n < CHUNK_HEADER_SIZE:
        _short("SCTP chunk", CHUNK_HEADER_SIZE, n)
    clen = load_u16(p + 2)
    if clen < CHUNK_HEADER_SIZE:
        _bad(f"SCTP chunk length must be >= 4, got {clen}")
    if clen > n:
        _bad(f"SCTP chunk past end: length {clen}, have {n} bytes")
    if n > clen + pad4(clen):
        _bad(f"SCTP chunk followed by {n - clen - pad4(clen)} stray bytes")
    if expected >= 0 and p[0] != expected:
        _bad(f"expected {_chunk_name(<uint8_t>expected)} chunk, got {_chunk_name(p[0])}")
    check_chunk(p, clen)
    return _make_chunk(p, clen)


cdef class DataChunk(Chunk):
    """DATA (RFC 9260 §3.3.1); ``protocol`` is the PPID."""

    cdef public uint32_t tsn
    cdef public uint16_t stream_id
    cdef public uint16_t stream_seq
    cdef public uint32_t protocol
    cdef bytes _user_data

    _fields = ("flags", "tsn", "stream_id", "stream_seq", "protocol", "user_data")

    def __cinit__(self):
        self._type = CT_DATA
        self._user_data = b""

    def __init__(self, uint8_t flags=FLAG_BEGINNING | FLAG_END, uint32_t tsn=0,
                 uint16_t stream_id=0, uint16_t stream_seq=0, uint32_t protocol=0,
                 user_data=b""):
        self.flags = flags
        self.tsn = tsn
        self.stream_id = stream_id
        self.stream_seq = stream_seq
        self.protocol = protocol
        self._user_data = _as_bytes(user_data)

    @property
    def user_data(self) -> bytes:
        return self._user_data

    @user_data.setter
    def user_data(self, value):
        self._user_data = _as_bytes(value)

    @property
    def unordered(self) -> bool:
        return bool(self.flags & FLAG_UNORDERED)

    @property
    def beginning(self) -> bool:
        return bool(self.flags & FLAG_BEGINNING)

    @property
    def ending(self) -> bool:
        return bool(self.flags & FLAG_END)

    @property
    def immediate(self) -> bool:
        return bool(self.flags & FLAG_IMMEDIATE)

    cdef Py_ssize_t _value_size(self) except -1:
        return 12 + PyBytes_GET_SIZE(self._user_data)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self._user_data)
        if 12 + n > room:
            return -2
        store_u32(p, self.tsn)
        store_u16(p + 4, self.stream_id)
        store_u16(p + 6, self.stream_seq)
        store_u32(p + 8, self.protocol)
        memcpy(p + 12, PyBytes_AS_STRING(self._user_data), n)
        return 12 + n

    @staticmethod
    def parse(data) -> DataChunk:
        return _parse_one(data, CT_DATA)


cdef class IDataChunk(Chunk):
    """I-DATA (RFC 8260 §2.1): ``mid``; ``protocol`` (PPID) when B is set,
    else ``fsn``."""

    cdef public uint32_t tsn
    cdef public uint16_t stream_id
    cdef public uint32_t mid
    cdef public uint32_t fsn
    cdef public uint32_t protocol
    cdef bytes _user_data

    _fields = ("flags", "tsn", "stream_id", "mid", "fsn", "protocol", "user_data")

    def __cinit__(self):
        self._type = CT_I_DATA
        self._user_data = b""

    def __init__(self, uint8_t flags=FLAG_BEGINNING | FLAG_END, uint32_t tsn=0,
                 uint16_t stream_id=0, uint32_t mid=0, uint32_t fsn=0,
                 uint32_t protocol=0, user_data=b""):
        self.flags = flags
        self.tsn = tsn
        self.stream_id = stream_id
        self.mid = mid
        self.fsn = fsn
        self.protocol = protocol
        self._user_data = _as_bytes(user_data)

    @property
    def user_data(self) -> bytes:
        return self._user_data

    @user_data.setter
    def user_data(self, value):
        self._user_data = _as_bytes(value)

    @property
    def unordered(self) -> bool:
        return bool(self.flags & FLAG_UNORDERED)

    @property
    def beginning(self) -> bool:
        return bool(self.flags & FLAG_BEGINNING)

    @property
    def ending(self) -> bool:
        return bool(self.flags & FLAG_END)

    @property
    def immediate(self) -> bool:
        return bool(self.flags & FLAG_IMMEDIATE)

    cdef Py_ssize_t _value_size(self) except -1:
        return 16 + PyBytes_GET_SIZE(self._user_data)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self._user_data)
        if 16 + n > room:
            return -2
        store_u32(p, self.tsn)
        store_u16(p + 4, self.stream_id)
        store_u16(p + 6, 0)  # RFC 8260 §2.1: reserved
        store_u32(p + 8, self.mid)
        # RFC 8260 §2.1: PPID in the first fragment, FSN in the others.
        store_u32(p + 12, self.protocol if self.flags & FLAG_BEGINNING else self.fsn)
        memcpy(p + 16, PyBytes_AS_STRING(self._user_data), n)
        return 16 + n

    @staticmethod
    def parse(data) -> IDataChunk:
        return _parse_one(data, CT_I_DATA)


cdef class BaseInitChunk(Chunk):
    """INIT / INIT ACK (RFC 9260 §3.3.2-3): fixed fields + ``params``, a list
    of (type, value) kept in wire order, unknown types included."""

    cdef public uint32_t initiate_tag
    cdef public uint32_t advertised_rwnd
    cdef public uint16_t outbound_streams
    cdef public uint16_t inbound_streams
    cdef public uint32_t initial_tsn
    cdef public list params

    _fields = ("flags", "initiate_tag", "advertised_rwnd", "outbound_streams",
               "inbound_streams", "initial_tsn", "params")

    def __init__(self, uint8_t flags=0, uint32_t initiate_tag=0, uint32_t advertised_rwnd=0,
                 uint16_t outbound_streams=0, uint16_t inbound_streams=0,
                 uint32_t initial_tsn=0, params=None):
        self.flags = flags
        self.initiate_tag = initiate_tag
        self.advertised_rwnd = advertised_rwnd
        self.outbound_streams = outbound_streams
        self.inbound_streams = inbound_streams
        self.initial_tsn = initial_tsn
        self.params = list(params) if params is not None else []

    cdef Py_ssize_t _value_size(self) except -1:
        return 16 + _tlv_size(self.params)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        if room < 16:
            return -2
        store_u32(p, self.initiate_tag)
        store_u32(p + 4, self.advertised_rwnd)
        store_u16(p + 8, self.outbound_streams)
        store_u16(p + 10, self.inbound_streams)
        store_u32(p + 12, self.initial_tsn)
        return 16 + _tlv_write(self.params, p + 16, room - 16)

    def get_param(self, int param_type):
        """The value of the first parameter of this type, or None."""
        return _tlv_get(self.params, <uint16_t>param_type)

    @property
    def state_cookie(self):
        """State Cookie (RFC 9260 §3.3.3.1), mandatory in INIT ACK."""
        return _tlv_get(self.params, PT_STATE_COOKIE)

    @state_cookie.setter
    def state_cookie(self, value):
        _tlv_set(self.params, PT_STATE_COOKIE, None if value is None else _as_bytes(value))

    @property
    def supported_extensions(self):
        """Chunk types of Supported Extensions (RFC 5061 §4.2.7), or None."""
        cdef bytes v = _tlv_get(self.params, PT_SUPPORTED_EXTENSIONS)
        return None if v is None else list(v)

    @supported_extensions.setter
    def supported_extensions(self, value):
        _tlv_set(self.params, PT_SUPPORTED_EXTENSIONS,
                 None if value is None else bytes(value))

    @property
    def forward_tsn_supported(self) -> bool:
        """Forward-TSN-Supported (RFC 3758 §3.1) present."""
        return _tlv_get(self.params, PT_FORWARD_TSN_SUPPORTED) is not None

    @forward_tsn_supported.setter
    def forward_tsn_supported(self, value):
        _tlv_set(self.params, PT_FORWARD_TSN_SUPPORTED, b"" if value else None)

    @property
    def ecn_capable(self) -> bool:
        """ECN Capable (RFC 9260 §3.3.2.1, type 0x8000) present."""
        return _tlv_get(self.params, PT_ECN_CAPABLE) is not None

    @ecn_capable.setter
    def ecn_capable(self, value):
        _tlv_set(self.params, PT_ECN_CAPABLE, b"" if value else None)

    def unrecognized_params(self, known=(PT_STATE_COOKIE, PT_SUPPORTED_EXTENSIONS,
                                         PT_FORWARD_TSN_SUPPORTED, PT_ECN_CAPABLE,
                                         PT_RANDOM, PT_CHUNK_LIST, PT_HMAC_ALGO,
                                         PT_IPV4_ADDRESS, PT_IPV6_ADDRESS,
                                         PT_COOKIE_PRESERVATIVE,
                                         PT_SUPPORTED_ADDRESS_TYPES,
                                         PT_ADAPTATION_LAYER, PT_PADDING,
                                         PT_UNRECOGNIZED_PARAMETER)):
        """(type, value, action) of each parameter not in ``known``, with
        the RFC 9260 §3.2.1 action of its upper two bits."""
        return [(t, v, (t >> 14) & 3) for t, v in self.params if t not in known]


cdef class InitChunk(BaseInitChunk):
    """INIT (RFC 9260 §3.3.2)."""

    def __cinit__(self):
        self._type = CT_INIT

    @staticmethod
    def parse(data) -> InitChunk:
        return _parse_one(data, CT_INIT)


cdef class InitAckChunk(BaseInitChunk):
    """INIT ACK (RFC 9260 §3.3.3)."""

    def __cinit__(self):
        self._type = CT_INIT_ACK

    @staticmethod
    def parse(data) -> InitAckChunk:
        return _parse_one(data, CT_INIT_ACK)


cdef class SackChunk(Chunk):
    """SACK (RFC 9260 §3.3.4): ``gaps`` is a list of (start, end) offsets
    from ``cumulative_tsn``; ``duplicates`` a list of TSNs."""

    cdef public uint32_t cumulative_tsn
    cdef public uint32_t advertised_rwnd
    cdef public list gaps
    cdef public list duplicates

    _fields = ("flags", "cumulative_tsn", "advertised_rwnd", "gaps", "duplicates")

    def __cinit__(self):
        self._type = CT_SACK

    def __init__(self, uint8_t flags=0, uint32_t cumulative_tsn=0, uint32_t advertised_rwnd=0,
                 gaps=None, duplicates=None):
        self.flags = flags
        self.cumulative_tsn = cumulative_tsn
        self.advertised_rwnd = advertised_rwnd
        self.gaps = list(gaps) if gaps is not None else []
        self.duplicates = list(duplicates) if duplicates is not None else []

    cdef Py_ssize_t _value_size(self) except -1:
        if self.gaps is None or self.duplicates is None:
            raise TypeError("SackChunk.gaps and .duplicates must be lists")
        if len(self.gaps) > 0xFFFF or len(self.duplicates) > 0xFFFF:
            raise ValueError("SACK: more than 65535 gap blocks or duplicates")
        return 12 + 4 * (len(self.gaps) + len(self.duplicates))

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t ng = len(self.gaps), nd = len(self.duplicates), pos = 12
        cdef uint16_t s, e
        cdef uint32_t d
        if 12 + 4 * (ng + nd) != room:
            return -2
        store_u32(p, self.cumulative_tsn)
        store_u32(p + 4, self.advertised_rwnd)
        store_u16(p + 8, <uint16_t>ng)
        store_u16(p + 10, <uint16_t>nd)
        for gap in self.gaps:
            s, e = gap
            if pos + 4 > room:
                return -2
            store_u16(p + pos, s)
            store_u16(p + pos + 2, e)
            pos += 4
        for dup in self.duplicates:
            d = dup
            if pos + 4 > room:
                return -2
            store_u32(p + pos, d)
            pos += 4
        return pos

    @staticmethod
    def parse(data) -> SackChunk:
        return _parse_one(data, CT_SACK)


cdef class _TlvChunk(Chunk):
    # A chunk whose value is a TLV list (parameters or error causes).
    cdef public list params

    _fields = ("flags", "params")

    def __init__(self, uint8_t flags=0, params=None):
        self.flags = flags
        self.params = list(params) if params is not None else []

    cdef Py_ssize_t _value_size(self) except -1:
        return _tlv_size(self.params)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        return _tlv_write(self.params, p, room)


cdef class HeartbeatChunk(_TlvChunk):
    """HEARTBEAT (RFC 9260 §3.3.5): ``params`` holds the Heartbeat Info."""

    def __cinit__(self):
        self._type = CT_HEARTBEAT

    @property
    def info(self):
        """The Heartbeat Information parameter's value (type 1), or None."""
        return _tlv_get(self.params, PT_HEARTBEAT_INFO)

    @staticmethod
    def parse(data) -> HeartbeatChunk:
        return _parse_one(data, CT_HEARTBEAT)


cdef class HeartbeatAckChunk(_TlvChunk):
    """HEARTBEAT ACK (RFC 9260 §3.3.6): echoes the Heartbeat Info."""

    def __cinit__(self):
        self._type = CT_HEARTBEAT_ACK

    @property
    def info(self):
        return _tlv_get(self.params, PT_HEARTBEAT_INFO)

    @staticmethod
    def parse(data) -> HeartbeatAckChunk:
        return _parse_one(data, CT_HEARTBEAT_ACK)


cdef class _CauseChunk(_TlvChunk):
    # ABORT / ERROR: the TLV list holds error causes (code, info).
    _fields = ("flags", "causes")

    def __init__(self, uint8_t flags=0, causes=None, params=None):
        self.flags = flags
        src = causes if causes is not None else params
        self.params = list(src) if src is not None else []

    @property
    def causes(self) -> list:
        """Error causes (RFC 9260 §3.3.10) as (code, info) pairs."""
        return self.params

    @causes.setter
    def causes(self, value):
        self.params = list(value)

    def cause_names(self) -> list:
        return [cause_name(c) for c, _ in self.params]


cdef class AbortChunk(_CauseChunk):
    """ABORT (RFC 9260 §3.3.7); flag T (0x01) = tag reflected."""

    def __cinit__(self):
        self._type = CT_ABORT

    @property
    def tag_reflected(self) -> bool:
        return bool(self.flags & FLAG_T)

    @staticmethod
    def parse(data) -> AbortChunk:
        return _parse_one(data, CT_ABORT)


cdef class ErrorChunk(_CauseChunk):
    """ERROR (RFC 9260 §3.3.10)."""

    def __cinit__(self):
        self._type = CT_ERROR

    @staticmethod
    def parse(data) -> ErrorChunk:
        return _parse_one(data, CT_ERROR)


cdef class ShutdownChunk(Chunk):
    """SHUTDOWN (RFC 9260 §3.3.8)."""

    cdef public uint32_t cumulative_tsn

    _fields = ("flags", "cumulative_tsn")

    def __cinit__(self):
        self._type = CT_SHUTDOWN

    def __init__(self, uint8_t flags=0, uint32_t cumulative_tsn=0):
        self.flags = flags
        self.cumulative_tsn = cumulative_tsn

    cdef Py_ssize_t _value_size(self) except -1:
        return 4

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        store_u32(p, self.cumulative_tsn)
        return 4

    @staticmethod
    def parse(data) -> ShutdownChunk:
        return _parse_one(data, CT_SHUTDOWN)


cdef class _EmptyChunk(Chunk):
    # A chunk without a value (extra bytes on input are ignored).
    def __init__(self, uint8_t flags=0):
        self.flags = flags


cdef class ShutdownAckChunk(_EmptyChunk):
    """SHUTDOWN ACK (RFC 9260 §3.3.9)."""

    def __cinit__(self):
        self._type = CT_SHUTDOWN_ACK

    @staticmethod
    def parse(data) -> ShutdownAckChunk:
        return _parse_one(data, CT_SHUTDOWN_ACK)


cdef class CookieAckChunk(_EmptyChunk):
    """COOKIE ACK (RFC 9260 §3.3.12)."""

    def __cinit__(self):
        self._type = CT_COOKIE_ACK

    @staticmethod
    def parse(data) -> CookieAckChunk:
        return _parse_one(data, CT_COOKIE_ACK)


cdef class ShutdownCompleteChunk(_EmptyChunk):
    """SHUTDOWN COMPLETE (RFC 9260 §3.3.13); flag T (0x01) = tag reflected."""

    def __cinit__(self):
        self._type = CT_SHUTDOWN_COMPLETE

    @property
    def tag_reflected(self) -> bool:
        return bool(self.flags & FLAG_T)

    @staticmethod
    def parse(data) -> ShutdownCompleteChunk:
        return _parse_one(data, CT_SHUTDOWN_COMPLETE)


cdef class _RawChunk(Chunk):
    # A chunk whose value is kept as bytes.
    cdef bytes _value

    def __cinit__(self):
        self._value = b""

    cdef Py_ssize_t _value_size(self) except -1:
        return PyBytes_GET_SIZE(self._value)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(self._value)
        if n > room:
            return -2
        memcpy(p, PyBytes_AS_STRING(self._value), n)
        return n


cdef class CookieEchoChunk(_RawChunk):
    """COOKIE ECHO (RFC 9260 §3.3.11): ``cookie`` (aiortc: ``body``)."""

    _fields = ("flags", "cookie")

    def __cinit__(self):
        self._type = CT_COOKIE_ECHO

    def __init__(self, uint8_t flags=0, cookie=b""):
        self.flags = flags
        self._value = _as_bytes(cookie)

    @property
    def cookie(self) -> bytes:
        return self._value

    @cookie.setter
    def cookie(self, value):
        self._value = _as_bytes(value)

    @property
    def body(self) -> bytes:
        return self._value

    @body.setter
    def body(self, value):
        self._value = _as_bytes(value)

    @staticmethod
    def parse(data) -> CookieEchoChunk:
        return _parse_one(data, CT_COOKIE_ECHO)


cdef class UnknownChunk(_RawChunk):
    """A chunk type this codec does not model, kept raw; ``action`` is the
    RFC 9260 §3.2 action of its type's upper two bits."""

    _fields = ("type", "flags", "value")

    def __init__(self, uint8_t type, uint8_t flags=0, value=b""):
        self._type = type
        self.flags = flags
        self._value = _as_bytes(value)

    @property
    def value(self) -> bytes:
        return self._value

    @value.setter
    def value(self, v):
        self._value = _as_bytes(v)

    @property
    def action(self) -> int:
        return (self._type >> 6) & 3


cdef class ForwardTsnChunk(Chunk):
    """FORWARD TSN (RFC 3758 §3.2): ``streams`` = [(stream_id, stream_seq)]."""

    cdef public uint32_t cumulative_tsn
    cdef public list streams

    _fields = ("flags", "cumulative_tsn", "streams")

    def __cinit__(self):
        self._type = CT_FORWARD_TSN

    def __init__(self, uint8_t flags=0, uint32_t cumulative_tsn=0, streams=None):
        self.flags = flags
        self.cumulative_tsn = cumulative_tsn
        self.streams = list(streams) if streams is not None else []

    cdef Py_ssize_t _value_size(self) except -1:
        if self.streams is None:
            raise TypeError("ForwardTsnChunk.streams must be a list")
        return 4 + 4 * len(self.streams)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t pos = 4
        cdef uint16_t sid, ssn
        store_u32(p, self.cumulative_tsn)
        for entry in self.streams:
            sid, ssn = entry
            if pos + 4 > room:
                return -2
            store_u16(p + pos, sid)
            store_u16(p + pos + 2, ssn)
            pos += 4
        return pos

    @staticmethod
    def parse(data) -> ForwardTsnChunk:
        return _parse_one(data, CT_FORWARD_TSN)


cdef class IForwardTsnChunk(Chunk):
    """I-FORWARD-TSN (RFC 8260 §2.3.1): ``streams`` = [(stream_id, unordered,
    mid)]."""

    cdef public uint32_t cumulative_tsn
    cdef public list streams

    _fields = ("flags", "cumulative_tsn", "streams")

    def __cinit__(self):
        self._type = CT_I_FORWARD_TSN

    def __init__(self, uint8_t flags=0, uint32_t cumulative_tsn=0, streams=None):
        self.flags = flags
        self.cumulative_tsn = cumulative_tsn
        self.streams = list(streams) if streams is not None else []

    cdef Py_ssize_t _value_size(self) except -1:
        if self.streams is None:
            raise TypeError("IForwardTsnChunk.streams must be a list")
        return 4 + 8 * len(self.streams)

    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t pos = 4
        cdef uint16_t sid
        cdef uint32_t mid
        store_u32(p, self.cumulative_tsn)
        for entry in self.streams:
            sid, unordered, mid = entry
            if pos + 8 > room:
                return -2
            store_u16(p + pos, sid)
            # RFC 8260 §2.3.1: 15 reserved bits, then U.
            store_u16(p + pos + 2, 1 if unordered else 0)
            store_u32(p + pos + 4, mid)
            pos += 8
        return pos

    @staticmethod
    def parse(data) -> IForwardTsnChunk:
        return _parse_one(data, CT_I_FORWARD_TSN)


cdef class ReconfigChunk(_TlvChunk):
    """RE-CONFIG (RFC 6525 §3.1): ``params`` raw (type, value); ``requests``
    gives them as typed objects."""

    def __cinit__(self):
        self._type = CT_RE_CONFIG

    @property
    def requests(self) -> list:
        """The parameters as typed objects (unknown types stay (type, value))."""
        return [parse_reconfig_param(t, v) for t, v in self.params]

    @staticmethod
    def parse(data) -> ReconfigChunk:
        return _parse_one(data, CT_RE_CONFIG)


cdef Chunk _make_chunk(const uint8_t* p, Py_ssize_t length):
    # Build the chunk object of a checked chunk (check_chunk passed).
    cdef uint8_t t = p[0]
    cdef Py_ssize_t i, n, pos
    cdef DataChunk d
    cdef IDataChunk idata
    cdef BaseInitChunk init
    cdef SackChunk sack
    cdef _TlvChunk tlv
    cdef _RawChunk raw
    cdef ForwardTsnChunk fwd
    cdef IForwardTsnChunk ifwd
    cdef ShutdownChunk shut
    cdef Chunk c
    cdef list lst
    if t == CT_DATA:
        d = DataChunk.__new__(DataChunk)
        d.flags = p[1]
        d.tsn = load_u32(p + 4)
        d.stream_id = load_u16(p + 8)
        d.stream_seq = load_u16(p + 10)
        d.protocol = load_u32(p + 12)
        d._user_data = PyBytes_FromStringAndSize(<const char*>p + 16, length - 16)
        return d
    if t == CT_I_DATA:
        idata = IDataChunk.__new__(IDataChunk)
        idata.flags = p[1]
        idata.tsn = load_u32(p + 4)
        idata.stream_id = load_u16(p + 8)
        idata.mid = load_u32(p + 12)
        if p[1] & FLAG_BEGINNING:
            idata.protocol = load_u32(p + 16)
        else:
            idata.fsn = load_u32(p + 16)
        idata._user_data = PyBytes_FromStringAndSize(<const char*>p + 20, length - 20)
        return idata
    if t == CT_SACK:
        sack = SackChunk.__new__(SackChunk)
        sack.flags = p[1]
        sack.cumulative_tsn = sack_cumulative_tsn(p)
        sack.advertised_rwnd = sack_advertised_rwnd(p)
        # Counts re-clamped to the length (the check ran on these bytes).
        n = min(<Py_ssize_t>sack_gap_count(p), (length - 16) // 4)
        lst = [None] * n
        for i in range(n):
            lst[i] = (sack_gap_start(p, i), sack_gap_end(p, i))
        sack.gaps = lst
        n = min(<Py_ssize_t>sack_dup_count(p), (length - 16) // 4 - len(sack.gaps))
        lst = [None] * n
        for i in range(n):
            lst[i] = sack_dup_tsn(p, i)
        sack.duplicates = lst
        return sack
    if t == CT_INIT or t == CT_INIT_ACK:
        init = (InitChunk.__new__(InitChunk) if t == CT_INIT
                else InitAckChunk.__new__(InitAckChunk))
        init.flags = p[1]
        init.initiate_tag = load_u32(p + 4)
        init.advertised_rwnd = load_u32(p + 8)
        init.outbound_streams = load_u16(p + 12)
        init.inbound_streams = load_u16(p + 14)
        init.initial_tsn = load_u32(p + 16)
        init.params = _tlv_parse(p, INIT_HEADER_SIZE, length)
        return init
    if (t == CT_HEARTBEAT or t == CT_HEARTBEAT_ACK or t == CT_ABORT
            or t == CT_ERROR or t == CT_RE_CONFIG):
        if t == CT_HEARTBEAT:
            tlv = HeartbeatChunk.__new__(HeartbeatChunk)
        elif t == CT_HEARTBEAT_ACK:
            tlv = HeartbeatAckChunk.__new__(HeartbeatAckChunk)
        elif t == CT_ABORT:
            tlv = AbortChunk.__new__(AbortChunk)
        elif t == CT_ERROR:
            tlv = ErrorChunk.__new__(ErrorChunk)
        else:
            tlv = ReconfigChunk.__new__(ReconfigChunk)
        tlv.flags = p[1]
        tlv.params = _tlv_parse(p, 4, length)
        return tlv
    if t == CT_SHUTDOWN:
        shut = ShutdownChunk.__new__(ShutdownChunk)
        shut.flags = p[1]
        shut.cumulative_tsn = load_u32(p + 4)
        return shut
    if t == CT_SHUTDOWN_ACK or t == CT_COOKIE_ACK or t == CT_SHUTDOWN_COMPLETE:
        if t == CT_SHUTDOWN_ACK:
            c = ShutdownAckChunk.__new__(ShutdownAckChunk)
        elif t == CT_COOKIE_ACK:
            c = CookieAckChunk.__new__(CookieAckChunk)
        else:
            c = ShutdownCompleteChunk.__new__(ShutdownCompleteChunk)
        c.flags = p[1]
        return c
    if t == CT_FORWARD_TSN:
        fwd = ForwardTsnChunk.__new__(ForwardTsnChunk)
        fwd.flags = p[1]
        fwd.cumulative_tsn = load_u32(p + 4)
        lst = []
        pos = 8
        while pos + 4 <= length:
            lst.append((load_u16(p + pos), load_u16(p + pos + 2)))
            pos += 4
        fwd.streams = lst
        return fwd
    if t == CT_I_FORWARD_TSN:
        ifwd = IForwardTsnChunk.__new__(IForwardTsnChunk)
        ifwd.flags = p[1]
        ifwd.cumulative_tsn = load_u32(p + 4)
        lst = []
        pos = 8
        while pos + 8 <= length:
            lst.append((load_u16(p + pos), bool(p[pos + 3] & 1), load_u32(p + pos + 4)))
            pos += 8
        ifwd.streams = lst
        return ifwd
    if t == CT_COOKIE_ECHO:
        raw = CookieEchoChunk.__new__(CookieEchoChunk)
    else:
        raw = UnknownChunk.__new__(UnknownChunk)
        raw._type = t
    raw.flags = p[1]
    raw._value = PyBytes_FromStringAndSize(<const char*>p + 4, length - 4)
    return raw


# ---------------------------------------------------------------- RE-CONFIG

cdef class OutgoingSsnResetRequest:
    """RFC 6525 §4.1 (type 13); aiortc: ``StreamResetOutgoingParam``."""

    cdef public uint32_t request_sequence
    cdef public uint32_t response_sequence
    cdef public uint32_t last_tsn
    cdef public list streams

    param_type = PT_OUTGOING_SSN_RESET

    def __init__(self, uint32_t request_sequence=0, uint32_t response_sequence=0,
                 uint32_t last_tsn=0, streams=None):
        self.request_sequence = request_sequence
        self.response_sequence = response_sequence
        self.last_tsn = last_tsn
        self.streams = list(streams) if streams is not None else []

    def __bytes__(self) -> bytes:
        cdef bytearray b = bytearray(12 + 2 * len(self.streams))
        cdef uint8_t* p = <uint8_t*>PyByteArray_AS_STRING(b)
        cdef Py_ssize_t pos = 12
        cdef uint16_t s
        store_u32(p, self.request_sequence)
        store_u32(p + 4, self.response_sequence)
        store_u32(p + 8, self.last_tsn)
        for sid in self.streams:
            s = sid
            if pos + 2 > len(b):
                raise ValueError("streams changed while marshalling")
            store_u16(p + pos, s)
            pos += 2
        return bytes(b)

    @classmethod
    def parse(cls, data) -> OutgoingSsnResetRequest:
        return parse_reconfig_param(PT_OUTGOING_SSN_RESET, data)

    def to_param(self) -> tuple:
        return (PT_OUTGOING_SSN_RESET, bytes(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"OutgoingSsnResetRequest(request_sequence={self.request_sequence}, "
                f"response_sequence={self.response_sequence}, last_tsn={self.last_tsn}, "
                f"streams={self.streams!r})")


cdef class IncomingSsnResetRequest:
    """RFC 6525 §4.2 (type 14)."""

    cdef public uint32_t request_sequence
    cdef public list streams

    param_type = PT_INCOMING_SSN_RESET

    def __init__(self, uint32_t request_sequence=0, streams=None):
        self.request_sequence = request_sequence
        self.streams = list(streams) if streams is not None else []

    def __bytes__(self) -> bytes:
        cdef bytearray b = bytearray(4 + 2 * len(self.streams))
        cdef uint8_t* p = <uint8_t*>PyByteArray_AS_STRING(b)
        cdef Py_ssize_t pos = 4
        cdef uint16_t s
        store_u32(p, self.request_sequence)
        for sid in self.streams:
            s = sid
            if pos + 2 > len(b):
                raise ValueError("streams changed while marshalling")
            store_u16(p + pos, s)
            pos += 2
        return bytes(b)

    @classmethod
    def parse(cls, data) -> IncomingSsnResetRequest:
        return parse_reconfig_param(PT_INCOMING_SSN_RESET, data)

    def to_param(self) -> tuple:
        return (PT_INCOMING_SSN_RESET, bytes(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"IncomingSsnResetRequest(request_sequence={self.request_sequence}, "
                f"streams={self.streams!r})")


cdef class SsnTsnResetRequest:
    """RFC 6525 §4.3 (type 15)."""

    cdef public uint32_t request_sequence

    param_type = PT_SSN_TSN_RESET

    def __init__(self, uint32_t request_sequence=0):
        self.request_sequence = request_sequence

    def __bytes__(self) -> bytes:
        cdef bytearray b = bytearray(4)
        store_u32(<uint8_t*>PyByteArray_AS_STRING(b), self.request_sequence)
        return bytes(b)

    @classmethod
    def parse(cls, data) -> SsnTsnResetRequest:
        return parse_reconfig_param(PT_SSN_TSN_RESET, data)

    def to_param(self) -> tuple:
        return (PT_SSN_TSN_RESET, bytes(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"SsnTsnResetRequest(request_sequence={self.request_sequence})"


cdef class ReconfigResponse:
    """RFC 6525 §4.4 (type 16); aiortc: ``StreamResetResponseParam``.  The
    two next-TSN fields are present together or not at all (None)."""

    cdef public uint32_t response_sequence
    cdef public uint32_t result
    cdef public object sender_next_tsn
    cdef public object receiver_next_tsn

    param_type = PT_RECONFIG_RESPONSE

    def __init__(self, uint32_t response_sequence=0, uint32_t result=0,
                 sender_next_tsn=None, receiver_next_tsn=None):
        self.response_sequence = response_sequence
        self.result = result
        self.sender_next_tsn = sender_next_tsn
        self.receiver_next_tsn = receiver_next_tsn

    def __bytes__(self) -> bytes:
        cdef bint tsns = self.sender_next_tsn is not None or self.receiver_next_tsn is not None
        cdef bytearray b = bytearray(16 if tsns else 8)
        cdef uint8_t* p = <uint8_t*>PyByteArray_AS_STRING(b)
        store_u32(p, self.response_sequence)
        store_u32(p + 4, self.result)
        if tsns:
            store_u32(p + 8, <uint32_t>(self.sender_next_tsn or 0))
            store_u32(p + 12, <uint32_t>(self.receiver_next_tsn or 0))
        return bytes(b)

    @classmethod
    def parse(cls, data) -> ReconfigResponse:
        return parse_reconfig_param(PT_RECONFIG_RESPONSE, data)

    def to_param(self) -> tuple:
        return (PT_RECONFIG_RESPONSE, bytes(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"ReconfigResponse(response_sequence={self.response_sequence}, "
                f"result={self.result}, sender_next_tsn={self.sender_next_tsn!r}, "
                f"receiver_next_tsn={self.receiver_next_tsn!r})")


cdef class AddStreamsRequest:
    """RFC 6525 §4.5 Add Outgoing Streams (type 17, aiortc:
    ``StreamAddOutgoingParam``) / §4.6 Add Incoming Streams (type 18)."""

    cdef public uint32_t request_sequence
    cdef public uint16_t new_streams
    cdef public bint incoming

    def __init__(self, uint32_t request_sequence=0, uint16_t new_streams=0,
                 bint incoming=False):
        self.request_sequence = request_sequence
        self.new_streams = new_streams
        self.incoming = incoming

    @property
    def param_type(self) -> int:
        return PT_ADD_INCOMING_STREAMS if self.incoming else PT_ADD_OUTGOING_STREAMS

    def __bytes__(self) -> bytes:
        cdef bytearray b = bytearray(8)
        cdef uint8_t* p = <uint8_t*>PyByteArray_AS_STRING(b)
        store_u32(p, self.request_sequence)
        store_u16(p + 4, self.new_streams)
        return bytes(b)  # RFC 6525 §4.5: 2 reserved bytes, zero

    @classmethod
    def parse(cls, data, bint incoming=False) -> AddStreamsRequest:
        return parse_reconfig_param(
            PT_ADD_INCOMING_STREAMS if incoming else PT_ADD_OUTGOING_STREAMS, data)

    def to_param(self) -> tuple:
        return (self.param_type, bytes(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.incoming == (<AddStreamsRequest>other).incoming and bytes(self) == bytes(other)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"AddStreamsRequest(request_sequence={self.request_sequence}, "
                f"new_streams={self.new_streams}, incoming={self.incoming})")


# aiortc's names for the same parameters.
StreamResetOutgoingParam = OutgoingSsnResetRequest
StreamResetResponseParam = ReconfigResponse
StreamAddOutgoingParam = AddStreamsRequest


def parse_reconfig_param(int param_type, data):
    """The typed object of an RFC 6525 parameter value (TLV header excluded);
    unknown types come back as (type, value)."""
    cdef InputView v = InputView()
    cdef const uint8_t* p
    cdef Py_ssize_t n, i
    cdef list streams
    v.acquire(data)
    p = v.ptr
    n = v.length
    _check_reconfig_param(<uint16_t>param_type, n)
    if param_type == PT_OUTGOING_SSN_RESET:
        streams = [load_u16(p + 12 + 2 * i) for i in range((n - 12) // 2)]
        return OutgoingSsnResetRequest(load_u32(p), load_u32(p + 4), load_u32(p + 8), streams)
    if param_type == PT_INCOMING_SSN_RESET:
        streams = [load_u16(p + 4 + 2 * i) for i in range((n - 4) // 2)]
        return IncomingSsnResetRequest(load_u32(p), streams)
    if param_type == PT_SSN_TSN_RESET:
        return SsnTsnResetRequest(load_u32(p))
    if param_type == PT_RECONFIG_RESPONSE:
        if n == 16:
            return ReconfigResponse(load_u32(p), load_u32(p + 4), load_u32(p + 8),
                                    load_u32(p + 12))
        return ReconfigResponse(load_u32(p), load_u32(p + 4))
    if param_type == PT_ADD_OUTGOING_STREAMS or param_type == PT_ADD_INCOMING_STREAMS:
        return AddStreamsRequest(load_u32(p), load_u16(p + 4),
                                 param_type == PT_ADD_INCOMING_STREAMS)
    return (param_type, bytes_of(data))


# ---------------------------------------------------------------- packets

cdef class Packet:
    """An SCTP packet (RFC 9260 §3): common header + chunks.

    A parsed packet holds its input (a buffer export for non-bytes input, so
    a bytearray cannot be resized meanwhile) until ``chunks`` is read, which
    copies what it needs, or until the next ``parse_into``."""

    def __init__(self, uint16_t source_port=0, uint16_t destination_port=0,
                 uint32_t verification_tag=0, chunks=None):
        self.source_port = source_port
        self.destination_port = destination_port
        self.verification_tag = verification_tag
        self.checksum = 0
        self._chunks = list(chunks) if chunks is not None else []
        self._count = len(self._chunks)

    cdef int _parse(self, object data, bint verify) except -1:
        cdef const uint8_t* p
        cdef Py_ssize_t n
        cdef object src
        if type(data) is bytes:
            p = <const uint8_t*>PyBytes_AS_STRING(data)
            n = PyBytes_GET_SIZE(data)
            src = data
        else:
            if self._view is None:
                self._view = InputView()
            self._view.acquire(data)
            p = self._view.ptr
            n = self._view.length
            src = self._view
        if n < COMMON_HEADER_SIZE:
            return _short("SCTP packet", COMMON_HEADER_SIZE, n)
        # RFC 9260 §6.8: a packet with a bad checksum is silently discarded.
        if verify and packet_crc(p, n) != _stored_crc(p):
            return _bad(f"SCTP packet has a bad checksum: stored 0x{_stored_crc(p):08x}, "
                        f"computed 0x{packet_crc(p, n):08x}")
        self._count = _walk(p, n, NULL, 0, True)
        self.source_port = load_u16(p)
        self.destination_port = load_u16(p + 2)
        self.verification_tag = load_u32(p + 4)
        self.checksum = _stored_crc(p)
        self._src = src
        self._ptr = p
        self._len = n
        self._chunks = None
        return 0

    @staticmethod
    def parse(data, bint verify_checksum=True) -> Packet:
        """Parse and check a packet; ``verify_checksum=False`` skips the
        CRC-32c (e.g. when DTLS already authenticated it)."""
        cdef Packet pkt = Packet.__new__(Packet)
        pkt._parse(data, verify_checksum)
        return pkt

    def parse_into(self, data, bint verify_checksum=True) -> None:
        """Re-parse ``data`` into this object (allocates nothing)."""
        self._parse(data, verify_checksum)

    @property
    def chunk_count(self) -> int:
        return self._count if self._chunks is None else len(self._chunks)

    @property
    def chunks(self) -> list:
        cdef list out
        if self._chunks is None:
            # Re-check while building: a mutable input may have changed.
            out = []
            if self._ptr != NULL:
                _walk(self._ptr, self._len, NULL, 0, True, out)
            self._chunks = out
            self._src = None
            self._ptr = NULL
            self._len = 0
            if self._view is not None:
                self._view.release()
        return self._chunks

    @chunks.setter
    def chunks(self, value):
        self._chunks = list(value)
        self._src = None
        self._ptr = NULL
        self._len = 0

    cdef Py_ssize_t _size(self) except -1:
        cdef Py_ssize_t total = COMMON_HEADER_SIZE
        for c in self.chunks:
            total += (<Chunk?>c).size()
        return total

    cdef Py_ssize_t _write(self, uint8_t* p, Py_ssize_t room) except -1:
        cdef Py_ssize_t pos = COMMON_HEADER_SIZE
        if room < COMMON_HEADER_SIZE:
            raise ValueError("buffer too small for the SCTP common header")
        store_u16(p, self.source_port)
        store_u16(p + 2, self.destination_port)
        store_u32(p + 4, self.verification_tag)
        for c in self.chunks:
            pos += (<Chunk?>c).write(p + pos, room - pos)
        _store_crc(p, packet_crc(p, pos))
        return pos

    def marshal_size(self) -> int:
        return self._size()

    def marshal_into(self, buf, Py_ssize_t offset=0) -> int:
        """Write the packet (checksum computed) into ``buf`` at ``offset``."""
        cdef Py_ssize_t n = self._size()
        cdef OutputView out = OutputView()
        out.acquire(buf, offset, n)
        try:
            return self._write(out.ptr, n)
        finally:
            out.release()

    def marshal(self) -> bytes:
        cdef Py_ssize_t n = self._size()
        cdef bytes b = PyBytes_FromStringAndSize(NULL, n)
        self._write(<uint8_t*>PyBytes_AS_STRING(b), n)
        return b

    def serialize(self) -> bytes:
        return self.marshal()

    def __bytes__(self) -> bytes:
        return self.marshal()

    def __repr__(self) -> str:
        return (f"Packet(source_port={self.source_port}, "
                f"destination_port={self.destination_port}, "
                f"verification_tag={self.verification_tag}, chunks={self.chunks!r})")


def parse_packet(data, bint verify_checksum=True):
    """aiortc's shape: (source_port, destination_port, verification_tag,
    chunks); raises ParseError (a ValueError, as aiortc raises)."""
    cdef Packet pkt = Packet.parse(data, verify_checksum)
    return pkt.source_port, pkt.destination_port, pkt.verification_tag, pkt.chunks


def verify_checksum(data) -> bool:
    """True when the packet's CRC-32c (RFC 9260 §6.8) is right."""
    cdef InputView v = InputView()
    v.acquire(data)
    return checksum_ok(v.ptr, v.length)


def walk_chunks(data, out) -> int:
    """Check the chunk framing of a packet (checksum not verified: call
    ``verify_checksum`` first) and write 4 int32 per chunk into ``out`` (a
    writable buffer of 32-bit ints: ``array('i')``, ``numpy.int32``):
    type, flags, offset of the chunk header, Chunk Length.  Returns the chunk
    count; ParseError on bad framing, ValueError when ``out`` is too small."""
    cdef InputView v = InputView()
    cdef Py_buffer ob
    cdef Py_ssize_t count
    cdef bytes fmt
    v.acquire(data)
    PyObject_GetBuffer(out, &ob, PyBUF_WRITABLE | PyBUF_FORMAT)
    try:
        fmt = ob.format if ob.format != NULL else b"B"
        if ob.itemsize != 4 or fmt.lstrip(b"@=<>!")[:1] not in (b"i", b"I", b"l", b"L"):
            raise TypeError(f"walk_chunks: out must hold 32-bit ints, got format {fmt!r}")
        count = walk_chunks_c(v.ptr, v.length, <int32_t*>ob.buf, ob.len // 16)
    finally:
        PyBuffer_Release(&ob)
    return count


# ---------------------------------------------------------------- writer

cdef class PacketWriter:
    """Bundle chunks into one preallocated buffer, then ``finish()`` stores
    the CRC-32c.  ``mtu`` is the largest SCTP packet (common header
    included) it builds; ``add_*`` return False when the chunk does not fit
    in what is left (nothing written), so the caller sends and begins anew."""

    def __init__(self, Py_ssize_t mtu=1200, buf=None, Py_ssize_t offset=0):
        if mtu < COMMON_HEADER_SIZE + CHUNK_HEADER_SIZE:
            raise ValueError(f"mtu must be >= 16, got {mtu}")
        self._out = OutputView()
        if buf is None:
            self._own = bytearray(mtu)
            buf = self._own
        self._out.acquire(buf, offset, mtu)
        self._base = self._out.ptr
        self._cap = mtu
        self._pos = 0
        self._open = False

    cdef int _start(self) except -1:
        if not self._open:
            raise ValueError("PacketWriter: call begin() first")
        return 0

    cdef int begin_c(self, uint16_t src, uint16_t dst, uint32_t vtag) except -1:
        store_u16(self._base, src)
        store_u16(self._base + 2, dst)
        store_u32(self._base + 4, vtag)
        store_u32(self._base + 8, 0)
        self._pos = COMMON_HEADER_SIZE
        self._chunks = 0
        self._open = True
        return 0

    cdef bint _fits(self, Py_ssize_t total) noexcept:
        return total <= self._cap - self._pos

    cdef int add_data_c(self, uint8_t flags, uint32_t tsn, uint16_t stream_id,
                        uint16_t stream_seq, uint32_t ppid,
                        const uint8_t* user, Py_ssize_t n) except -1:
        cdef uint8_t* p
        cdef Py_ssize_t length = DATA_HEADER_SIZE + n
        self._start()
        if n <= 0 or length > 0xFFFF:
            # RFC 9260 §6.2: a DATA chunk carries at least one byte.
            raise ValueError(f"DATA user data must be 1..65519 bytes, got {n}")
        if not self._fits(length + pad4(length)):
            return 0
        p = self._base + self._pos
        p[0] = CT_DATA
        p[1] = flags
        store_u16(p + 2, <uint16_t>length)
        store_u32(p + 4, tsn)
        store_u16(p + 8, stream_id)
        store_u16(p + 10, stream_seq)
        store_u32(p + 12, ppid)
        memcpy(p + 16, user, n)
        memset(p + length, 0, pad4(length))
        self._pos += length + pad4(length)
        self._chunks += 1
        return 1

    cdef int add_idata_c(self, uint8_t flags, uint32_t tsn, uint16_t stream_id,
                         uint32_t mid, uint32_t ppid_or_fsn,
                         const uint8_t* user, Py_ssize_t n) except -1:
        cdef uint8_t* p
        cdef Py_ssize_t length = IDATA_HEADER_SIZE + n
        self._start()
        if n <= 0 or length > 0xFFFF:
            raise ValueError(f"I-DATA user data must be 1..65515 bytes, got {n}")
        if not self._fits(length + pad4(length)):
            return 0
        p = self._base + self._pos
        p[0] = CT_I_DATA
        p[1] = flags
        store_u16(p + 2, <uint16_t>length)
        store_u32(p + 4, tsn)
        store_u16(p + 8, stream_id)
        store_u16(p + 10, 0)
        store_u32(p + 12, mid)
        store_u32(p + 16, ppid_or_fsn)
        memcpy(p + 20, user, n)
        memset(p + length, 0, pad4(length))
        self._pos += length + pad4(length)
        self._chunks += 1
        return 1

    cdef int add_sack_c(self, uint32_t cumulative_tsn, uint32_t rwnd,
                        const uint16_t* gaps, Py_ssize_t ngaps,
                        const uint32_t* dups, Py_ssize_t ndups) except -1:
        cdef uint8_t* p
        cdef Py_ssize_t i, length = SACK_HEADER_SIZE + 4 * (ngaps + ndups)
        self._start()
        if ngaps < 0 or ndups < 0 or ngaps > 0xFFFF or ndups > 0xFFFF or length > 0xFFFF:
            raise ValueError("SACK: too many gap blocks or duplicate TSNs")
        if not self._fits(length):
            return 0
        p = self._base + self._pos
        p[0] = CT_SACK
        p[1] = 0
        store_u16(p + 2, <uint16_t>length)
        store_u32(p + 4, cumulative_tsn)
        store_u32(p + 8, rwnd)
        store_u16(p + 12, <uint16_t>ngaps)
        store_u16(p + 14, <uint16_t>ndups)
        for i in range(ngaps):
            store_u16(p + 16 + 4 * i, gaps[2 * i])
            store_u16(p + 18 + 4 * i, gaps[2 * i + 1])
        for i in range(ndups):
            store_u32(p + 16 + 4 * (ngaps + i), dups[i])
        self._pos += length
        self._chunks += 1
        return 1

    cdef int add_forward_tsn_c(self, uint32_t cumulative_tsn,
                               const uint16_t* streams, Py_ssize_t nstreams) except -1:
        cdef uint8_t* p
        cdef Py_ssize_t i, length = 8 + 4 * nstreams
        self._start()
        if nstreams < 0 or length > 0xFFFF:
            raise ValueError("FORWARD TSN: too many streams")
        if not self._fits(length):
            return 0
        p = self._base + self._pos
        p[0] = CT_FORWARD_TSN
        p[1] = 0
        store_u16(p + 2, <uint16_t>length)
        store_u32(p + 4, cumulative_tsn)
        for i in range(nstreams):
            store_u16(p + 8 + 4 * i, streams[2 * i])
            store_u16(p + 10 + 4 * i, streams[2 * i + 1])
        self._pos += length
        self._chunks += 1
        return 1

    cdef int add_raw_c(self, uint8_t ctype, uint8_t flags,
                       const uint8_t* value, Py_ssize_t n) except -1:
        cdef uint8_t* p
        cdef Py_ssize_t length = CHUNK_HEADER_SIZE + n
        self._start()
        if n < 0 or length > 0xFFFF:
            raise ValueError(f"chunk value too long: {n} bytes")
        if not self._fits(length + pad4(length)):
            return 0
        p = self._base + self._pos
        p[0] = ctype
        p[1] = flags
        store_u16(p + 2, <uint16_t>length)
        if n:
            memcpy(p + 4, value, n)
        memset(p + length, 0, pad4(length))
        self._pos += length + pad4(length)
        self._chunks += 1
        return 1

    cdef Py_ssize_t finish_c(self) except -1:
        self._start()
        _store_crc(self._base, packet_crc(self._base, self._pos))
        self._open = False
        return self._pos

    # ---- Python API

    def begin(self, uint16_t source_port, uint16_t destination_port,
              uint32_t verification_tag) -> None:
        """Start a packet: write the common header (checksum to come)."""
        self.begin_c(source_port, destination_port, verification_tag)

    def add_data(self, uint32_t tsn, uint16_t stream_id, uint16_t stream_seq,
                 uint32_t protocol, user_data, uint8_t flags=FLAG_BEGINNING | FLAG_END) -> bool:
        cdef const uint8_t* p
        cdef Py_ssize_t n
        cdef InputView v
        if type(user_data) is bytes:
            p = <const uint8_t*>PyBytes_AS_STRING(user_data)
            n = PyBytes_GET_SIZE(user_data)
            return self.add_data_c(flags, tsn, stream_id, stream_seq, protocol, p, n) == 1
        v = InputView()
        v.acquire(user_data)
        return self.add_data_c(flags, tsn, stream_id, stream_seq, protocol,
                               v.ptr, v.length) == 1

    def add_idata(self, uint32_t tsn, uint16_t stream_id, uint32_t mid, uint32_t fsn,
                  uint32_t protocol, user_data, uint8_t flags=FLAG_BEGINNING | FLAG_END) -> bool:
        cdef InputView v = InputView()
        v.acquire(user_data)
        # RFC 8260 §2.1: PPID in the first fragment, FSN in the others.
        return self.add_idata_c(flags, tsn, stream_id, mid,
                                protocol if flags & FLAG_BEGINNING else fsn,
                                v.ptr, v.length) == 1

    def add_sack(self, uint32_t cumulative_tsn, uint32_t advertised_rwnd,
                 gaps=(), duplicates=()) -> bool:
        cdef Py_ssize_t ng = len(gaps), nd = len(duplicates), i
        cdef uint16_t g[256]
        cdef uint32_t d[128]
        if ng > 128 or nd > 128:
            chunk = SackChunk(0, cumulative_tsn, advertised_rwnd, gaps, duplicates)
            return self.add_chunk(chunk)
        for i in range(ng):
            g[2 * i] = gaps[i][0]
            g[2 * i + 1] = gaps[i][1]
        for i in range(nd):
            d[i] = duplicates[i]
        return self.add_sack_c(cumulative_tsn, advertised_rwnd, g, ng, d, nd) == 1

    def add_forward_tsn(self, uint32_t cumulative_tsn, streams=()) -> bool:
        chunk = ForwardTsnChunk(0, cumulative_tsn, streams)
        return self.add_chunk(chunk)

    def add_chunk(self, Chunk chunk not None) -> bool:
        """Add any chunk object."""
        cdef Py_ssize_t n
        self._start()
        n = chunk.size()
        if not self._fits(n):
            return False
        self._pos += chunk.write(self._base + self._pos, n)
        self._chunks += 1
        return True

    def add_raw(self, uint8_t chunk_type, uint8_t flags, value=b"") -> bool:
        """Add a chunk from its type, flags and value bytes."""
        cdef InputView v = InputView()
        v.acquire(value)
        return self.add_raw_c(chunk_type, flags, v.ptr, v.length) == 1

    def finish(self) -> int:
        """Store the checksum; return the packet length."""
        return self.finish_c()

    @property
    def remaining(self) -> int:
        """Bytes left in the budget for chunks (padding included)."""
        return self._cap - self._pos if self._open else 0

    @property
    def length(self) -> int:
        return self._pos

    @property
    def chunk_count(self) -> int:
        return self._chunks

    @property
    def mtu(self) -> int:
        return self._cap

    def getvalue(self) -> bytes:
        """A copy of the packet built so far (finished or not)."""
        return PyBytes_FromStringAndSize(<const char*>self._base, self._pos)
