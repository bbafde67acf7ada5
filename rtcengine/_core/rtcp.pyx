"""RTCP wire codec.

- RFC 3550 §6.4–§6.7: SR, RR (report blocks), SDES, BYE, APP;
  §6.1 / §6.4.1 / Appendix A.2: compound packets and their validity checks.
- RFC 4585 §6.1–§6.3: feedback messages, generic NACK (§6.2.1), PLI (§6.3.1).
- RFC 5104 §4.3.1: Full Intra Request.
- draft-alvestrand-rmcat-remb-03 §2.2: REMB (PSFB FMT 15, "REMB").
- draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1: transport-wide
  congestion control feedback (RTPFB FMT 15).

``parse_compound`` validates the whole compound in C (``rtcp_read_packet``)
and then builds one object per packet; lists inside a packet (report blocks,
SDES chunks, FIR entries, TWCC statuses ...) are decoded when first asked for.
``walk_compound`` / ``walk_batch`` validate and index packets without making
any Python object.  Unknown packet types are kept raw; anything malformed
raises :class:`ParseError`.
"""

cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE,
                             PyBUF_WRITABLE, PyBUF_FORMAT)
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int16_t, int32_t, int64_t
from libc.stdlib cimport calloc, malloc, free
from libc.string cimport memcpy, memset, strlen

from rtcengine._core.buffer cimport (InputView, OutputView, load_u16, load_u24, load_u32,
                                     load_u64, store_u16, store_u24, store_u32, store_u64)
from rtcengine._core import buffer as _buffer


class ParseError(_buffer.ParseError):
    """Malformed RTCP (RFC 3550 §6.4.1, Appendix A.2, or a per-type layout)."""


# Python-visible constants (see rtcp.pxd for the RFC sections).
RTCP_SR = PT_SR
RTCP_RR = PT_RR
RTCP_SDES = PT_SDES
RTCP_BYE = PT_BYE
RTCP_APP = PT_APP
RTCP_RTPFB = PT_RTPFB
RTCP_PSFB = PT_PSFB
RTPFB_NACK = 1    # RFC 4585 §6.2.1
RTPFB_TWCC = 15   # draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1
PSFB_PLI = 1      # RFC 4585 §6.3.1
PSFB_SLI = 2      # RFC 4585 §6.3.2
PSFB_RPSI = 3     # RFC 4585 §6.3.3
PSFB_FIR = 4      # RFC 5104 §4.3.1
PSFB_AFB = 15     # RFC 4585 §6.4 application layer feedback (REMB rides on it)

# RFC 3550 §6.5: SDES item types.
SDES_END = 0
SDES_CNAME = 1
SDES_NAME = 2
SDES_EMAIL = 3
SDES_PHONE = 4
SDES_LOC = 5
SDES_TOOL = 6
SDES_NOTE = 7
SDES_PRIV = 8

# TWCC packet status symbols (draft-holmer-...-01 §3.1.1).
TWCC_NOT_RECEIVED = 0
TWCC_SMALL_DELTA = 1      # one-octet receive delta, 0..63.75 ms
TWCC_LARGE_DELTA = 2      # two-octet signed receive delta
TWCC_RESERVED = 3         # no delta (pion: "received without delta")

cdef enum:
    HEADER = 4            # RFC 3550 §6.4.1: V P RC PT length
    REPORT_BLOCK = 24     # RFC 3550 §6.4.1: one report block
    SENDER_INFO = 20      # RFC 3550 §6.4.1: NTP(8) RTP(4) packets(4) octets(4)
    FB_HEADER = 8         # RFC 4585 §6.1: sender SSRC + media SSRC
    TWCC_FIXED = 8        # base seq(2) status count(2) ref time(3) fb count(1)
    TWCC_TICK_US = 250    # receive delta unit, µs
    TWCC_REF_US = 64000   # reference time unit, µs
    MAX_COUNT = 31        # 5-bit RC / SC / FMT field
    REMB_MAX_MANTISSA = 0x3FFFF   # 18-bit BR Mantissa
    REMB_ID = 0x52454D42          # "REMB"


# ---------------------------------------------------------------------------
# C-level reading: header + structure checks, no Python objects.

cdef inline RtcpStatus _short(rtcp_info_t* info, Py_ssize_t need_, Py_ssize_t have) noexcept nogil:
    info.err_a = need_
    info.err_b = have
    return RTCP_BODY_TOO_SHORT


cdef RtcpStatus _check_sdes(const uint8_t* b, Py_ssize_t n, rtcp_info_t* info) noexcept nogil:
    # RFC 3550 §6.5: SC chunks, each SSRC + items ending in a null octet,
    # then null octets up to the next 32-bit boundary.
    cdef Py_ssize_t pos = 0
    cdef int i
    cdef Py_ssize_t ln
    for i in range(info.count):
        if n - pos < 4:
            return _short(info, HEADER + pos + 4, HEADER + n)
        pos += 4
        while True:
            if pos >= n:
                info.err_a = i
                return RTCP_SDES_NO_END
            if b[pos] == 0:
                pos = (pos + 4) & ~(<Py_ssize_t>3)   # past the null octet, to a word
                if pos > n:
                    pos = n
                break
            if n - pos < 2:
                info.err_a = 2
                info.err_b = n - pos
                return RTCP_SDES_ITEM_PAST_END
            ln = b[pos + 1]
            if n - pos - 2 < ln:
                info.err_a = ln
                info.err_b = n - pos - 2
                return RTCP_SDES_ITEM_PAST_END
            pos += 2 + ln
    info.err_a = pos   # end of the last chunk (the SDES object keeps it)
    return RTCP_OK


cdef RtcpStatus _check_twcc(const uint8_t* f, Py_ssize_t n, rtcp_info_t* info) noexcept nogil:
    # draft-holmer-...-01 §3.1: fixed part, packet chunks covering the
    # status count, then one receive delta per received packet.
    cdef Py_ssize_t count, covered = 0, pos = TWCC_FIXED, deltas = 0, k, i
    cdef uint16_t c
    cdef int sym
    if n < TWCC_FIXED:
        return _short(info, HEADER + FB_HEADER + TWCC_FIXED, HEADER + FB_HEADER + n)
    count = load_u16(f + 2)
    while covered < count:
        if n - pos < 2:
            info.err_a = count
            info.err_b = covered
            return RTCP_TWCC_CHUNKS_PAST_END
        c = load_u16(f + pos)
        pos += 2
        if not (c & 0x8000):
            # §3.1.3 run length chunk: T=0, S (2 bits), run length (13 bits)
            sym = (c >> 13) & 3
            k = c & 0x1FFF
            if k > count - covered:
                k = count - covered
            if sym == 1:
                deltas += k
            elif sym == 2:
                deltas += 2 * k
            covered += k
        elif not (c & 0x4000):
            # §3.1.4 status vector, S=0: 14 one-bit symbols
            k = 14 if count - covered > 14 else count - covered
            for i in range(k):
                deltas += (c >> (13 - i)) & 1
            covered += k
        else:
            # §3.1.4 status vector, S=1: 7 two-bit symbols
            k = 7 if count - covered > 7 else count - covered
            for i in range(k):
                sym = (c >> (12 - 2 * i)) & 3
                if sym == 1:
                    deltas += 1
                elif sym == 2:
                    deltas += 2
            covered += k
    if n - pos < deltas:
        info.err_a = deltas
        info.err_b = n - pos
        return RTCP_TWCC_DELTAS_PAST_END
    return RTCP_OK


cdef RtcpStatus _check_body(const uint8_t* b, Py_ssize_t n, rtcp_info_t* info) noexcept nogil:
    cdef int count = info.count
    cdef Py_ssize_t fci, k
    cdef RtcpStatus st
    if info.packet_type == PT_SR:
        # RFC 3550 §6.4.1: SSRC + sender info + RC report blocks (+ extension)
        info.kind = KIND_SR
        if n < 4 + SENDER_INFO + REPORT_BLOCK * count:
            return _short(info, HEADER + 4 + SENDER_INFO + REPORT_BLOCK * count, HEADER + n)
    elif info.packet_type == PT_RR:
        # RFC 3550 §6.4.2: SSRC + RC report blocks (+ extension)
        info.kind = KIND_RR
        if n < 4 + REPORT_BLOCK * count:
            return _short(info, HEADER + 4 + REPORT_BLOCK * count, HEADER + n)
    elif info.packet_type == PT_SDES:
        info.kind = KIND_SDES
        return _check_sdes(b, n, info)
    elif info.packet_type == PT_BYE:
        # RFC 3550 §6.6: SC SSRCs, then optionally length + reason
        info.kind = KIND_BYE
        if n < 4 * count:
            return _short(info, HEADER + 4 * count, HEADER + n)
        if n > 4 * count:
            k = b[4 * count]
            if n - 4 * count - 1 < k:
                info.err_a = k
                info.err_b = n - 4 * count - 1
                return RTCP_BYE_REASON_PAST_END
    elif info.packet_type == PT_APP:
        # RFC 3550 §6.7: SSRC + 4-octet name + data
        info.kind = KIND_APP
        if n < 8:
            return _short(info, HEADER + 8, HEADER + n)
    elif info.packet_type == PT_RTPFB or info.packet_type == PT_PSFB:
        if n < FB_HEADER:
            return _short(info, HEADER + FB_HEADER, HEADER + n)
        fci = n - FB_HEADER
        if info.packet_type == PT_RTPFB:
            info.kind = KIND_RTPFB
            if count == 1 and fci > 0:
                # RFC 4585 §6.2.1: (PID, BLP) pairs of 4 octets
                if fci & 3:
                    info.err_a = fci
                    info.err_b = 4
                    return RTCP_FCI_NOT_ALIGNED
                info.kind = KIND_NACK
            elif count == 15 and fci > 0:
                st = _check_twcc(b + FB_HEADER, fci, info)
                if st != RTCP_OK:
                    return st
                info.kind = KIND_TWCC
        else:
            info.kind = KIND_PSFB
            if count == 1:
                # RFC 4585 §6.3.1: PLI has no FCI
                if fci == 0:
                    info.kind = KIND_PLI
            elif count == 4 and fci > 0:
                # RFC 5104 §4.3.1.1: entries of SSRC(4) seq nr(1) reserved(3)
                if fci & 7:
                    info.err_a = fci
                    info.err_b = 8
                    return RTCP_FCI_NOT_ALIGNED
                info.kind = KIND_FIR
            elif count == 15 and fci >= 4 and load_u32(b + FB_HEADER) == REMB_ID:
                # draft-alvestrand-rmcat-remb-03 §2.2: "REMB" num-SSRC(1)
                # BR Exp(6) BR Mantissa(18), then num-SSRC SSRCs
                if fci < 8:
                    return _short(info, HEADER + FB_HEADER + 8, HEADER + n)
                k = 8 + 4 * b[FB_HEADER + 4]
                if fci < k:
                    return _short(info, HEADER + FB_HEADER + k, HEADER + n)
                info.kind = KIND_REMB
    else:
        info.kind = KIND_UNKNOWN
    return RTCP_OK


