# SCTP packet and chunk codec (RFC 9260, RFC 3758, RFC 6525, RFC 8260).
#
# What the association (a later Cython module) cimports from here:
#
# * ``checksum_ok(p, n)``: verify the CRC-32c of a packet in place.
# * ``walk_chunks_c(p, n, out, cap)``: check the chunk framing of a packet and
#   write (type, flags, offset, length) per chunk into a C int32 array; no
#   Python object per chunk.
# * ``check_chunk(p, length)``: the per-type structure check that
#   ``Packet.parse`` runs on every chunk (raises ``ParseError``).
# * ``read_data(p, length, &out)``, ``data_*``/``sack_*`` inline loads: DATA
#   and SACK fields straight from the wire bytes.
# * ``PacketWriter``: bundle chunks into a preallocated buffer and finish it
#   with the CRC; ``add_*_c`` methods are plain C calls.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t
from rtcengine._core.buffer cimport InputView, OutputView, load_u16, load_u32


# RFC 9260 §3.1: the common header is 12 bytes; §3.2: a chunk header 4.
cdef enum:
    COMMON_HEADER_SIZE = 12
    CHUNK_HEADER_SIZE = 4
    DATA_HEADER_SIZE = 16       # RFC 9260 §3.3.1: header + TSN/SID/SSN/PPID
    IDATA_HEADER_SIZE = 20      # RFC 8260 §2.1: header + TSN/SID/MID/PPID|FSN
    SACK_HEADER_SIZE = 16       # RFC 9260 §3.3.4
    INIT_HEADER_SIZE = 20       # RFC 9260 §3.3.2


# The fields of one DATA (or I-DATA) chunk; user data is a window of the
# packet, [user_offset, user_offset + user_length) from the chunk start.
ctypedef struct data_fields_t:
    uint8_t flags
    uint32_t tsn
    uint16_t stream_id
    uint16_t stream_seq      # DATA: SSN; I-DATA: 0
    uint32_t mid             # I-DATA: Message Identifier; DATA: 0
    uint32_t fsn             # I-DATA: Fragment Sequence Number; DATA: 0
    uint32_t ppid            # I-DATA: only with B set, else 0
    Py_ssize_t user_offset
    Py_ssize_t user_length


# RFC 9260 §3.3.1 DATA fields, loaded from a chunk start ``p`` whose length the
# caller checked (``check_chunk`` or ``read_data``).
cdef inline uint32_t data_tsn(const uint8_t* p) noexcept nogil:
    return load_u32(p + 4)

cdef inline uint16_t data_stream_id(const uint8_t* p) noexcept nogil:
    return load_u16(p + 8)

cdef inline uint16_t data_stream_seq(const uint8_t* p) noexcept nogil:
    return load_u16(p + 10)

cdef inline uint32_t data_ppid(const uint8_t* p) noexcept nogil:
    return load_u32(p + 12)

# RFC 9260 §3.3.4 SACK fields.
cdef inline uint32_t sack_cumulative_tsn(const uint8_t* p) noexcept nogil:
    return load_u32(p + 4)

cdef inline uint32_t sack_advertised_rwnd(const uint8_t* p) noexcept nogil:
    return load_u32(p + 8)

cdef inline uint16_t sack_gap_count(const uint8_t* p) noexcept nogil:
    return load_u16(p + 12)

cdef inline uint16_t sack_dup_count(const uint8_t* p) noexcept nogil:
    return load_u16(p + 14)

# Gap Ack Block ``i`` (start, end offsets from the cumulative TSN).
cdef inline uint16_t sack_gap_start(const uint8_t* p, Py_ssize_t i) noexcept nogil:
    return load_u16(p + 16 + 4 * i)

cdef inline uint16_t sack_gap_end(const uint8_t* p, Py_ssize_t i) noexcept nogil:
    return load_u16(p + 18 + 4 * i)

cdef inline uint32_t sack_dup_tsn(const uint8_t* p, Py_ssize_t i) noexcept nogil:
    return load_u32(p + 16 + 4 * (<Py_ssize_t>sack_gap_count(p) + i))