cdef RtcpStatus rtcp_read_packet(const uint8_t* p, Py_ssize_t n, Py_ssize_t pos,
                                 rtcp_info_t* info) noexcept nogil:
    cdef Py_ssize_t rem = n - pos
    cdef Py_ssize_t size
    cdef uint8_t b0
    cdef int pc = 0
    info.offset = pos
    info.kind = KIND_UNKNOWN
    if rem < HEADER:
        info.err_a = rem
        return RTCP_TOO_SHORT
    b0 = p[pos]
    # RFC 3550 §6.4.1: version (2 bits) must be 2
    if (b0 >> 6) != 2:
        info.err_a = b0 >> 6
        return RTCP_BAD_VERSION
    info.count = b0 & 0x1F
    info.packet_type = p[pos + 1]
    # RFC 3550 §6.4.1: length in 32-bit words minus one, header included
    size = (<Py_ssize_t>load_u16(p + pos + 2) + 1) * 4
    if size > rem:
        info.err_a = load_u16(p + pos + 2)
        info.err_b = rem
        return RTCP_LENGTH_PAST_END
    info.size = size
    if b0 & 0x20:
        # RFC 3550 §6.4.1 / A.2: padding only on the last packet; the last
        # octet counts the padding octets, itself included
        if pos + size != n:
            return RTCP_PADDING_NOT_LAST
        pc = p[pos + size - 1]
        if pc == 0 or pc > size - HEADER:
            info.err_a = pc
            info.err_b = size - HEADER
            return RTCP_BAD_PADDING
    info.padding = pc
    info.body_len = size - HEADER - pc
    return _check_body(p + pos + HEADER, info.body_len, info)


cdef Py_ssize_t rtcp_walk(const uint8_t* p, Py_ssize_t n, int32_t* out, Py_ssize_t cap,
                          rtcp_info_t* info) noexcept nogil:
    cdef Py_ssize_t pos = 0, i = 0
    cdef RtcpStatus st
    while True:
        st = rtcp_read_packet(p, n, pos, info)
        if st != RTCP_OK:
            return -<Py_ssize_t>st
        if i >= cap:
            info.err_a = cap
            return -<Py_ssize_t>RTCP_OUT_FULL
        out[4 * i] = info.packet_type
        out[4 * i + 1] = info.count
        out[4 * i + 2] = <int32_t>pos
        out[4 * i + 3] = <int32_t>info.size
        i += 1
        pos += info.size
        if pos >= n:
            return i


cdef dict _TYPE_NAMES = {PT_SR: "SR", PT_RR: "RR", PT_SDES: "SDES", PT_BYE: "BYE",
                         PT_APP: "APP", PT_RTPFB: "RTPFB", PT_PSFB: "PSFB"}


cdef str _what(const rtcp_info_t* info):
    cdef int k = info.kind
    if k == KIND_NACK or (info.packet_type == PT_RTPFB and info.count == 1):
        return "RTCP NACK"
    if k == KIND_TWCC or (info.packet_type == PT_RTPFB and info.count == 15):
        return "RTCP TWCC"
    if k == KIND_FIR or (info.packet_type == PT_PSFB and info.count == 4):
        return "RTCP FIR"
    if info.packet_type == PT_PSFB and info.count == 15:
        return "RTCP REMB"
    return "RTCP " + _TYPE_NAMES.get(info.packet_type, str(info.packet_type))


cdef int rtcp_raise(RtcpStatus status, const rtcp_info_t* info) except -1:
    cdef str msg
    if status == RTCP_TOO_SHORT:
        msg = f"RTCP packet too short: need 4 bytes, have {info.err_a}"
    elif status == RTCP_BAD_VERSION:
        msg = f"RTCP version must be 2, got {info.err_a}"
    elif status == RTCP_LENGTH_PAST_END:
        msg = (f"RTCP length {info.err_a} words exceeds remaining {info.err_b} bytes"
               f" (packet at offset {info.offset})")
    elif status == RTCP_PADDING_NOT_LAST:
        msg = (f"RTCP padding bit set on the packet at offset {info.offset}, "
               "which is not the last of the compound")
    elif status == RTCP_BAD_PADDING:
        msg = f"RTCP padding length {info.err_a} invalid for a {info.err_b}-byte body"
    elif status == RTCP_BODY_TOO_SHORT:
        msg = f"{_what(info)} too short: need {info.err_a} bytes, have {info.err_b}"
    elif status == RTCP_SDES_NO_END:
        msg = f"RTCP SDES chunk {info.err_a} has no end item"
    elif status == RTCP_SDES_ITEM_PAST_END:
        msg = f"RTCP SDES item needs {info.err_a} bytes, have {info.err_b}"
    elif status == RTCP_BYE_REASON_PAST_END:
        msg = f"RTCP BYE reason length {info.err_a} exceeds remaining {info.err_b} bytes"
    elif status == RTCP_FCI_NOT_ALIGNED:
        msg = f"{_what(info)} FCI length {info.err_a} is not a multiple of {info.err_b}"
    elif status == RTCP_TWCC_CHUNKS_PAST_END:
        msg = (f"RTCP TWCC packet chunks end after {info.err_b} of "
               f"{info.err_a} packet statuses")
    elif status == RTCP_TWCC_DELTAS_PAST_END:
        msg = f"RTCP TWCC receive deltas need {info.err_a} bytes, have {info.err_b}"
    elif status == RTCP_BAD_RANGE:
        msg = "RTCP batch entry outside the buffer"
    elif status == RTCP_OUT_FULL:
        msg = f"RTCP output array full after {info.err_a} packets"
    else:
        msg = f"RTCP parse error {<int>status}"
    raise ParseError(msg)


# ---------------------------------------------------------------------------
# Small helpers.

cdef inline Py_ssize_t _align4(Py_ssize_t n) noexcept nogil:
    return (n + 3) & ~(<Py_ssize_t>3)


cdef inline int32_t _s24(uint32_t v) noexcept nogil:
    # RFC 3550 §6.4.1 (cumulative lost) / TWCC reference time: signed 24-bit
    return <int32_t>(v ^ 0x800000) - 0x800000


cdef inline const uint8_t* _ptr(bytes b) noexcept:
    return <const uint8_t*>PyBytes_AS_STRING(b)


cdef int _check_count(str what, Py_ssize_t n) except -1:
    if n > MAX_COUNT:
        raise ValueError(f"{what}: at most {MAX_COUNT} fit the 5-bit count, got {n}")
    return 0


cdef bytes _copy_input(object data):
    # Parsed objects decode lazily from these bytes, so they must not change:
    # take bytes as they are, copy anything else (bytearray, memoryview, ...).
    if type(data) is bytes:
        return <bytes>data
    cdef InputView v = InputView()
    v.acquire(data)
    return PyBytes_FromStringAndSize(<const char*>v.ptr, v.length)


# ---------------------------------------------------------------------------
# Report blocks, sender info, SDES chunks.

@cython.final
cdef class ReportBlock:
    """RFC 3550 §6.4.1 report block (aiortc: ``RtcpReceiverInfo``)."""

    def __init__(self, uint32_t ssrc=0, uint8_t fraction_lost=0, packets_lost=0,
                 uint32_t highest_sequence=0, uint32_t jitter=0, uint32_t lsr=0,
                 uint32_t dlsr=0):
        self.ssrc = ssrc
        self.fraction_lost = fraction_lost
        self.packets_lost = packets_lost
        self.highest_sequence = highest_sequence
        self.jitter = jitter
        self.lsr = lsr
        self.dlsr = dlsr

    @property
    def packets_lost(self):
        """Cumulative number of packets lost, signed 24-bit."""
        return self._packets_lost

    @packets_lost.setter
    def packets_lost(self, value):
        if not -0x800000 <= value <= 0x7FFFFF:
            raise ValueError(f"packets_lost must fit signed 24 bits, got {value}")
        self._packets_lost = value

    def __eq__(self, other):
        if not isinstance(other, ReportBlock):
            return NotImplemented
        cdef ReportBlock o = <ReportBlock>other
        return (self.ssrc == o.ssrc and self.fraction_lost == o.fraction_lost
                and self._packets_lost == o._packets_lost
                and self.highest_sequence == o.highest_sequence and self.jitter == o.jitter
                and self.lsr == o.lsr and self.dlsr == o.dlsr)

    __hash__ = None

    def __repr__(self):
        return (f"ReportBlock(ssrc={self.ssrc}, fraction_lost={self.fraction_lost}, "
                f"packets_lost={self._packets_lost}, highest_sequence={self.highest_sequence}, "
                f"jitter={self.jitter}, lsr={self.lsr}, dlsr={self.dlsr})")


cdef ReportBlock _load_block(const uint8_t* p):
    cdef ReportBlock r = ReportBlock.__new__(ReportBlock)
    r.ssrc = load_u32(p)
    r.fraction_lost = p[4]
    r._packets_lost = _s24(load_u24(p + 5))
    r.highest_sequence = load_u32(p + 8)
    r.jitter = load_u32(p + 12)
    r.lsr = load_u32(p + 16)
    r.dlsr = load_u32(p + 20)
    return r


cdef void _store_block(ReportBlock r, uint8_t* p) noexcept:
    store_u32(p, r.ssrc)
    p[4] = r.fraction_lost
    store_u24(p + 5, (<uint32_t>r._packets_lost) & 0xFFFFFF)
    store_u32(p + 8, r.highest_sequence)
    store_u32(p + 12, r.jitter)
    store_u32(p + 16, r.lsr)
    store_u32(p + 20, r.dlsr)


cdef list _load_blocks(bytes src, Py_ssize_t off, int count):
    cdef const uint8_t* p = _ptr(src) + off
    cdef list out = []
    cdef int i
    for i in range(count):
        out.append(_load_block(p + REPORT_BLOCK * i))
    return out


cdef int _check_blocks(list reports) except -1:
    _check_count("report blocks", len(reports))
    for r in reports:
        if not isinstance(r, ReportBlock):
            raise TypeError(f"reports must hold ReportBlock objects, got {type(r).__name__}")
    return 0


@cython.final
cdef class SenderInfo:
    """RFC 3550 §6.4.1 sender info (aiortc: ``RtcpSenderInfo``)."""

    def __init__(self, uint64_t ntp_timestamp=0, uint32_t rtp_timestamp=0,
                 uint32_t packet_count=0, uint32_t octet_count=0):
        self.ntp_timestamp = ntp_timestamp
        self.rtp_timestamp = rtp_timestamp
        self.packet_count = packet_count
        self.octet_count = octet_count

    def __eq__(self, other):
        if not isinstance(other, SenderInfo):
            return NotImplemented
        cdef SenderInfo o = <SenderInfo>other
        return (self.ntp_timestamp == o.ntp_timestamp and self.rtp_timestamp == o.rtp_timestamp
                and self.packet_count == o.packet_count and self.octet_count == o.octet_count)

    __hash__ = None

    def __repr__(self):
        return (f"SenderInfo(ntp_timestamp={self.ntp_timestamp}, "
                f"rtp_timestamp={self.rtp_timestamp}, packet_count={self.packet_count}, "
                f"octet_count={self.octet_count})")


@cython.final
cdef class SdesChunk:
    """RFC 3550 §6.5 chunk: an SSRC and its (type, value) items (aiortc:
    ``RtcpSourceInfo``)."""

    def __init__(self, uint32_t ssrc=0, items=None):
        self.ssrc = ssrc
        self.items = list(items) if items is not None else []

    def __eq__(self, other):
        if not isinstance(other, SdesChunk):
            return NotImplemented
        return self.ssrc == (<SdesChunk>other).ssrc and self.items == (<SdesChunk>other).items

    __hash__ = None

    def __repr__(self):
        return f"SdesChunk(ssrc={self.ssrc}, items={self.items!r})"


# aiortc's names for the same blocks.
RtcpReceiverInfo = ReportBlock
RtcpSenderInfo = SenderInfo
RtcpSourceInfo = SdesChunk


# ---------------------------------------------------------------------------
# The packet base: sizes, padding, marshal, parse.