# True when the CRC-32c in bytes 8..11 of a packet of ``n`` >= 12 bytes is
# right (RFC 9260 §6.8); computed in place, without copying.
cdef bint checksum_ok(const uint8_t* p, Py_ssize_t n) noexcept nogil
# The CRC-32c of a packet, as if bytes 8..11 were zero.
cdef uint32_t packet_crc(const uint8_t* p, Py_ssize_t n) noexcept nogil

# Check the framing of the chunks of a packet of ``n`` bytes (after the common
# header) and store 4 int32 per chunk: type, flags, offset, length (the Chunk
# Length field, padding excluded).  Returns the chunk count; raises ParseError
# on bad framing, ValueError when more than ``cap`` chunks.
cdef Py_ssize_t walk_chunks_c(const uint8_t* p, Py_ssize_t n, int32_t* out,
                              Py_ssize_t cap) except -1

# The per-type structure check of one chunk at ``p`` with Chunk Length
# ``length`` (bytes p[0:length] readable).  Raises ParseError.
cdef int check_chunk(const uint8_t* p, Py_ssize_t length) except -1

# Check a DATA or I-DATA chunk and load its fields.  Raises ParseError.
cdef int read_data(const uint8_t* p, Py_ssize_t length, data_fields_t* out) except -1


cdef class Chunk:
    cdef public uint8_t flags
    cdef uint8_t _type
    cdef Py_ssize_t _value_size(self) except -1
    cdef Py_ssize_t _write_value(self, uint8_t* p, Py_ssize_t room) except -1
    cdef Py_ssize_t size(self) except -1
    cdef Py_ssize_t write(self, uint8_t* p, Py_ssize_t room) except -1


cdef class Packet:
    cdef public uint16_t source_port
    cdef public uint16_t destination_port
    cdef public uint32_t verification_tag
    cdef public uint32_t checksum
    cdef InputView _view        # reused export of a non-bytes input
    cdef object _src            # what _ptr points into (bytes or _view)
    cdef const uint8_t* _ptr    # the parsed packet, until chunks are built
    cdef Py_ssize_t _len
    cdef list _chunks           # None until asked for (parsed) or given
    cdef Py_ssize_t _count
    cdef int _parse(self, object data, bint verify) except -1
    cdef Py_ssize_t _size(self) except -1
    cdef Py_ssize_t _write(self, uint8_t* p, Py_ssize_t room) except -1


cdef class PacketWriter:
    cdef OutputView _out
    cdef object _own
    cdef uint8_t* _base
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _pos
    cdef Py_ssize_t _chunks
    cdef bint _open
    cdef int _start(self) except -1
    cdef bint _fits(self, Py_ssize_t total) noexcept
    cdef int begin_c(self, uint16_t src, uint16_t dst, uint32_t vtag) except -1
    # The add_*_c methods return 1 when the chunk was added, 0 when it does
    # not fit in the remaining budget (nothing written), -1 on error.
    cdef int add_data_c(self, uint8_t flags, uint32_t tsn, uint16_t stream_id,
                        uint16_t stream_seq, uint32_t ppid,
                        const uint8_t* user, Py_ssize_t n) except -1
    cdef int add_idata_c(self, uint8_t flags, uint32_t tsn, uint16_t stream_id,
                         uint32_t mid, uint32_t ppid_or_fsn,
                         const uint8_t* user, Py_ssize_t n) except -1
    cdef int add_sack_c(self, uint32_t cumulative_tsn, uint32_t rwnd,
                        const uint16_t* gaps, Py_ssize_t ngaps,
                        const uint32_t* dups, Py_ssize_t ndups) except -1
    cdef int add_forward_tsn_c(self, uint32_t cumulative_tsn,
                               const uint16_t* streams, Py_ssize_t nstreams) except -1
    cdef int add_raw_c(self, uint8_t ctype, uint8_t flags,
                       const uint8_t* value, Py_ssize_t n) except -1
    cdef Py_ssize_t finish_c(self) except -1


# Chunk types (RFC 9260 §3.2 table, and the extensions WebRTC uses).
cdef enum:
    CT_DATA = 0                 # RFC 9260 §3.3.1
    CT_INIT = 1                 # RFC 9260 §3.3.2
    CT_INIT_ACK = 2             # RFC 9260 §3.3.3
    CT_SACK = 3                 # RFC 9260 §3.3.4
    CT_HEARTBEAT = 4            # RFC 9260 §3.3.5
    CT_HEARTBEAT_ACK = 5        # RFC 9260 §3.3.6
    CT_ABORT = 6                # RFC 9260 §3.3.7
    CT_SHUTDOWN = 7             # RFC 9260 §3.3.8
    CT_SHUTDOWN_ACK = 8         # RFC 9260 §3.3.9
    CT_ERROR = 9                # RFC 9260 §3.3.10
    CT_COOKIE_ECHO = 10         # RFC 9260 §3.3.11
    CT_COOKIE_ACK = 11          # RFC 9260 §3.3.12
    CT_ECNE = 12                # RFC 9260 §3.3.13 (reserved for ECN)
    CT_CWR = 13                 # RFC 9260 §3.3.14 (reserved for ECN)
    CT_SHUTDOWN_COMPLETE = 14   # RFC 9260 §3.3.13
    CT_AUTH = 15                # RFC 4895 §4.1
    CT_I_DATA = 64              # RFC 8260 §2.1
    CT_ASCONF_ACK = 128         # RFC 5061 §5.1.2
    CT_RE_CONFIG = 130          # RFC 6525 §3.1
    CT_PAD = 132                # RFC 4820 §3
    CT_FORWARD_TSN = 192        # RFC 3758 §3.2
    CT_ASCONF = 193             # RFC 5061 §5.1.1
    CT_I_FORWARD_TSN = 194      # RFC 8260 §2.3.1

# Chunk flags.
cdef enum:
    FLAG_END = 0x01             # RFC 9260 §3.3.1: E, last fragment
    FLAG_BEGINNING = 0x02       # RFC 9260 §3.3.1: B, first fragment
    FLAG_UNORDERED = 0x04       # RFC 9260 §3.3.1: U, unordered
    FLAG_IMMEDIATE = 0x08       # RFC 7053 §3: I, SACK immediately
    FLAG_T = 0x01               # RFC 9260 §3.3.7/§3.3.13: T, tag reflected

# Variable-length parameter types (RFC 9260 §3.3.2.1 and extensions).
cdef enum:
    PT_HEARTBEAT_INFO = 1           # RFC 9260 §3.3.5
    PT_IPV4_ADDRESS = 5             # RFC 9260 §3.3.2.1.1
    PT_IPV6_ADDRESS = 6             # RFC 9260 §3.3.2.1.2
    PT_STATE_COOKIE = 7             # RFC 9260 §3.3.3.1
    PT_UNRECOGNIZED_PARAMETER = 8   # RFC 9260 §3.3.3.1
    PT_COOKIE_PRESERVATIVE = 9      # RFC 9260 §3.3.2.1.3
    PT_HOST_NAME_ADDRESS = 11       # RFC 9260 §3.3.2.1.4 (deprecated)
    PT_SUPPORTED_ADDRESS_TYPES = 12 # RFC 9260 §3.3.2.1.5
    PT_OUTGOING_SSN_RESET = 13      # RFC 6525 §4.1
    PT_INCOMING_SSN_RESET = 14      # RFC 6525 §4.2
    PT_SSN_TSN_RESET = 15           # RFC 6525 §4.3
    PT_RECONFIG_RESPONSE = 16       # RFC 6525 §4.4
    PT_ADD_OUTGOING_STREAMS = 17    # RFC 6525 §4.5
    PT_ADD_INCOMING_STREAMS = 18    # RFC 6525 §4.6
    PT_ECN_CAPABLE = 0x8000         # RFC 9260 §3.3.2.1 (reserved for ECN)
    PT_RANDOM = 0x8002              # RFC 4895 §3.1
    PT_CHUNK_LIST = 0x8003          # RFC 4895 §3.2
    PT_HMAC_ALGO = 0x8004           # RFC 4895 §3.3
    PT_PADDING = 0x8005             # RFC 4820 §4
    PT_SUPPORTED_EXTENSIONS = 0x8008  # RFC 5061 §4.2.7
    PT_FORWARD_TSN_SUPPORTED = 0xC000 # RFC 3758 §3.1
    PT_ADAPTATION_LAYER = 0xC006    # RFC 5061 §4.2.6