cdef class RtcpPacketBase:
    """Common base of every RTCP packet class."""

    def __cinit__(self):
        self.padding = 0
        self._src = None
        self._body = 0
        self._n = 0

    cdef Py_ssize_t _content_size(self) except -1:
        raise NotImplementedError

    cdef int _write(self, uint8_t* p) except -1:
        raise NotImplementedError

    cdef Py_ssize_t _total(self, Py_ssize_t content) except -1:
        cdef Py_ssize_t total
        if self.padding < 0 or self.padding > 255:
            raise ValueError(f"padding must be 0..255, got {self.padding}")
        total = _align4(content + self.padding)
        if total > 4 * 65536:
            raise ValueError(f"RTCP packet of {total} bytes does not fit the 16-bit length")
        return total

    cdef Py_ssize_t _marshal_to(self, uint8_t* p, Py_ssize_t content,
                                Py_ssize_t total) except -1:
        self._write(p)
        if total > content:
            memset(p + content, 0, <size_t>(total - content))
        if self.padding:
            # RFC 3550 §6.4.1: P bit; last octet counts the padding octets
            p[0] |= 0x20
            p[total - 1] = <uint8_t>self.padding
        store_u16(p + 2, <uint16_t>(total // 4 - 1))
        return total

    def marshal_size(self):
        """Bytes ``marshal_into`` writes."""
        return self._total(self._content_size())

    def marshal_into(self, buf, Py_ssize_t offset=0):
        """Write the packet into ``buf`` at ``offset``; return bytes written."""
        cdef Py_ssize_t content = self._content_size()
        cdef Py_ssize_t total = self._total(content)
        cdef OutputView ov = OutputView()
        ov.acquire(buf, offset, total)
        try:
            self._marshal_to(ov.ptr, content, total)
        finally:
            ov.release()
        return total

    def marshal(self):
        """The packet as bytes."""
        cdef Py_ssize_t content = self._content_size()
        cdef Py_ssize_t total = self._total(content)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
        self._marshal_to(<uint8_t*>PyBytes_AS_STRING(out), content, total)
        return out

    def serialize(self):
        """aiortc's name for :meth:`marshal`."""
        return self.marshal()

    def __bytes__(self):
        return self.marshal()

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.marshal() == other.marshal()

    __hash__ = None

    @classmethod
    def parse(cls, data):
        """Parse ``data`` holding exactly one RTCP packet of this class."""
        return _parse_single(data, cls)


cdef inline void _header(uint8_t* p, int count, int pt) noexcept:
    # RFC 3550 §6.4.1: V=2, P (set later), count, PT; length set later
    p[0] = <uint8_t>(0x80 | (count & 0x1F))
    p[1] = <uint8_t>pt


# ---------------------------------------------------------------------------
# SR / RR

@cython.final
cdef class RtcpSrPacket(RtcpPacketBase):
    """RFC 3550 §6.4.1 sender report."""

    def __init__(self, uint32_t ssrc=0, sender_info=None, reports=None,
                 bytes extension not None=b"", int padding=0):
        self.ssrc = ssrc
        self._sender_info = sender_info if sender_info is not None else SenderInfo()
        self._reports = list(reports) if reports is not None else []
        self._extension = extension
        self.padding = padding

    @property
    def sender_info(self):
        """The sender info block (NTP/RTP timestamps, packet and octet counts)."""
        cdef const uint8_t* p
        if self._sender_info is None:
            p = _ptr(self._src) + self._body + 4
            si = SenderInfo.__new__(SenderInfo)
            (<SenderInfo>si).ntp_timestamp = load_u64(p)
            (<SenderInfo>si).rtp_timestamp = load_u32(p + 8)
            (<SenderInfo>si).packet_count = load_u32(p + 12)
            (<SenderInfo>si).octet_count = load_u32(p + 16)
            self._sender_info = <SenderInfo>si
        return self._sender_info

    @sender_info.setter
    def sender_info(self, SenderInfo value not None):
        self._sender_info = value

    @property
    def reports(self):
        """Report blocks (a list; mutate it or assign a new one)."""
        if self._reports is None:
            self._reports = _load_blocks(self._src, self._body + 4 + SENDER_INFO, self._nrep)
        return self._reports

    @reports.setter
    def reports(self, value):
        self._reports = list(value)

    @property
    def extension(self):
        """Profile-specific extension octets after the report blocks."""
        cdef Py_ssize_t start
        if self._extension is None:
            start = self._body + 4 + SENDER_INFO + REPORT_BLOCK * self._nrep
            self._extension = self._src[start:self._body + self._n]
        return self._extension

    @extension.setter
    def extension(self, bytes value not None):
        self._extension = value

    @property
    def packet_type(self):
        return PT_SR

    @property
    def count(self):
        return self._nrep if self._reports is None else len(self._reports)

    cdef Py_ssize_t _content_size(self) except -1:
        cdef Py_ssize_t nrep = self._nrep
        cdef Py_ssize_t ext
        if self._reports is not None:
            _check_blocks(self._reports)
            nrep = len(self._reports)
        ext = (self._n - 4 - SENDER_INFO - REPORT_BLOCK * self._nrep
               if self._extension is None else len(self._extension))
        return HEADER + 4 + SENDER_INFO + REPORT_BLOCK * nrep + ext

    cdef int _write(self, uint8_t* p) except -1:
        cdef const uint8_t* s
        cdef SenderInfo si
        cdef Py_ssize_t nrep, i, pos, ext
        nrep = self._nrep if self._reports is None else len(self._reports)
        _header(p, <int>nrep, PT_SR)
        store_u32(p + 4, self.ssrc)
        if self._sender_info is None:
            memcpy(p + 8, _ptr(self._src) + self._body + 4, SENDER_INFO)
        else:
            si = self._sender_info
            store_u64(p + 8, si.ntp_timestamp)
            store_u32(p + 16, si.rtp_timestamp)
            store_u32(p + 20, si.packet_count)
            store_u32(p + 24, si.octet_count)
        pos = HEADER + 4 + SENDER_INFO
        if self._reports is None:
            memcpy(p + pos, _ptr(self._src) + self._body + pos - HEADER,
                   <size_t>(REPORT_BLOCK * nrep))
        else:
            for i in range(nrep):
                _store_block(<ReportBlock>self._reports[i], p + pos + REPORT_BLOCK * i)
        pos += REPORT_BLOCK * nrep
        if self._extension is None:
            s = _ptr(self._src) + self._body + 4 + SENDER_INFO + REPORT_BLOCK * self._nrep
            ext = self._n - 4 - SENDER_INFO - REPORT_BLOCK * self._nrep
            memcpy(p + pos, s, <size_t>ext)
        else:
            memcpy(p + pos, _ptr(self._extension), <size_t>len(self._extension))
        return 0

    def __repr__(self):
        return (f"RtcpSrPacket(ssrc={self.ssrc}, sender_info={self.sender_info!r}, "
                f"reports={self.reports!r})")


@cython.final
cdef class RtcpRrPacket(RtcpPacketBase):
    """RFC 3550 §6.4.2 receiver report."""

    def __init__(self, uint32_t ssrc=0, reports=None, bytes extension not None=b"",
                 int padding=0):
        self.ssrc = ssrc
        self._reports = list(reports) if reports is not None else []
        self._extension = extension
        self.padding = padding

    @property
    def reports(self):
        """Report blocks (a list; mutate it or assign a new one)."""
        if self._reports is None:
            self._reports = _load_blocks(self._src, self._body + 4, self._nrep)
        return self._reports

    @reports.setter
    def reports(self, value):
        self._reports = list(value)

    @property
    def extension(self):
        """Profile-specific extension octets after the report blocks."""
        cdef Py_ssize_t start
        if self._extension is None:
            start = self._body + 4 + REPORT_BLOCK * self._nrep
            self._extension = self._src[start:self._body + self._n]
        return self._extension

    @extension.setter
    def extension(self, bytes value not None):
        self._extension = value

    @property
    def packet_type(self):
        return PT_RR

    @property
    def count(self):
        return self._nrep if self._reports is None else len(self._reports)

    cdef Py_ssize_t _content_size(self) except -1:
        cdef Py_ssize_t nrep = self._nrep
        cdef Py_ssize_t ext
        if self._reports is not None:
            _check_blocks(self._reports)
            nrep = len(self._reports)
        ext = (self._n - 4 - REPORT_BLOCK * self._nrep
               if self._extension is None else len(self._extension))
        return HEADER + 4 + REPORT_BLOCK * nrep + ext

    cdef int _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t nrep, i, pos, ext
        nrep = self._nrep if self._reports is None else len(self._reports)
        _header(p, <int>nrep, PT_RR)
        store_u32(p + 4, self.ssrc)
        pos = HEADER + 4
        if self._reports is None:
            memcpy(p + pos, _ptr(self._src) + self._body + 4, <size_t>(REPORT_BLOCK * nrep))
        else:
            for i in range(nrep):
                _store_block(<ReportBlock>self._reports[i], p + pos + REPORT_BLOCK * i)
        pos += REPORT_BLOCK * nrep
        if self._extension is None:
            ext = self._n - 4 - REPORT_BLOCK * self._nrep
            memcpy(p + pos, _ptr(self._src) + self._body + 4 + REPORT_BLOCK * self._nrep,
                   <size_t>ext)
        else:
            memcpy(p + pos, _ptr(self._extension), <size_t>len(self._extension))
        return 0

    def __repr__(self):
        return f"RtcpRrPacket(ssrc={self.ssrc}, reports={self.reports!r})"


# ---------------------------------------------------------------------------
# SDES

cdef list _load_chunks(const uint8_t* b, Py_ssize_t n, int count):
    # The structure was checked by _check_sdes; bounds are re-checked anyway.
    cdef list out = []
    cdef list items
    cdef Py_ssize_t pos = 0, ln
    cdef int i
    cdef SdesChunk c
    for i in range(count):
        if n - pos < 4:
            break
        c = SdesChunk.__new__(SdesChunk)
        c.ssrc = load_u32(b + pos)
        pos += 4
        items = []
        while pos < n and b[pos] != 0:
            if n - pos < 2:
                break
            ln = b[pos + 1]
            if n - pos - 2 < ln:
                break
            items.append((<int>b[pos], PyBytes_FromStringAndSize(<const char*>b + pos + 2, ln)))
            pos += 2 + ln
        pos = (pos + 4) & ~(<Py_ssize_t>3)
        c.items = items
        out.append(c)
    return out


@cython.final
cdef class RtcpSdesPacket(RtcpPacketBase):
    """RFC 3550 §6.5 source description."""

    def __init__(self, chunks=None, int padding=0):
        self._chunks = list(chunks) if chunks is not None else []
        self.padding = padding

    @property
    def chunks(self):
        """SDES chunks (a list of :class:`SdesChunk`)."""
        if self._chunks is None:
            self._chunks = _load_chunks(_ptr(self._src) + self._body, self._n, self._nchunks)
        return self._chunks

    @chunks.setter
    def chunks(self, value):
        self._chunks = list(value)

    @property
    def packet_type(self):
        return PT_SDES

    @property
    def count(self):
        return self._nchunks if self._chunks is None else len(self._chunks)

    cdef Py_ssize_t _content_size(self) except -1:
        cdef Py_ssize_t size = HEADER, chunk
        if self._chunks is None:
            return HEADER + self._raw_len
        _check_count("SDES chunks", len(self._chunks))
        for c in self._chunks:
            if not isinstance(c, SdesChunk):
                raise TypeError(f"chunks must hold SdesChunk objects, got {type(c).__name__}")
            chunk = 4
            for item in (<SdesChunk>c).items:
                t, v = item
                if not 1 <= t <= 255:
                    raise ValueError(f"SDES item type must be 1..255, got {t}")
                if len(<bytes?>v) > 255:
                    raise ValueError(f"SDES item value longer than 255 bytes: {len(v)}")
                chunk += 2 + len(v)
            # RFC 3550 §6.5: at least one null octet, then to a 32-bit boundary
            size += _align4(chunk + 1)
        return size

    cdef int _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t pos = HEADER, end, ln
        cdef bytes v
        if self._chunks is None:
            _header(p, self._nchunks, PT_SDES)
            memcpy(p + HEADER, _ptr(self._src) + self._body, <size_t>self._raw_len)
            return 0
        _header(p, len(self._chunks), PT_SDES)
        for c in self._chunks:
            store_u32(p + pos, (<SdesChunk>c).ssrc)
            pos += 4
            for t, v in (<SdesChunk>c).items:
                ln = len(v)
                p[pos] = <uint8_t>t
                p[pos + 1] = <uint8_t>ln
                memcpy(p + pos + 2, _ptr(v), <size_t>ln)
                pos += 2 + ln
            end = _align4(pos + 1)
            memset(p + pos, 0, <size_t>(end - pos))
            pos = end
        return 0

    def __repr__(self):
        return f"RtcpSdesPacket(chunks={self.chunks!r})"


# ---------------------------------------------------------------------------
# BYE / APP / unknown

@cython.final
cdef class RtcpByePacket(RtcpPacketBase):
    """RFC 3550 §6.6 goodbye: SSRC/CSRC list and an optional reason."""

    def __init__(self, sources=None, reason=None, int padding=0):
        self.sources = list(sources) if sources is not None else []
        self.reason = reason
        self.padding = padding

    @property
    def packet_type(self):
        return PT_BYE

    @property
    def count(self):
        return len(self.sources)

    cdef Py_ssize_t _content_size(self) except -1:
        cdef Py_ssize_t size = HEADER + 4 * len(self.sources)
        _check_count("BYE sources", len(self.sources))
        for s in self.sources:
            if not 0 <= s <= 0xFFFFFFFF:
                raise ValueError(f"BYE source must be a 32-bit SSRC, got {s!r}")
        if self.reason is not None:
            if len(<bytes?>self.reason) > 255:
                raise ValueError(f"BYE reason longer than 255 bytes: {len(self.reason)}")
            size += _align4(1 + len(self.reason))
        return size

    cdef int _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t pos = HEADER, ln, i
        cdef uint32_t s
        _header(p, len(self.sources), PT_BYE)
        for i in range(len(self.sources)):
            s = self.sources[i]
            store_u32(p + pos, s)
            pos += 4
        if self.reason is not None:
            ln = len(self.reason)
            p[pos] = <uint8_t>ln
            memcpy(p + pos + 1, _ptr(self.reason), <size_t>ln)
            memset(p + pos + 1 + ln, 0, <size_t>(_align4(1 + ln) - 1 - ln))
        return 0

    def __repr__(self):
        return f"RtcpByePacket(sources={self.sources!r}, reason={self.reason!r})"


@cython.final
cdef class RtcpAppPacket(RtcpPacketBase):
    """RFC 3550 §6.7 application-defined packet."""

    def __init__(self, int subtype=0, uint32_t ssrc=0, bytes name=b"\0\0\0\0",
                 bytes data=b"", int padding=0):
        self.subtype = subtype
        self.ssrc = ssrc
        self.name = name
        self.data = data
        self.padding = padding

    @property
    def packet_type(self):
        return PT_APP

    @property
    def count(self):
        return self.subtype

    cdef Py_ssize_t _content_size(self) except -1:
        if not 0 <= self.subtype <= MAX_COUNT:
            raise ValueError(f"APP subtype must be 0..31, got {self.subtype}")
        if self.name is None or len(self.name) != 4:
            raise ValueError("APP name must be 4 bytes")
        if self.data is None:
            raise TypeError("APP data must be bytes")
        return HEADER + 8 + len(self.data)

    cdef int _write(self, uint8_t* p) except -1:
        _header(p, self.subtype, PT_APP)
        store_u32(p + 4, self.ssrc)
        memcpy(p + 8, _ptr(self.name), 4)
        memcpy(p + 12, _ptr(self.data), <size_t>len(self.data))
        return 0

    def __repr__(self):
        return (f"RtcpAppPacket(subtype={self.subtype}, ssrc={self.ssrc}, name={self.name!r}, "
                f"data={self.data!r})")


@cython.final
cdef class RtcpUnknownPacket(RtcpPacketBase):
    """A packet of a type this module does not decode, kept raw."""

    def __init__(self, int packet_type=0, int count=0, bytes payload=b"", int padding=0):
        self.packet_type = packet_type
        self.count = count
        self.payload = payload
        self.padding = padding

    cdef Py_ssize_t _content_size(self) except -1:
        if not 0 <= self.packet_type <= 255 or not 0 <= self.count <= MAX_COUNT:
            raise ValueError("packet_type must be 0..255 and count 0..31")
        if self.payload is None:
            raise TypeError("payload must be bytes")
        return HEADER + len(self.payload)

    cdef int _write(self, uint8_t* p) except -1:
        _header(p, self.count, self.packet_type)
        memcpy(p + HEADER, _ptr(self.payload), <size_t>len(self.payload))
        return 0

    def __repr__(self):
        return (f"RtcpUnknownPacket(packet_type={self.packet_type}, count={self.count}, "
                f"payload={self.payload!r})")


# ---------------------------------------------------------------------------
# Feedback messages (RFC 4585 §6.1)

cdef class FeedbackPacket(RtcpPacketBase):
    """RFC 4585 §6.1 common feedback layout: sender SSRC + media SSRC + FCI."""

    @property
    def sender_ssrc(self):
        """RFC 4585 name of ``ssrc``."""
        return self.ssrc

    @sender_ssrc.setter
    def sender_ssrc(self, uint32_t value):
        self.ssrc = value



cdef inline void _fb_header(FeedbackPacket fb, uint8_t* p, int fmt, int pt) noexcept:
    # RFC 4585 §6.1: header with FMT, then sender SSRC and media SSRC
    _header(p, fmt, pt)
    store_u32(p + 4, fb.ssrc)
    store_u32(p + 8, fb.media_ssrc)


cdef bytes _fci_of(RtcpPacketBase pkt):
    return pkt._src[pkt._body + FB_HEADER:pkt._body + pkt._n]


@cython.final
cdef class RtcpRtpfbPacket(FeedbackPacket):
    """RFC 4585 §6.2 transport-layer feedback of an FMT without its own class
    (or one whose FCI is empty), FCI kept raw."""

    def __init__(self, int fmt=0, uint32_t ssrc=0, uint32_t media_ssrc=0, bytes fci=b"",
                 int padding=0):
        self.fmt = fmt
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.fci = fci
        self.padding = padding

    @property
    def packet_type(self):
        return PT_RTPFB

    cdef Py_ssize_t _content_size(self) except -1:
        if not 0 <= self.fmt <= MAX_COUNT:
            raise ValueError(f"FMT must be 0..31, got {self.fmt}")
        return HEADER + FB_HEADER + len(self.fci)

    cdef int _write(self, uint8_t* p) except -1:
        _fb_header(self, p, self.fmt, PT_RTPFB)
        memcpy(p + 12, _ptr(self.fci), <size_t>len(self.fci))
        return 0

    def __repr__(self):
        return (f"RtcpRtpfbPacket(fmt={self.fmt}, ssrc={self.ssrc}, "
                f"media_ssrc={self.media_ssrc}, fci={self.fci!r})")


@cython.final
cdef class RtcpPsfbPacket(FeedbackPacket):
    """RFC 4585 §6.3 payload-specific feedback of an FMT without its own class
    (SLI, RPSI, non-REMB application feedback ...), FCI kept raw."""

    def __init__(self, int fmt=0, uint32_t ssrc=0, uint32_t media_ssrc=0, bytes fci=b"",
                 int padding=0):
        self.fmt = fmt
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.fci = fci
        self.padding = padding

    @property
    def packet_type(self):
        return PT_PSFB

    cdef Py_ssize_t _content_size(self) except -1:
        if not 0 <= self.fmt <= MAX_COUNT:
            raise ValueError(f"FMT must be 0..31, got {self.fmt}")
        return HEADER + FB_HEADER + len(self.fci)

    cdef int _write(self, uint8_t* p) except -1:
        _fb_header(self, p, self.fmt, PT_PSFB)
        memcpy(p + 12, _ptr(self.fci), <size_t>len(self.fci))
        return 0

    def __repr__(self):
        return (f"RtcpPsfbPacket(fmt={self.fmt}, ssrc={self.ssrc}, "
                f"media_ssrc={self.media_ssrc}, fci={self.fci!r})")


# --- Generic NACK (RFC 4585 §6.2.1) ---

cdef int _seq_of(object x) except -1:
    cdef long v = x
    if v < 0 or v > 0xFFFF:
        raise ValueError(f"sequence number must be 0..65535, got {v}")
    return <int>v


cdef Py_ssize_t _nack_pairs(const uint16_t* s, Py_ssize_t n, Py_ssize_t start) noexcept:
    # Pairs a greedy cover needs when the circular order starts at ``start``.
    cdef Py_ssize_t npairs = 1, m, i
    cdef uint16_t pid = s[start]
    for m in range(1, n):
        i = (start + m) % n
        if <uint16_t>(s[i] - pid) > 16:
            npairs += 1
            pid = s[i]
    return npairs


cdef bytes _pack_nack(object lost):
    """Pack lost sequence numbers into the fewest (PID, BLP) pairs.

    Each pair covers PID..PID+16 (RFC 4585 §6.2.1, modulo 2^16).  The seqs are
    covered greedily from the earliest (optimal for points on a line), with
    the line cut either at 65535→0 or at the widest gap, whichever needs
    fewer pairs (the latter joins runs that wrap)."""
    cdef Py_ssize_t n = len(lost), i, m, start = 0, npairs
    cdef uint16_t* s
    cdef int prev, cur, gap, best
    cdef bint ascending = True
    cdef uint16_t pid, d
    cdef uint16_t blp
    cdef uint8_t* w
    cdef bytes out
    if n == 0:
        return b""
    s = <uint16_t*>calloc(<size_t>n, sizeof(uint16_t))
    if s == NULL:
        raise MemoryError()
    try:
        prev = -1
        for i in range(n):
            cur = _seq_of(lost[i])
            s[i] = <uint16_t>cur
            if cur <= prev:
                ascending = False
            prev = cur
        if not ascending:
            srt = sorted(set([_seq_of(x) for x in lost]))
            n = len(srt)
            for i in range(n):
                s[i] = <uint16_t>(<int>srt[i])
        # the widest circular gap: start just after it
        best = 0x10000 - s[n - 1] + s[0]
        start = 0
        for i in range(1, n):
            gap = s[i] - s[i - 1]
            if gap > best:
                best = gap
                start = i
        npairs = _nack_pairs(s, n, start)
        if start != 0 and _nack_pairs(s, n, 0) <= npairs:
            start = 0
            npairs = _nack_pairs(s, n, 0)
        out = PyBytes_FromStringAndSize(NULL, 4 * npairs)
        w = <uint8_t*>PyBytes_AS_STRING(out)
        pid = s[start]
        blp = 0
        for m in range(1, n):
            i = (start + m) % n
            d = <uint16_t>(s[i] - pid)
            if d > 16:
                store_u16(w, pid)
                store_u16(w + 2, blp)
                w += 4
                pid = s[i]
                blp = 0
            else:
                blp |= <uint16_t>(1 << (d - 1))
        store_u16(w, pid)
        store_u16(w + 2, blp)
        return out
    finally:
        free(s)


cdef list _expand_nack(const uint8_t* f, Py_ssize_t n):
    cdef list out = []
    cdef Py_ssize_t i
    cdef int j
    cdef uint16_t pid, blp
    for i in range(0, n - 3, 4):
        pid = load_u16(f + i)
        blp = load_u16(f + i + 2)
        out.append(pid)
        for j in range(16):
            if (blp >> j) & 1:
                out.append(<uint16_t>(pid + j + 1))
    return out


cdef bytes _nack_fci(RtcpNackPacket pkt):
    if pkt._fci is None:
        pkt._fci = _fci_of(pkt)
    return pkt._fci


@cython.final
cdef class RtcpNackPacket(FeedbackPacket):
    """RFC 4585 §6.2.1 generic NACK (RTPFB FMT 1).

    ``pairs`` are the wire (PID, BLP) pairs; ``lost`` (aiortc's name) the
    expanded lost sequence numbers.  Building from ``lost`` packs them into
    the fewest pairs."""

    def __init__(self, uint32_t ssrc=0, uint32_t media_ssrc=0, lost=None, pairs=None,
                 int padding=0):
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.padding = padding
        if pairs is not None:
            self.pairs = pairs
        else:
            self._fci = _pack_nack(lost) if lost is not None else b""

    @staticmethod
    def from_lost(lost, uint32_t ssrc=0, uint32_t media_ssrc=0):
        """A NACK for ``lost`` sequence numbers, in the fewest (PID, BLP) pairs."""
        cdef RtcpNackPacket pkt = RtcpNackPacket.__new__(RtcpNackPacket)
        pkt.ssrc = ssrc
        pkt.media_ssrc = media_ssrc
        pkt._fci = _pack_nack(lost)
        return pkt

    @property
    def fmt(self):
        return 1

    @property
    def packet_type(self):
        return PT_RTPFB

    @property
    def fci(self):
        """The packed FCI octets."""
        return _nack_fci(self)

    @property
    def pairs(self):
        """(PID, BLP) pairs as on the wire."""
        cdef bytes f = _nack_fci(self)
        cdef const uint8_t* p = _ptr(f)
        cdef Py_ssize_t i
        return [(load_u16(p + i), load_u16(p + i + 2)) for i in range(0, len(f) - 3, 4)]

    @pairs.setter
    def pairs(self, value):
        cdef list pl = list(value)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, 4 * len(pl))
        cdef uint8_t* w = <uint8_t*>PyBytes_AS_STRING(out)
        cdef Py_ssize_t i
        for i in range(len(pl)):
            pid, blp = pl[i]
            store_u16(w + 4 * i, <uint16_t>_seq_of(pid))
            store_u16(w + 4 * i + 2, <uint16_t>_seq_of(blp))
        self._fci = out

    @property
    def lost(self):
        """Lost sequence numbers: PID, then PID+i+1 for each bit i of BLP."""
        cdef bytes f
        if self._fci is None:
            return _expand_nack(_ptr(self._src) + self._body + FB_HEADER, self._n - FB_HEADER)
        f = self._fci
        return _expand_nack(_ptr(f), len(f))

    @lost.setter
    def lost(self, value):
        self._fci = _pack_nack(value)

    cdef Py_ssize_t _content_size(self) except -1:
        if self._fci is None:
            return HEADER + self._n
        if not self._fci:
            raise ValueError("a NACK needs at least one lost sequence number (RFC 4585 §6.2.1)")
        return HEADER + FB_HEADER + len(self._fci)

    cdef int _write(self, uint8_t* p) except -1:
        _fb_header(self, p, 1, PT_RTPFB)
        if self._fci is None:
            memcpy(p + 12, _ptr(self._src) + self._body + FB_HEADER,
                   <size_t>(self._n - FB_HEADER))
        else:
            memcpy(p + 12, _ptr(self._fci), <size_t>len(self._fci))
        return 0

    def __repr__(self):
        return (f"RtcpNackPacket(ssrc={self.ssrc}, media_ssrc={self.media_ssrc}, "
                f"lost={self.lost!r})")


# --- PLI / FIR / REMB ---

@cython.final
cdef class RtcpPliPacket(FeedbackPacket):
    """RFC 4585 §6.3.1 picture loss indication (PSFB FMT 1, no FCI)."""

    def __init__(self, uint32_t ssrc=0, uint32_t media_ssrc=0, int padding=0):
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.padding = padding

    @property
    def fmt(self):
        return 1

    @property
    def packet_type(self):
        return PT_PSFB

    cdef Py_ssize_t _content_size(self) except -1:
        return HEADER + FB_HEADER

    cdef int _write(self, uint8_t* p) except -1:
        _fb_header(self, p, 1, PT_PSFB)
        return 0

    def __repr__(self):
        return f"RtcpPliPacket(ssrc={self.ssrc}, media_ssrc={self.media_ssrc})"


@cython.final
cdef class RtcpFirPacket(FeedbackPacket):
    """RFC 5104 §4.3.1 full intra request (PSFB FMT 4).

    ``entries`` are (ssrc, seq_nr) pairs; RFC 5104 §4.3.1.2 says the media
    SSRC of the common header is 0."""

    def __init__(self, uint32_t ssrc=0, entries=None, uint32_t media_ssrc=0, int padding=0):
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self._entries = list(entries) if entries is not None else []
        self.padding = padding

    @property
    def fmt(self):
        return 4

    @property
    def packet_type(self):
        return PT_PSFB

    @property
    def entries(self):
        """FCI entries: (SSRC, command sequence number) pairs."""
        cdef const uint8_t* p
        cdef Py_ssize_t i
        if self._entries is None:
            p = _ptr(self._src) + self._body + FB_HEADER
            self._entries = [(load_u32(p + i), <int>p[i + 4])
                             for i in range(0, self._n - FB_HEADER - 7, 8)]
        return self._entries

    @entries.setter
    def entries(self, value):
        self._entries = list(value)

    cdef Py_ssize_t _content_size(self) except -1:
        if self._entries is None:
            return HEADER + self._n
        for e in self._entries:
            s, q = e
            if not 0 <= s <= 0xFFFFFFFF or not 0 <= q <= 255:
                raise ValueError(f"FIR entry must be (ssrc 0..2^32-1, seq_nr 0..255), got {e!r}")
        return HEADER + FB_HEADER + 8 * len(self._entries)

    cdef int _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t pos = 12
        _fb_header(self, p, 4, PT_PSFB)
        if self._entries is None:
            memcpy(p + 12, _ptr(self._src) + self._body + FB_HEADER,
                   <size_t>(self._n - FB_HEADER))
            return 0
        for s, q in self._entries:
            store_u32(p + pos, <uint32_t>s)
            # RFC 5104 §4.3.1.1: seq nr (8 bits) + reserved (24 bits, zero)
            store_u32(p + pos + 4, (<uint32_t>q) << 24)
            pos += 8
        return 0

    def __repr__(self):
        return f"RtcpFirPacket(ssrc={self.ssrc}, entries={self.entries!r})"


@cython.final
cdef class RtcpRembPacket(FeedbackPacket):
    """draft-alvestrand-rmcat-remb-03 §2.2 receiver estimated max bitrate:
    bitrate = mantissa << exponent bits/s, for the listed SSRCs."""

    def __init__(self, uint32_t ssrc=0, bitrate=0, ssrcs=None, uint32_t media_ssrc=0,
                 int padding=0):
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.bitrate = bitrate
        self._ssrcs = list(ssrcs) if ssrcs is not None else []
        self.padding = padding

    @property
    def fmt(self):
        return 15

    @property
    def packet_type(self):
        return PT_PSFB

    @property
    def bitrate(self):
        """Bits per second: mantissa << exponent."""
        return (<object>self.mantissa) << self.exponent

    @bitrate.setter
    def bitrate(self, value):
        # The largest representable value not above ``value`` (rounds down).
        v = int(value)
        if v < 0:
            raise ValueError(f"bitrate must be >= 0, got {v}")
        e = max(0, v.bit_length() - 18)
        if e > 63:
            raise ValueError(f"bitrate {v} exceeds the REMB maximum {(<object>REMB_MAX_MANTISSA) << 63}")
        self.exponent = e
        self.mantissa = v >> e

    @property
    def ssrcs(self):
        """SSRCs the estimate applies to."""
        cdef const uint8_t* p
        cdef int i
        if self._ssrcs is None:
            p = _ptr(self._src) + self._body + FB_HEADER + 8
            self._ssrcs = [load_u32(p + 4 * i) for i in range(self._nssrc)]
        return self._ssrcs

    @ssrcs.setter
    def ssrcs(self, value):
        self._ssrcs = list(value)

    cdef Py_ssize_t _content_size(self) except -1:
        cdef Py_ssize_t n = self._nssrc if self._ssrcs is None else len(self._ssrcs)
        if n > 255:
            raise ValueError(f"REMB carries at most 255 SSRCs, got {n}")
        if not 0 <= self.exponent <= 63 or self.mantissa > REMB_MAX_MANTISSA:
            raise ValueError("REMB exponent must be 0..63 and mantissa 0..0x3FFFF")
        return HEADER + FB_HEADER + 8 + 4 * n

    cdef int _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t i, n
        _fb_header(self, p, 15, PT_PSFB)
        store_u32(p + 12, REMB_ID)
        if self._ssrcs is None:
            n = self._nssrc
            memcpy(p + 20, _ptr(self._src) + self._body + FB_HEADER + 8, <size_t>(4 * n))
        else:
            n = len(self._ssrcs)
            for i in range(n):
                store_u32(p + 20 + 4 * i, <uint32_t>self._ssrcs[i])
        p[16] = <uint8_t>n
        # BR Exp (6 bits) | BR Mantissa (18 bits)
        store_u24(p + 17, ((<uint32_t>self.exponent) << 18) | self.mantissa)
        return 0

    def __repr__(self):
        return (f"RtcpRembPacket(ssrc={self.ssrc}, bitrate={self.bitrate}, "
                f"ssrcs={self.ssrcs!r})")


# --- Transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01) ---

cdef bytes _twcc_tail(RtcpTwccPacket pkt):
    if pkt._tail is None:
        pkt._tail = pkt._src[pkt._body + FB_HEADER + TWCC_FIXED:pkt._body + pkt._n]
    return pkt._tail


cdef list _twcc_symbols(const uint8_t* t, Py_ssize_t n, Py_ssize_t count, list chunks):
    # t: packet chunks + deltas; returns ``count`` status symbols.
    cdef list out = []
    cdef Py_ssize_t pos = 0, covered = 0, k, i
    cdef uint16_t c
    cdef int sym
    while covered < count and n - pos >= 2:
        c = load_u16(t + pos)
        pos += 2
        if chunks is not None:
            chunks.append(c)
        if not (c & 0x8000):
            sym = (c >> 13) & 3
            k = c & 0x1FFF
            if k > count - covered:
                k = count - covered
            out.extend([sym] * k)
            covered += k
        elif not (c & 0x4000):
            k = 14 if count - covered > 14 else count - covered
            for i in range(k):
                out.append((c >> (13 - i)) & 1)
            covered += k
        else:
            k = 7 if count - covered > 7 else count - covered
            for i in range(k):
                out.append((c >> (12 - 2 * i)) & 3)
            covered += k
    return out


cdef Py_ssize_t _twcc_fill(const uint8_t* t, Py_ssize_t n, Py_ssize_t count,
                          uint8_t* syms) noexcept:
    # Decode ``count`` status symbols into syms[]; return the octets the
    # chunks take (the deltas start there).  Missing chunks leave zeros.
    cdef Py_ssize_t pos = 0, covered = 0, k, i
    cdef uint16_t c
    memset(syms, 0, <size_t>count)
    while covered < count and n - pos >= 2:
        c = load_u16(t + pos)
        pos += 2
        if not (c & 0x8000):
            k = c & 0x1FFF
            if k > count - covered:
                k = count - covered
            memset(syms + covered, (c >> 13) & 3, <size_t>k)
            covered += k
        elif not (c & 0x4000):
            k = 14 if count - covered > 14 else count - covered
            for i in range(k):
                syms[covered + i] = (c >> (13 - i)) & 1
            covered += k
        else:
            k = 7 if count - covered > 7 else count - covered
            for i in range(k):
                syms[covered + i] = (c >> (12 - 2 * i)) & 3
            covered += k
    return pos


cdef list _twcc_decode(RtcpTwccPacket pkt, int mode):
    # mode 0: [(seq, status, delta µs | None)]; 1: [(seq, arrival µs | None)];
    # 2: [delta µs] of received packets only.
    cdef bytes tail = _twcc_tail(pkt)
    cdef const uint8_t* t = _ptr(tail)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(tail)
    cdef Py_ssize_t count = pkt.packet_status_count, i, pos
    cdef uint8_t* syms
    cdef int64_t at = <int64_t>pkt.reference_time * TWCC_REF_US, d
    cdef bint has
    cdef list out = []
    if count == 0:
        return out
    syms = <uint8_t*>malloc(<size_t>count)
    if syms == NULL:
        raise MemoryError()
    try:
        pos = _twcc_fill(t, n, count, syms)
        for i in range(count):
            has = False
            if syms[i] == 1 and pos + 1 <= n:
                d = <int64_t>t[pos] * TWCC_TICK_US
                pos += 1
                has = True
            elif syms[i] == 2 and pos + 2 <= n:
                d = <int64_t>(<int16_t>load_u16(t + pos)) * TWCC_TICK_US
                pos += 2
                has = True
            else:
                d = 0
            if mode == 2:
                if has:
                    out.append(d)
            elif mode == 1:
                if has:
                    at += d
                    out.append((<uint16_t>(pkt.base_sequence_number + i), at))
                else:
                    out.append((<uint16_t>(pkt.base_sequence_number + i), None))
            else:
                out.append((<uint16_t>(pkt.base_sequence_number + i), syms[i],
                            d if has else None))
        return out
    finally:
        free(syms)


@cython.final
cdef class RtcpTwccPacket(FeedbackPacket):
    """Transport-wide congestion control feedback (RTPFB FMT 15).

    Build one with :meth:`from_arrivals`; read one with ``packets``
    (seq, status, receive delta µs), ``recv_deltas`` and ``arrivals``."""

    def __init__(self, uint32_t ssrc=0, uint32_t media_ssrc=0, int fb_pkt_count=0):
        self.ssrc = ssrc
        self.media_ssrc = media_ssrc
        self.fb_pkt_count = fb_pkt_count
        self._tail = b""

    @property
    def fmt(self):
        return 15

    @property
    def packet_type(self):
        return PT_RTPFB

    @property
    def reference_time_us(self):
        """The reference time in µs (reference_time × 64 ms)."""
        return <int64_t>self.reference_time * TWCC_REF_US

    @property
    def chunks(self):
        """Packet chunks as their raw 16-bit values."""
        cdef bytes t = _twcc_tail(self)
        cdef list out = []
        _twcc_symbols(_ptr(t), len(t), self.packet_status_count, out)
        return out

    @property
    def statuses(self):
        """One status symbol per packet (0 not received, 1 small, 2 large, 3 reserved)."""
        return [s for _, s, _ in _twcc_decode(self, 0)]

    @property
    def packets(self):
        """[(seq, status, receive delta in µs or None)] for every reported packet."""
        return _twcc_decode(self, 0)

    @property
    def recv_deltas(self):
        """Receive deltas in µs, one per received packet (250 µs units)."""
        return _twcc_decode(self, 2)

    @property
    def arrivals(self):
        """[(seq, arrival time µs or None)]: reference time plus the running
        sum of receive deltas."""
        return _twcc_decode(self, 1)

    @staticmethod
    def from_arrivals(packets, uint32_t ssrc=0, uint32_t media_ssrc=0, int fb_pkt_count=0,
                      reference_time=None):
        """Build feedback from [(seq, arrival time µs or None)].

        Sequence numbers may come in any order and wrap; gaps are reported as
        not received.  Arrival times are floored to 250 µs ticks; the
        reference time defaults to the first received arrival floored to
        64 ms (wrapped to signed 24 bits).  Chunks: run-length for runs of
        seven or more equal statuses, else a 1-bit vector when the next 14
        statuses need no large delta, else a 2-bit vector."""
        return _build_twcc(packets, ssrc, media_ssrc, fb_pkt_count, reference_time)

    cdef Py_ssize_t _content_size(self) except -1:
        return HEADER + FB_HEADER + TWCC_FIXED + len(_twcc_tail(self))

    cdef int _write(self, uint8_t* p) except -1:
        cdef bytes t = _twcc_tail(self)
        _fb_header(self, p, 15, PT_RTPFB)
        store_u16(p + 12, self.base_sequence_number)
        store_u16(p + 14, self.packet_status_count)
        store_u24(p + 16, (<uint32_t>self.reference_time) & 0xFFFFFF)
        p[19] = self.fb_pkt_count
        memcpy(p + 20, _ptr(t), <size_t>len(t))
        return 0

    def __repr__(self):
        return (f"RtcpTwccPacket(ssrc={self.ssrc}, media_ssrc={self.media_ssrc}, "
                f"base_sequence_number={self.base_sequence_number}, "
                f"packet_status_count={self.packet_status_count}, "
                f"reference_time={self.reference_time}, fb_pkt_count={self.fb_pkt_count}, "
                f"packets={self.packets!r})")


cdef RtcpTwccPacket _build_twcc(object packets, uint32_t ssrc, uint32_t media_ssrc,
                                int fb_pkt_count, object reference_time):
    cdef dict by_seq = {}
    cdef list seqs, syms, chunks
    cdef Py_ssize_t n, i, start, count, j, r, m
    cdef int gap, best, s
    cdef int64_t ref, prev, tick, d
    cdef uint16_t c
    cdef bint one_bit
    cdef bytearray deltas = bytearray()
    cdef RtcpTwccPacket pkt = RtcpTwccPacket.__new__(RtcpTwccPacket)
    for seq, arrival in packets:
        sq = _seq_of(seq)
        if sq not in by_seq:
            by_seq[sq] = arrival
    pkt.ssrc = ssrc
    pkt.media_ssrc = media_ssrc
    pkt.fb_pkt_count = fb_pkt_count
    if not by_seq:
        pkt.reference_time = 0 if reference_time is None else reference_time
        pkt._tail = b""
        return pkt
    seqs = sorted(by_seq)
    n = len(seqs)
    # start after the widest circular gap, as for NACK
    best = 0x10000 - <int>seqs[n - 1] + <int>seqs[0]
    start = 0
    for i in range(1, n):
        gap = <int>seqs[i] - <int>seqs[i - 1]
        if gap > best:
            best = gap
            start = i
    base = seqs[start]
    count = ((<int>seqs[(start + n - 1) % n] - <int>base) & 0xFFFF) + 1
    if count > 0xFFFF:
        raise ValueError("TWCC feedback covers at most 65535 sequence numbers")
    arrivals = [None] * count
    for sq, arrival in by_seq.items():
        arrivals[(sq - base) & 0xFFFF] = arrival
    if reference_time is None:
        ref = 0
        for a in arrivals:
            if a is not None:
                ref = a // TWCC_REF_US
                break
    else:
        ref = reference_time
    prev = ref * (TWCC_REF_US // TWCC_TICK_US)
    syms = []
    for a in arrivals:
        if a is None:
            syms.append(0)
            continue
        tick = a // TWCC_TICK_US
        d = tick - prev
        prev = tick
        if 0 <= d <= 255:
            syms.append(1)
            deltas.append(<uint8_t>d)
        elif -32768 <= d <= 32767:
            syms.append(2)
            deltas.append(<uint8_t>((<uint16_t>d) >> 8))
            deltas.append(<uint8_t>d)
        else:
            raise ValueError(f"TWCC receive delta of {d * TWCC_TICK_US} µs does not fit 16 bits")
    chunks = []
    i = 0
    while i < count:
        s = syms[i]
        r = 1
        while i + r < count and r < 0x1FFF and <int>syms[i + r] == s:
            r += 1
        if r >= 7 or i + r == count:
            # §3.1.3 run length chunk
            chunks.append((s << 13) | r)
            i += r
            continue
        m = min(14, count - i)
        one_bit = True
        for j in range(m):
            if <int>syms[i + j] > 1:
                one_bit = False
                break
        if one_bit:
            c = 0x8000   # §3.1.4 1-bit status vector
            for j in range(m):
                c |= (<uint16_t>(<int>syms[i + j])) << (13 - j)
        else:
            m = min(7, count - i)
            c = 0xC000   # §3.1.4 2-bit status vector
            for j in range(m):
                c |= (<uint16_t>(<int>syms[i + j])) << (12 - 2 * j)
        chunks.append(c)
        i += m
    tail = bytearray(2 * len(chunks))
    for j in range(len(chunks)):
        c = chunks[j]
        tail[2 * j] = c >> 8
        tail[2 * j + 1] = c & 0xFF
    tail += deltas
    pkt.base_sequence_number = base
    pkt.packet_status_count = <uint16_t>count
    pkt.reference_time = _s24(<uint32_t>(ref & 0xFFFFFF))
    pkt._tail = bytes(tail)
    # P-bit padding to a 32-bit boundary, as browsers send it
    pkt.padding = (4 - (HEADER + FB_HEADER + TWCC_FIXED + len(tail)) % 4) % 4
    return pkt


# ---------------------------------------------------------------------------
# Building objects from checked packets.

cdef object _build(bytes src, const rtcp_info_t* info, int kind):
    cdef const uint8_t* p = _ptr(src) + info.offset
    cdef const uint8_t* b = p + HEADER
    cdef Py_ssize_t n = info.body_len
    cdef RtcpPacketBase obj
    cdef FeedbackPacket fb
    cdef Py_ssize_t i
    if kind == KIND_SR:
        sr = RtcpSrPacket.__new__(RtcpSrPacket)
        (<RtcpSrPacket>sr).ssrc = load_u32(b)
        (<RtcpSrPacket>sr)._nrep = info.count
        obj = <RtcpPacketBase>sr
    elif kind == KIND_RR:
        rr = RtcpRrPacket.__new__(RtcpRrPacket)
        (<RtcpRrPacket>rr).ssrc = load_u32(b)
        (<RtcpRrPacket>rr)._nrep = info.count
        obj = <RtcpPacketBase>rr
    elif kind == KIND_SDES:
        sd = RtcpSdesPacket.__new__(RtcpSdesPacket)
        (<RtcpSdesPacket>sd)._nchunks = info.count
        (<RtcpSdesPacket>sd)._raw_len = info.err_a
        obj = <RtcpPacketBase>sd
    elif kind == KIND_BYE:
        bye = RtcpByePacket.__new__(RtcpByePacket)
        (<RtcpByePacket>bye).sources = [load_u32(b + 4 * i) for i in range(info.count)]
        if n > 4 * info.count:
            i = b[4 * info.count]
            (<RtcpByePacket>bye).reason = PyBytes_FromStringAndSize(
                <const char*>b + 4 * info.count + 1, i)
        else:
            (<RtcpByePacket>bye).reason = None
        obj = <RtcpPacketBase>bye
    elif kind == KIND_APP:
        app = RtcpAppPacket.__new__(RtcpAppPacket)
        (<RtcpAppPacket>app).subtype = info.count
        (<RtcpAppPacket>app).ssrc = load_u32(b)
        (<RtcpAppPacket>app).name = PyBytes_FromStringAndSize(<const char*>b + 4, 4)
        (<RtcpAppPacket>app).data = PyBytes_FromStringAndSize(<const char*>b + 8, n - 8)
        obj = <RtcpPacketBase>app
    elif kind == KIND_UNKNOWN:
        unk = RtcpUnknownPacket.__new__(RtcpUnknownPacket)
        (<RtcpUnknownPacket>unk).packet_type = info.packet_type
        (<RtcpUnknownPacket>unk).count = info.count
        (<RtcpUnknownPacket>unk).payload = PyBytes_FromStringAndSize(<const char*>b, n)
        obj = <RtcpPacketBase>unk
    else:
        if kind == KIND_NACK:
            fb = RtcpNackPacket.__new__(RtcpNackPacket)
        elif kind == KIND_TWCC:
            tw = RtcpTwccPacket.__new__(RtcpTwccPacket)
            (<RtcpTwccPacket>tw).base_sequence_number = load_u16(b + 8)
            (<RtcpTwccPacket>tw).packet_status_count = load_u16(b + 10)
            (<RtcpTwccPacket>tw).reference_time = _s24(load_u24(b + 12))
            (<RtcpTwccPacket>tw).fb_pkt_count = b[15]
            fb = <FeedbackPacket>tw
        elif kind == KIND_PLI:
            fb = RtcpPliPacket.__new__(RtcpPliPacket)
        elif kind == KIND_FIR:
            fb = RtcpFirPacket.__new__(RtcpFirPacket)
        elif kind == KIND_REMB:
            remb = RtcpRembPacket.__new__(RtcpRembPacket)
            (<RtcpRembPacket>remb)._nssrc = b[12]
            (<RtcpRembPacket>remb).exponent = b[13] >> 2
            (<RtcpRembPacket>remb).mantissa = load_u24(b + 13) & REMB_MAX_MANTISSA
            fb = <FeedbackPacket>remb
        elif kind == KIND_RTPFB:
            g = RtcpRtpfbPacket.__new__(RtcpRtpfbPacket)
            (<RtcpRtpfbPacket>g).fmt = info.count
            (<RtcpRtpfbPacket>g).fci = PyBytes_FromStringAndSize(<const char*>b + 8, n - 8)
            fb = <FeedbackPacket>g
        else:
            g = RtcpPsfbPacket.__new__(RtcpPsfbPacket)
            (<RtcpPsfbPacket>g).fmt = info.count
            (<RtcpPsfbPacket>g).fci = PyBytes_FromStringAndSize(<const char*>b + 8, n - 8)
            fb = <FeedbackPacket>g
        fb.ssrc = load_u32(b)
        fb.media_ssrc = load_u32(b + 4)
        obj = <RtcpPacketBase>fb
    obj._src = src
    obj._body = info.offset + HEADER
    obj._n = n
    obj.padding = info.padding
    return obj


cdef dict _KIND_OF_CLASS = {
    RtcpSrPacket: KIND_SR, RtcpRrPacket: KIND_RR, RtcpSdesPacket: KIND_SDES,
    RtcpByePacket: KIND_BYE, RtcpAppPacket: KIND_APP, RtcpNackPacket: KIND_NACK,
    RtcpTwccPacket: KIND_TWCC, RtcpPliPacket: KIND_PLI, RtcpFirPacket: KIND_FIR,
    RtcpRembPacket: KIND_REMB,
}

cdef dict _EXPECTED = {
    KIND_SR: "SR (packet type 200)", KIND_RR: "RR (packet type 201)",
    KIND_SDES: "SDES (packet type 202)", KIND_BYE: "BYE (packet type 203)",
    KIND_APP: "APP (packet type 204)", KIND_NACK: "RTPFB FMT 1 (generic NACK)",
    KIND_TWCC: "RTPFB FMT 15 (transport-wide CC)", KIND_PLI: "PSFB FMT 1 (PLI)",
    KIND_FIR: "PSFB FMT 4 (FIR)", KIND_REMB: "PSFB FMT 15 (REMB)",
}


cdef object _parse_single(object data, object cls):
    cdef bytes src = _copy_input(data)
    cdef rtcp_info_t info
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    cdef RtcpStatus st = rtcp_read_packet(_ptr(src), n, 0, &info)
    cdef int want
    if st != RTCP_OK:
        rtcp_raise(st, &info)
    if info.size != n:
        raise ParseError(f"RTCP data holds {n - info.size} bytes after the first packet "
                         "(use parse_compound)")
    if cls is RtcpPacketBase:
        return _build(src, &info, info.kind)
    if cls is RtcpRtpfbPacket or cls is RtcpPsfbPacket or cls is FeedbackPacket:
        want = PT_RTPFB if cls is RtcpRtpfbPacket else PT_PSFB
        if cls is FeedbackPacket and info.packet_type in (PT_RTPFB, PT_PSFB):
            want = info.packet_type
        if info.packet_type != want:
            raise ParseError(f"expected RTCP packet type {want}, got {info.packet_type}")
        return _build(src, &info, KIND_RTPFB if want == PT_RTPFB else KIND_PSFB)
    if cls is RtcpUnknownPacket:
        return _build(src, &info, KIND_UNKNOWN)
    want = _KIND_OF_CLASS[cls]
    if info.kind == want:
        return _build(src, &info, want)
    # Well-formed RTCP that this class refuses (the typed check).
    if want == KIND_NACK and info.packet_type == PT_RTPFB and info.count == 1:
        raise ParseError("NACK without FCI (RFC 4585 §6.2.1 needs at least one PID/BLP pair)")
    if want == KIND_TWCC and info.packet_type == PT_RTPFB and info.count == 15:
        raise ParseError("TWCC feedback without FCI")
    if want == KIND_PLI and info.packet_type == PT_PSFB and info.count == 1:
        raise ParseError("PLI with FCI (RFC 4585 §6.3.1: the length field must be 2)")
    if want == KIND_FIR and info.packet_type == PT_PSFB and info.count == 4:
        raise ParseError("FIR without FCI (RFC 5104 §4.3.1.1 needs at least one entry)")
    if want == KIND_REMB and info.packet_type == PT_PSFB and info.count == 15:
        raise ParseError("PSFB FMT 15 without the REMB identifier")
    raise ParseError(f"expected {_EXPECTED[want]}, got RTCP packet type {info.packet_type} "
                     f"count/FMT {info.count}")


# ---------------------------------------------------------------------------
# Compound packets.

def parse_compound(data):
    """Parse a compound RTCP packet (RFC 3550 §6.1) into a list of packet
    objects.  Unknown packet types come back as :class:`RtcpUnknownPacket`;
    a malformed header, length or body raises :class:`ParseError`."""
    cdef bytes src = _copy_input(data)
    cdef const uint8_t* p = _ptr(src)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src), pos = 0
    cdef rtcp_info_t info
    cdef RtcpStatus st
    cdef list out = []
    # validate everything first, so nothing is built for a bad compound
    while True:
        st = rtcp_read_packet(p, n, pos, &info)
        if st != RTCP_OK:
            rtcp_raise(st, &info)
        pos += info.size
        if pos >= n:
            break
    pos = 0
    while pos < n:
        rtcp_read_packet(p, n, pos, &info)
        out.append(_build(src, &info, info.kind))
        pos += info.size
    return out


def compound_size(packets):
    """Bytes ``marshal_compound_into`` writes for ``packets``."""
    cdef Py_ssize_t total = 0
    for pkt in packets:
        total += (<RtcpPacketBase?>pkt)._total((<RtcpPacketBase>pkt)._content_size())
    return total


cdef Py_ssize_t _compound_to(list pkts, uint8_t* p, Py_ssize_t cap) except -1:
    cdef Py_ssize_t pos = 0, content, total, i
    cdef RtcpPacketBase pkt
    for i in range(len(pkts)):
        pkt = <RtcpPacketBase>pkts[i]
        content = pkt._content_size()
        total = pkt._total(content)
        if pos + total > cap:
            raise ValueError("RTCP compound changed size while marshalling")
        pkt._marshal_to(p + pos, content, total)
        pos += total
    return pos


cdef list _compound_list(object packets):
    cdef list pkts = list(packets)
    cdef Py_ssize_t i
    for i in range(len(pkts)):
        if not isinstance(pkts[i], RtcpPacketBase):
            raise TypeError(f"not an RTCP packet: {type(pkts[i]).__name__}")
        if (<RtcpPacketBase>pkts[i]).padding and i != len(pkts) - 1:
            raise ValueError("RTCP padding is only allowed on the last packet of a compound "
                             "(RFC 3550 §6.4.1)")
    return pkts


def marshal_compound(packets):
    """The packets concatenated into one compound RTCP packet."""
    cdef list pkts = _compound_list(packets)
    cdef Py_ssize_t size = compound_size(pkts)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    _compound_to(pkts, <uint8_t*>PyBytes_AS_STRING(out), size)
    return out


def marshal_compound_into(packets, buf, Py_ssize_t offset=0):
    """Write the compound into ``buf`` at ``offset``; return bytes written."""
    cdef list pkts = _compound_list(packets)
    cdef Py_ssize_t size = compound_size(pkts)
    cdef OutputView ov = OutputView()
    ov.acquire(buf, offset, size)
    try:
        return _compound_to(pkts, ov.ptr, size)
    finally:
        ov.release()


# ---------------------------------------------------------------------------
# Allocation-free walking, one compound or a batch of them.

cdef int _get_ints(object obj, Py_buffer* view, bint writable) except -1:
    # Any 4- or 8-byte integer buffer (array.array 'i'/'l'/'q', numpy ints).
    cdef int flags = PyBUF_FORMAT | (PyBUF_WRITABLE if writable else PyBUF_SIMPLE)
    cdef const char* f
    cdef size_t flen
    cdef char last = b'B'
    PyObject_GetBuffer(obj, view, flags)
    f = view.format
    if f != NULL:
        flen = strlen(f)
        if flen:
            last = f[flen - 1]
    if (not (last == b'i' or last == b'I' or last == b'l' or last == b'L' or last == b'q'
             or last == b'Q')
            or not (view.itemsize == 4 or view.itemsize == 8)
            or (writable and view.itemsize != 4)):
        msg = ("need a buffer of " + ("int32" if writable else "4- or 8-byte integers")
               + f", got format {chr(last)!r} itemsize {view.itemsize}")
        PyBuffer_Release(view)
        raise TypeError(msg)
    return 0


cdef inline int64_t _int_at(Py_buffer* v, Py_ssize_t i) noexcept nogil:
    if v.itemsize == 4:
        return (<int32_t*>v.buf)[i]
    return (<int64_t*>v.buf)[i]


def walk_compound(data, out):
    """Validate a compound and store (packet_type, count_or_fmt, offset, size)
    per packet into ``out`` (a writable int32 buffer, 4 entries per packet).
    Returns the packet count; allocates nothing."""
    cdef Py_buffer dv, ov
    cdef rtcp_info_t info
    cdef Py_ssize_t r
    PyObject_GetBuffer(data, &dv, PyBUF_SIMPLE)
    try:
        _get_ints(out, &ov, True)
        try:
            r = rtcp_walk(<const uint8_t*>dv.buf, dv.len, <int32_t*>ov.buf,
                          ov.len // 16, &info)
        finally:
            PyBuffer_Release(&ov)
    finally:
        PyBuffer_Release(&dv)
    if r < 0:
        if r == -RTCP_OUT_FULL:
            raise ValueError(f"out holds {info.err_a} packets; the compound has more")
        rtcp_raise(<RtcpStatus>(-r), &info)
    return r


def walk_batch(data, offsets, lengths, counts, out):
    """Walk many compounds: datagram i is data[offsets[i]:offsets[i]+lengths[i]].

    ``counts[i]`` receives its packet count, or -status when it is malformed
    (see ``RtcpStatus``); ``out`` (int32) receives (packet_type,
    count_or_fmt, offset into data, size) for every packet of the good ones,
    in order.  Returns the total number of packets stored.  No exception and
    no Python object per datagram; raises ValueError when ``out`` is full."""
    cdef Py_buffer dv, ofv, lnv, cv, ov
    cdef rtcp_info_t info
    cdef Py_ssize_t i, k, nd, used = 0, cap, off, ln, j
    cdef int32_t* o
    cdef int32_t* cnt
    cdef bint full = False
    PyObject_GetBuffer(data, &dv, PyBUF_SIMPLE)
    try:
        _get_ints(offsets, &ofv, False)
        try:
            _get_ints(lengths, &lnv, False)
            try:
                _get_ints(counts, &cv, True)
                try:
                    _get_ints(out, &ov, True)
                    try:
                        nd = ofv.len // ofv.itemsize
                        if lnv.len // lnv.itemsize < nd or cv.len // 4 < nd:
                            raise ValueError("lengths and counts must be as long as offsets")
                        cap = ov.len // 16
                        o = <int32_t*>ov.buf
                        cnt = <int32_t*>cv.buf
                        with nogil:
                            for i in range(nd):
                                off = _int_at(&ofv, i)
                                ln = _int_at(&lnv, i)
                                if off < 0 or ln < 0 or off > dv.len or ln > dv.len - off:
                                    cnt[i] = -<int32_t>RTCP_BAD_RANGE
                                    continue
                                k = rtcp_walk(<const uint8_t*>dv.buf + off, ln, o + 4 * used,
                                              cap - used, &info)
                                if k == -RTCP_OUT_FULL:
                                    full = True
                                    break
                                cnt[i] = <int32_t>k
                                if k > 0:
                                    for j in range(k):
                                        o[4 * (used + j) + 2] += <int32_t>off
                                    used += k
                    finally:
                        PyBuffer_Release(&ov)
                finally:
                    PyBuffer_Release(&cv)
            finally:
                PyBuffer_Release(&lnv)
        finally:
            PyBuffer_Release(&ofv)
    finally:
        PyBuffer_Release(&dv)
    if full:
        raise ValueError(f"out is full after {used} packets")
    return used


class RtcpPacket:
    """aiortc-style entry point: ``RtcpPacket.parse(data)`` parses a compound."""

    parse = staticmethod(parse_compound)
