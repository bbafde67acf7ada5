"""RTP packets (RFC 3550 §5.1) with header extensions (RFC 3550 §5.3.1,
RFC 8285 §4.2 one-byte and §4.3 two-byte forms), 16-bit sequence-number
arithmetic (RFC 1982 §3.2, RFC 3550 §A.1) and the RTP/RTCP split of a muxed
port (RFC 5761 §4).

``RtpPacket.parse(data)`` reads the header in C and keeps only offsets: the
payload (a zero-copy ``memoryview``), the CSRC list and the extension elements
become Python objects when asked for.  ``pkt.parse_into(data)`` re-parses into
an existing object without allocating; ``parse_headers`` parses a batch of
packets from one buffer into an int64 table without a Python call per packet.
"""

cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBuffer_FillInfo,
                             PyBUF_SIMPLE, PyBUF_WRITABLE)
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.memoryview cimport PyMemoryView_FromObject
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t
from libc.string cimport memmove, memset

from rtcengine._core.buffer cimport (InputView, OutputView, fail, fail_short,
                                     load_u16, load_u32, store_u16, store_u32, pad4)
from rtcengine._core import buffer as _buffer


class ParseError(_buffer.ParseError):
    """Malformed RTP packet (a ``ValueError``)."""


cdef enum:
    RTP_VERSION = 2             # RFC 3550 §5.1: V = 2
    RTP_HEADER_SIZE = 12        # RFC 3550 §5.1: fixed header, without CSRCs
    RTP_MAX_CSRC = 15           # RFC 3550 §5.1: CC is 4 bits
    EXT_HEADER_SIZE = 4         # RFC 3550 §5.3.1: 16-bit profile + 16-bit length
    EXT_MAX_WORDS = 0xFFFF      # RFC 3550 §5.3.1: length counts 32-bit words
    PROFILE_ONE_BYTE = 0xBEDE   # RFC 8285 §4.2: one-byte form
    PROFILE_TWO_BYTE = 0x1000   # RFC 8285 §4.3: two-byte form 0x100 + 4 appbits
    PROFILE_TWO_BYTE_MASK = 0xFFF0  # RFC 8285 §4.3: the appbits are the low 4
    ONE_BYTE_ID_STOP = 15       # RFC 8285 §4.2: ID 15 ends processing of the block
    ONE_BYTE_MAX_ID = 14        # RFC 8285 §4.2: IDs 1-14 in the one-byte form
    ONE_BYTE_MAX_LEN = 16       # RFC 8285 §4.2: 4-bit L = length - 1, so 1..16
    TWO_BYTE_MAX_ID = 255       # RFC 8285 §4.3: 8-bit ID 1-255
    TWO_BYTE_MAX_LEN = 255      # RFC 8285 §4.3: 8-bit length 0..255
    MAX_PADDING = 255           # RFC 3550 §5.1: the count is one octet
    SEQ_MOD = 0x10000           # RFC 3550 §5.1: 16-bit sequence number




# ---------------------------------------------------------------- C parsers

cdef inline bint is_two_byte_profile(uint16_t profile) noexcept nogil:
    return (profile & PROFILE_TWO_BYTE_MASK) == PROFILE_TWO_BYTE


# Step to the next RFC 8285 element at or after pos[0] in p[0:n].  Returns 1
# (element: id, data offset and length set), 0 (end of block) or -1 (an
# element runs past the block; pos[0] is where it starts).
cdef int ext_next(bint one_byte, const uint8_t* p, Py_ssize_t n, Py_ssize_t* pos,
                  int* eid, Py_ssize_t* off, Py_ssize_t* length) noexcept nogil:
    cdef Py_ssize_t i = pos[0]
    cdef Py_ssize_t ln
    cdef uint8_t b
    while i < n:
        b = p[i]
        if b == 0:
            i += 1      # RFC 8285 §4.1: padding octets (0) between elements
            continue
        if one_byte:
            # RFC 8285 §4.2: ID 15 stops processing; ID 0 is only ever the
            # padding octet, so an ID 0 with L != 0 is treated the same way.
            if (b >> 4) == ONE_BYTE_ID_STOP or (b >> 4) == 0:
                pos[0] = n
                return 0
            ln = (b & 0x0F) + 1     # RFC 8285 §4.2: L is length - 1
            if ln > n - i - 1:
                pos[0] = i
                return -1
            eid[0] = b >> 4
            off[0] = i + 1
        else:
            if n - i < 2:       # RFC 8285 §4.3: ID octet then length octet
                pos[0] = i
                return -1
            ln = p[i + 1]
            if ln > n - i - 2:
                pos[0] = i
                return -1
            eid[0] = b
            off[0] = i + 2
        length[0] = ln
        pos[0] = off[0] + ln
        return 1
    pos[0] = i
    return 0


cdef RtpStatus rtp_check_extension_block(uint16_t profile, const uint8_t* p,
                                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t pos = 0, off = 0, ln = 0
    cdef int eid = 0, r
    cdef bint one_byte = profile == PROFILE_ONE_BYTE
    if not one_byte and not is_two_byte_profile(profile):
        return RTP_OK       # RFC 3550 §5.3.1 generic extension: opaque
    while True:
        r = ext_next(one_byte, p, n, &pos, &eid, &off, &ln)
        if r == 1:
            continue
        return RTP_OK if r == 0 else RTP_EXT_ELEMENT_PAST_END


cdef int rtp_find_extension(uint16_t profile, const uint8_t* p, Py_ssize_t n, int ext_id,
                            Py_ssize_t* off, Py_ssize_t* length) noexcept nogil:
    cdef Py_ssize_t pos = 0
    cdef int eid = 0
    cdef bint one_byte = profile == PROFILE_ONE_BYTE
    if not one_byte and not is_two_byte_profile(profile):
        return 0
    while ext_next(one_byte, p, n, &pos, &eid, off, length) == 1:
        if eid == ext_id:
            return 1
    return 0


cdef RtpStatus rtp_parse_header(const uint8_t* p, Py_ssize_t n, rtp_header_t* h) noexcept nogil:
    cdef Py_ssize_t pos
    cdef uint8_t b0, pad
    cdef RtpStatus st
    if n < RTP_HEADER_SIZE:
        return RTP_TOO_SHORT
    b0 = p[0]
    h.version = b0 >> 6                 # RFC 3550 §5.1: V (2 bits)
    if h.version != RTP_VERSION:
        return RTP_BAD_VERSION
    h.padding = (b0 >> 5) & 1           # P
    h.extension = (b0 >> 4) & 1         # X
    h.csrc_count = b0 & 0x0F            # CC
    h.marker = p[1] >> 7                # M
    h.payload_type = p[1] & 0x7F        # PT
    h.sequence_number = load_u16(p + 2)
    h.timestamp = load_u32(p + 4)
    h.ssrc = load_u32(p + 8)
    pos = RTP_HEADER_SIZE + 4 * h.csrc_count
    if n < pos:
        return RTP_CSRC_PAST_END
    if h.extension:
        # RFC 3550 §5.3.1: profile-defined 16 bits, then length in words.
        if n - pos < EXT_HEADER_SIZE:
            return RTP_EXT_HEADER_PAST_END
        h.extension_profile = load_u16(p + pos)
        h.extension_length = 4 * <Py_ssize_t>load_u16(p + pos + 2)
        pos += EXT_HEADER_SIZE
        h.extension_offset = pos
        if n - pos < h.extension_length:
            return RTP_EXT_LENGTH_PAST_END
        st = rtp_check_extension_block(h.extension_profile, p + pos, h.extension_length)
        if st != RTP_OK:
            return st
        pos += h.extension_length
    else:
        h.extension_profile = 0
        h.extension_offset = 0
        h.extension_length = 0
    h.header_length = pos
    h.payload_offset = pos
    if h.padding:
        # RFC 3550 §5.1: the last octet counts the padding, itself included.
        if n == pos:
            return RTP_PADDING_PAST_END
        pad = p[n - 1]
        if pad == 0:
            return RTP_PADDING_ZERO
        if pad > n - pos:
            return RTP_PADDING_PAST_END
        h.padding_size = pad
    else:
        h.padding_size = 0
    h.payload_length = n - pos - h.padding_size
    return RTP_OK


cdef str describe_element_error(uint16_t profile, const uint8_t* p, Py_ssize_t n):
    cdef Py_ssize_t pos = 0, off = 0, ln = 0
    cdef int eid = 0
    cdef bint one_byte = profile == PROFILE_ONE_BYTE
    while ext_next(one_byte, p, n, &pos, &eid, &off, &ln) == 1:
        pass
    if one_byte:
        return (f"RTP one-byte header extension element (id {p[pos] >> 4}, length "
                f"{(p[pos] & 0x0F) + 1}) at offset {pos} runs past the end of its "
                f"{n}-byte block")
    if n - pos < 2:
        return (f"RTP two-byte header extension element (id {p[pos]}) at offset {pos} "
                f"has no length octet in its {n}-byte block")
    return (f"RTP two-byte header extension element (id {p[pos]}, length {p[pos + 1]}) "
            f"at offset {pos} runs past the end of its {n}-byte block")


# Raise the ParseError that names what rtp_parse_header found wrong.
cdef int raise_status(RtpStatus st, const uint8_t* p, Py_ssize_t n,
                      const rtp_header_t* h) except -1:
    cdef Py_ssize_t pos
    if st == RTP_TOO_SHORT:
        return fail_short(ParseError, "RTP header", RTP_HEADER_SIZE, n)
    if st == RTP_BAD_VERSION:
        return fail(ParseError, f"RTP version must be 2, got {p[0] >> 6}")
    pos = RTP_HEADER_SIZE + 4 * (p[0] & 0x0F)
    if st == RTP_CSRC_PAST_END:
        return fail(ParseError, f"RTP CSRC list (CC={p[0] & 0x0F}) runs past the end: "
                                f"need {pos} bytes, have {n}")
    if st == RTP_EXT_HEADER_PAST_END:
        return fail(ParseError, f"RTP header extension header runs past the end: "
                                f"need {pos + EXT_HEADER_SIZE} bytes, have {n}")
    if st == RTP_EXT_LENGTH_PAST_END:
        return fail(ParseError,
                    f"RTP header extension length ({h.extension_length // 4} words) runs "
                    f"past the end: need {h.extension_offset + h.extension_length} bytes, "
                    f"have {n}")
    if st == RTP_EXT_ELEMENT_PAST_END:
        return fail(ParseError, describe_element_error(
            h.extension_profile, p + h.extension_offset, h.extension_length))
    if st == RTP_PADDING_ZERO:
        return fail(ParseError, "RTP padding count is 0 (P bit set, last octet 0)")
    if st == RTP_PADDING_PAST_END:
        if n == h.header_length:
            return fail(ParseError, f"RTP padding bit set but nothing follows the "
                                    f"{n}-byte header")
        return fail(ParseError, f"RTP padding count {p[n - 1]} exceeds the "
                                f"{n - h.header_length} bytes after the "
                                f"{h.header_length}-byte header")
    return fail(ParseError, f"RTP parse failed with status {<int>st}")


# ------------------------------------------------------- read-only windows

@cython.final
cdef class _Window:
    """A read-only buffer over src[off:off+length], holding its own export of
    src so the memory outlives any later re-parse of the packet."""
    cdef Py_buffer src
    cdef bint held
    cdef Py_ssize_t off
    cdef Py_ssize_t length

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        if not self.held:
            raise BufferError("empty RTP payload window")
        PyBuffer_FillInfo(buffer, self, <char*>self.src.buf + self.off, self.length, 1, flags)

    def __releasebuffer__(self, Py_buffer* buffer):
        pass

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.src)
            self.held = False


cdef object window(object src, Py_ssize_t off, Py_ssize_t length):
    cdef _Window w = _Window.__new__(_Window)
    PyObject_GetBuffer(src, &w.src, PyBUF_SIMPLE)
    w.held = True
    if off < 0 or length < 0 or off + length > w.src.len:
        raise BufferError("RTP payload window outside its buffer (the buffer shrank?)")
    w.off = off
    w.length = length
    return PyMemoryView_FromObject(w)


# ------------------------------------------------------------------ packets

cdef bytes as_bytes(object value):
    # A copy of a buffer-protocol object; unlike bytes(), rejects ints (which
    # bytes() would turn into that many zero octets) and lists.
    if type(value) is bytes:
        return <bytes>value
    return bytes(memoryview(value))


cdef bytes encode_elements(list elems, uint16_t old_profile, uint16_t* profile_out):
    """RFC 8285 block for [(id, value), ...]: one-byte form when every element
    fits it (§4.2), else two-byte (§4.3), zero-padded to 32 bits."""
    cdef list items = []
    cdef bint one_byte = True
    cdef Py_ssize_t size = 0, padded, ln, i = 0
    cdef int eid
    cdef bytes value, block
    cdef uint8_t* out
    for item in elems:
        eid_obj, value_obj = item
        eid = eid_obj
        value = as_bytes(value_obj)
        ln = len(value)
        if eid < 1 or eid > TWO_BYTE_MAX_ID:
            raise ValueError(f"RTP header extension id must be 1..255, got {eid}")
        if ln > TWO_BYTE_MAX_LEN:
            raise ValueError(f"RTP header extension value too long: {ln} bytes (id {eid}), "
                             f"at most 255")
        # RFC 8285 §4.2: IDs 1-14 and lengths 1-16 only; else §4.3.
        if eid > ONE_BYTE_MAX_ID or ln == 0 or ln > ONE_BYTE_MAX_LEN:
            one_byte = False
        items.append((eid, value))
        size += ln
    size += len(items) * (1 if one_byte else 2)
    padded = size + pad4(size)
    if padded > 4 * EXT_MAX_WORDS:
        raise ValueError(f"RTP header extensions too large: {padded} bytes")
    block = PyBytes_FromStringAndSize(NULL, padded)
    out = <uint8_t*>PyBytes_AS_STRING(block)
    for eid, value in items:
        ln = len(value)
        if one_byte:
            out[i] = <uint8_t>((eid << 4) | (ln - 1))
            i += 1
        else:
            out[i] = <uint8_t>eid
            out[i + 1] = <uint8_t>ln
            i += 2
        memmove(out + i, PyBytes_AS_STRING(value), <size_t>ln)
        i += ln
    memset(out + i, 0, <size_t>(padded - i))
    if one_byte:
        profile_out[0] = PROFILE_ONE_BYTE
    elif is_two_byte_profile(old_profile):
        profile_out[0] = old_profile    # keep the appbits (RFC 8285 §4.3)
    else:
        profile_out[0] = PROFILE_TWO_BYTE
    return block


@cython.final
@cython.freelist(16)
cdef class RtpPacket:
    """An RTP packet (RFC 3550 §5.1), field names as in aiortc's ``RtpPacket``.

    ``RtpPacket.parse(data)`` for received bytes; ``RtpPacket(payload_type=...,
    sequence_number=..., payload=...)`` to build one for sending.

    Differences from aiortc: ``payload`` is a read-only ``memoryview`` over the
    input (``bytes(pkt.payload)`` copies it); ``extensions`` is the list of
    RFC 8285 ``(id, value)`` elements, since mapping ids to names (a=extmap)
    belongs to the RTP sender/receiver; padding octets are written as zeros.
    ``csrc`` and ``extensions`` return new lists: assign to change them.
    """

    def __cinit__(self):
        self._version = RTP_VERSION

    def __init__(self, int payload_type=0, marker=False, sequence_number=0, timestamp=0,
                 ssrc=0, payload=b"", csrc=(), int padding_size=0, extensions=None,
                 extension_profile=None, extension_data=None, int version=RTP_VERSION):
        self.version = version
        self.payload_type = payload_type
        self.marker = marker
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
        self.csrc = csrc
        self.padding_size = padding_size
        if extensions is not None and extension_data is not None:
            raise ValueError("give either extensions (RFC 8285 elements) or extension_data "
                             "(a raw block), not both")
        if extension_profile is not None:
            self.extension_profile = extension_profile
        if extension_data is not None:
            self.extension_data = extension_data
        if extensions is not None:
            self.extensions = extensions

    # ---------------------------------------------------------- parsing

    @staticmethod
    def parse(data) -> RtpPacket:
        """Parse one RTP packet from any bytes-like object (zero-copy)."""
        cdef RtpPacket pkt = RtpPacket.__new__(RtpPacket)
        pkt.parse_c(data)
        return pkt

    def parse_into(self, data) -> None:
        """Re-parse this object from ``data``; allocates nothing for ``bytes``.
        On ParseError the packet is left empty."""
        self.parse_c(data)

    cdef int parse_c(self, object data) except -1:
        cdef rtp_header_t h
        cdef const uint8_t* p
        cdef Py_ssize_t n
        cdef RtpStatus st
        cdef int i
        if type(data) is bytes:
            # bytes are immutable: holding a reference keeps the pointer valid.
            p = <const uint8_t*>PyBytes_AS_STRING(data)
            n = PyBytes_GET_SIZE(data)
            if self._view is not None:
                self._view.release()
        else:
            if self._view is None:
                self._view = InputView()
            try:
                self._view.acquire(data)
            except BaseException:
                # acquire() released the previous export first: drop the
                # pointers into it before anything can read them.
                self._clear()
                raise
            p = self._view.ptr
            n = self._view.length
        st = rtp_parse_header(p, n, &h)
        if st != RTP_OK:
            try:
                return raise_status(st, p, n, &h)   # reads p: before the release
            finally:
                self._clear()
        self._data = data
        self._version = h.version
        self.marker = h.marker
        self._payload_type = h.payload_type
        self.sequence_number = h.sequence_number
        self.timestamp = h.timestamp
        self.ssrc = h.ssrc
        self._csrc_count = h.csrc_count
        for i in range(h.csrc_count):
            self._csrc[i] = load_u32(p + RTP_HEADER_SIZE + 4 * i)
        self._padding_size = <uint8_t>h.padding_size
        self._has_ext = h.extension
        self._ext_profile = h.extension_profile
        self._ext_src = data
        self._ext_ptr = p + h.extension_offset
        self._ext_len = h.extension_length
        self._pay_src = data
        self._pay_view = None
        self._pay_off = h.payload_offset
        self._pay_ptr = p + h.payload_offset
        self._pay_len = h.payload_length
        self._pay_mv = None
        return 0

    cdef void _clear(self) noexcept:
        # Drop every pointer into the input (its export may be gone).
        if self._view is not None:
            self._view.release()
        self._data = None
        self._version = RTP_VERSION
        self.marker = False
        self._payload_type = 0
        self.sequence_number = 0
        self.timestamp = 0
        self.ssrc = 0
        self._csrc_count = 0
        self._padding_size = 0
        self._has_ext = False
        self._ext_profile = 0
        self._ext_src = None
        self._ext_ptr = NULL
        self._ext_len = 0
        self._pay_src = None
        self._pay_view = None
        self._pay_off = 0
        self._pay_ptr = NULL
        self._pay_len = 0
        self._pay_mv = None

    # ---------------------------------------------------------- fields

    @property
    def version(self) -> int:
        """RFC 3550 §5.1 V: 2."""
        return self._version

    @version.setter
    def version(self, int value):
        if value < 0 or value > 3:
            raise ValueError(f"RTP version is 2 bits, got {value}")
        self._version = <uint8_t>value

    @property
    def payload_type(self) -> int:
        """RFC 3550 §5.1 PT (7 bits)."""
        return self._payload_type

    @payload_type.setter
    def payload_type(self, int value):
        if value < 0 or value > 127:
            raise ValueError(f"RTP payload type must be 0..127, got {value}")
        self._payload_type = <uint8_t>value

    @property
    def padding_size(self) -> int:
        """Octets of padding including the count octet (RFC 3550 §5.1); 0: none."""
        return self._padding_size

    @padding_size.setter
    def padding_size(self, int value):
        if value < 0 or value > MAX_PADDING:
            raise ValueError(f"RTP padding size must be 0..255, got {value}")
        self._padding_size = <uint8_t>value

    @property
    def padding(self) -> bool:
        """RFC 3550 §5.1 P bit."""
        return self._padding_size > 0

    @property
    def extension(self) -> bool:
        """RFC 3550 §5.1 X bit."""
        return self._has_ext

    @property
    def csrc_count(self) -> int:
        """RFC 3550 §5.1 CC."""
        return self._csrc_count

    @property
    def csrc(self) -> list:
        """The CSRC list (a new list; assign to change it)."""
        return [self._csrc[i] for i in range(self._csrc_count)]

    @csrc.setter
    def csrc(self, value):
        cdef uint32_t tmp[RTP_MAX_CSRC]
        cdef int n = 0, i
        for v in value:
            if n == RTP_MAX_CSRC:
                raise ValueError("RTP allows at most 15 CSRCs (RFC 3550 §5.1)")
            tmp[n] = v
            n += 1
        for i in range(n):
            self._csrc[i] = tmp[i]
        self._csrc_count = <uint8_t>n

    @property
    def header_length(self) -> int:
        """Octets before the payload: 12 + 4*CC + extension header and data."""
        return self._header_size()

    @property
    def payload_offset(self) -> int:
        """Offset of the payload in the marshalled packet (== header_length)."""
        return self._header_size()

    @property
    def payload_length(self) -> int:
        return self._pay_len

    @property
    def payload(self):
        """The payload as a read-only ``memoryview`` over the input (no copy)."""
        if self._pay_mv is None:
            if self._pay_src is None:
                self._pay_mv = memoryview(b"")
            else:
                self._pay_mv = window(self._pay_src, self._pay_off, self._pay_len)
        return self._pay_mv

    @payload.setter
    def payload(self, value):
        cdef InputView v
        if type(value) is bytes:
            self._pay_src = value
            self._pay_view = None
            self._pay_off = 0
            self._pay_ptr = <const uint8_t*>PyBytes_AS_STRING(value)
            self._pay_len = PyBytes_GET_SIZE(value)
        else:
            v = InputView()
            v.acquire(value)
            self._pay_src = value
            self._pay_view = v
            self._pay_off = 0
            self._pay_ptr = v.ptr
            self._pay_len = v.length
        self._pay_mv = None

    # ------------------------------------------------------ extensions

    @property
    def extension_profile(self) -> int:
        """RFC 3550 §5.3.1 "defined by profile": 0xBEDE (RFC 8285 one-byte),
        0x100X (two-byte), anything else a generic extension; 0 if none."""
        return self._ext_profile

    @extension_profile.setter
    def extension_profile(self, int value):
        if value < 0 or value > 0xFFFF:
            raise ValueError(f"RTP extension profile is 16 bits, got {value}")
        self._ext_profile = <uint16_t>value

    @property
    def extension_data(self) -> bytes:
        """The raw extension block (after profile and length), b"" if none."""
        if self._ext_len == 0:
            return b""
        return PyBytes_FromStringAndSize(<const char*>self._ext_ptr, self._ext_len)

    @extension_data.setter
    def extension_data(self, value):
        cdef bytes block
        if value is None:
            self._set_block(None, 0, False)
            return
        block = as_bytes(value)
        if len(block) % 4:
            raise ValueError(f"RTP extension data must be a multiple of 4 bytes "
                             f"(RFC 3550 §5.3.1), got {len(block)}")
        if len(block) > 4 * EXT_MAX_WORDS:
            raise ValueError(f"RTP extension data too large: {len(block)} bytes")
        self._set_block(block, self._ext_profile, True)

    cdef void _set_block(self, bytes block, uint16_t profile, bint present) noexcept:
        self._has_ext = present
        self._ext_profile = profile
        self._ext_src = block
        if block is None:
            self._ext_ptr = NULL
            self._ext_len = 0
        else:
            self._ext_ptr = <const uint8_t*>PyBytes_AS_STRING(block)
            self._ext_len = PyBytes_GET_SIZE(block)

    cdef bint _is_rfc8285(self) noexcept:
        return self._ext_profile == PROFILE_ONE_BYTE or is_two_byte_profile(self._ext_profile)

    cdef list _elements(self):
        cdef list out = []
        cdef Py_ssize_t pos = 0, off = 0, ln = 0
        cdef int eid = 0, r
        cdef bint one_byte = self._ext_profile == PROFILE_ONE_BYTE
        if not self._has_ext or not self._is_rfc8285():
            return out
        while True:
            r = ext_next(one_byte, self._ext_ptr, self._ext_len, &pos, &eid, &off, &ln)
            if r == 0:
                return out
            if r < 0:
                raise ParseError(describe_element_error(
                    self._ext_profile, self._ext_ptr, self._ext_len))
            out.append((eid, PyBytes_FromStringAndSize(<const char*>self._ext_ptr + off, ln)))

    @property
    def extensions(self) -> list:
        """RFC 8285 elements as ``[(id, value), ...]`` in wire order (a new
        list); [] for no extension or a generic RFC 3550 one.  Assigning a list
        re-encodes the block, in the one-byte form when every element fits it
        (RFC 8285 §4.2), else in the two-byte form (§4.3)."""
        return self._elements()

    @extensions.setter
    def extensions(self, value):
        cdef uint16_t profile = 0
        cdef list elems = list(value)
        if not elems:
            self._set_block(None, 0, False)
            return
        block = encode_elements(elems, self._ext_profile, &profile)
        self._set_block(block, profile, True)

    def get_extension(self, int ext_id):
        """The value of RFC 8285 element ``ext_id`` (bytes), or None."""
        cdef Py_ssize_t off = 0, ln = 0
        if not self._has_ext:
            return None
        if rtp_check_extension_block(self._ext_profile, self._ext_ptr, self._ext_len) != RTP_OK:
            raise ParseError(describe_element_error(
                self._ext_profile, self._ext_ptr, self._ext_len))
        if rtp_find_extension(self._ext_profile, self._ext_ptr, self._ext_len, ext_id,
                              &off, &ln):
            return PyBytes_FromStringAndSize(<const char*>self._ext_ptr + off, ln)
        return None

    def set_extension(self, int ext_id, value) -> None:
        """Add or replace RFC 8285 element ``ext_id``; the block is re-encoded
        in the form its elements need (RFC 8285 §4.2/§4.3)."""
        cdef list elems
        cdef Py_ssize_t i
        if self._has_ext and not self._is_rfc8285():
            raise ValueError(f"packet carries a generic extension (profile "
                             f"0x{self._ext_profile:04x}); set extension_data instead")
        elems = self._elements()
        for i in range(len(elems)):
            if elems[i][0] == ext_id:
                elems[i] = (ext_id, value)
                break
        else:
            elems.append((ext_id, value))
        self.extensions = elems

    def remove_extension(self, int ext_id) -> bool:
        """Remove every RFC 8285 element ``ext_id``; True if there was one."""
        cdef list elems = self._elements()
        cdef list kept = [e for e in elems if e[0] != ext_id]
        if len(kept) == len(elems):
            return False
        self.extensions = kept
        return True

    # ---------------------------------------------------------- writing

    cdef Py_ssize_t _header_size(self) noexcept:
        cdef Py_ssize_t n = RTP_HEADER_SIZE + 4 * self._csrc_count
        if self._has_ext:
            n += EXT_HEADER_SIZE + self._ext_len
        return n

    cdef Py_ssize_t size_c(self) noexcept:
        return self._header_size() + self._pay_len + self._padding_size

    cdef Py_ssize_t write_c(self, uint8_t* p) noexcept:
        cdef Py_ssize_t pos = RTP_HEADER_SIZE
        cdef int i
        # RFC 3550 §5.1: V(2) P(1) X(1) CC(4) | M(1) PT(7) | seq | ts | SSRC
        p[0] = <uint8_t>((self._version << 6) | ((self._padding_size > 0) << 5)
                         | (self._has_ext << 4) | self._csrc_count)
        p[1] = <uint8_t>((self.marker << 7) | self._payload_type)
        store_u16(p + 2, self.sequence_number)
        store_u32(p + 4, self.timestamp)
        store_u32(p + 8, self.ssrc)
        for i in range(self._csrc_count):
            store_u32(p + pos, self._csrc[i])
            pos += 4
        if self._has_ext:
            # RFC 3550 §5.3.1: profile, length in 32-bit words, data.
            store_u16(p + pos, self._ext_profile)
            store_u16(p + pos + 2, <uint16_t>(self._ext_len >> 2))
            pos += EXT_HEADER_SIZE
            # memmove: an in-place rewrite of the parsed buffer overlaps itself.
            # (A NULL source with length 0 is still undefined for memmove.)
            if self._ext_len:
                memmove(p + pos, self._ext_ptr, <size_t>self._ext_len)
            pos += self._ext_len
        if self._pay_len:
            memmove(p + pos, self._pay_ptr, <size_t>self._pay_len)
        pos += self._pay_len
        if self._padding_size:
            # RFC 3550 §5.1: padding octets, the last one holding the count.
            memset(p + pos, 0, <size_t>(self._padding_size - 1))
            pos += self._padding_size
            p[pos - 1] = self._padding_size
        return pos

    def marshal_size(self) -> int:
        """Exact number of bytes ``marshal_into`` writes."""
        return self.size_c()

    def marshal_into(self, buf, Py_ssize_t offset=0) -> int:
        """Write the packet into ``buf`` (bytearray, memoryview, numpy ...) at
        ``offset``; returns the bytes written.  ValueError if it does not fit."""
        cdef Py_ssize_t n = self.size_c()
        cdef OutputView out
        if type(buf) is bytearray and offset >= 0 and n <= PyByteArray_GET_SIZE(buf) - offset:
            return self.write_c(<uint8_t*>PyByteArray_AS_STRING(buf) + offset)
        out = OutputView()
        out.acquire(buf, offset, n)
        try:
            return self.write_c(out.ptr)
        finally:
            out.release()

    def marshal(self) -> bytes:
        """The packet as new bytes."""
        cdef Py_ssize_t n = self.size_c()
        cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
        self.write_c(<uint8_t*>PyBytes_AS_STRING(out))
        return out

    def serialize(self) -> bytes:
        """aiortc's name for :meth:`marshal`."""
        return self.marshal()

    def __repr__(self):
        return (f"RtpPacket(seq={self.sequence_number}, ts={self.timestamp}, "
                f"marker={int(self.marker)}, payload={self._payload_type}, "
                f"{self._pay_len} bytes)")


# ----------------------------------------------------------------- batches

def parse_headers(buf, const int64_t[:] offsets, const int64_t[:] lengths,
                  int64_t[:, ::1] out) -> int:
    """Parse the RTP headers of ``len(offsets)`` packets lying in ``buf`` at
    ``offsets[i]`` with ``lengths[i]`` octets (int64 buffers: ``array('q')``,
    numpy int64) into row i of ``out`` (C-contiguous int64, at least
    ``PARSE_COLUMNS`` columns; see the ``COL_*`` constants).  A bad packet
    gets a nonzero ``COL_STATUS`` (an ``RtpStatus``) and zeros elsewhere;
    nothing is raised for it.  Returns the number of good packets."""
    cdef InputView view = InputView()
    cdef Py_ssize_t count = offsets.shape[0], i, good = 0
    cdef int64_t off, ln
    cdef rtp_header_t h
    cdef RtpStatus st
    cdef const uint8_t* base
    cdef Py_ssize_t total
    cdef int64_t* row
    if lengths.shape[0] != count:
        raise ValueError(f"offsets and lengths differ in length: {count} != {lengths.shape[0]}")
    if out.shape[0] < count or out.shape[1] < PARSE_COLUMNS:
        raise ValueError(f"out must have at least {count} rows and {PARSE_COLUMNS} columns, "
                         f"has {out.shape[0]}x{out.shape[1]}")
    view.acquire(buf)
    base = view.ptr
    total = view.length
    with nogil:
        for i in range(count):
            off = offsets[i]
            ln = lengths[i]
            row = &out[i, 0]
            memset(row, 0, PARSE_COLUMNS * sizeof(int64_t))
            if off < 0 or ln < 0 or off > total or ln > total - off:
                row[<int>COL_STATUS] = RTP_BAD_RANGE
                continue
            st = rtp_parse_header(base + off, <Py_ssize_t>ln, &h)
            if st != RTP_OK:
                row[<int>COL_STATUS] = st
                continue
            row[<int>COL_SEQUENCE_NUMBER] = h.sequence_number
            row[<int>COL_TIMESTAMP] = h.timestamp
            row[<int>COL_SSRC] = h.ssrc
            row[<int>COL_PAYLOAD_TYPE] = h.payload_type
            row[<int>COL_MARKER] = h.marker
            row[<int>COL_HEADER_LENGTH] = h.header_length
            row[<int>COL_PAYLOAD_OFFSET] = off + h.payload_offset
            row[<int>COL_PAYLOAD_LENGTH] = h.payload_length
            row[<int>COL_PADDING_SIZE] = h.padding_size
            row[<int>COL_EXTENSION_OFFSET] = off + h.extension_offset if h.extension else -1
            good += 1
    view.release()
    return good


# ------------------------------------------------------- sequence numbers

cdef inline uint16_t check_seq(int value) except? 0:
    if value < 0 or value >= SEQ_MOD:
        raise ValueError(f"RTP sequence number must be 0..65535, got {value}")
    return <uint16_t>value


def seq_lt(int a, int b) -> bool:
    """RFC 1982 §3.2 serial order: a precedes b (mod 2^16)."""
    return c_seq_lt(check_seq(a), check_seq(b))


def seq_gt(int a, int b) -> bool:
    """RFC 1982 §3.2 serial order: a follows b (mod 2^16)."""
    return c_seq_gt(check_seq(a), check_seq(b))


def seq_diff(int a, int b) -> int:
    """Signed distance a - b with wrap, in [-32768, 32767]."""
    return c_seq_diff(check_seq(a), check_seq(b))


def is_rtcp(data) -> bool:
    """RFC 5761 §4: True when a muxed RTP/RTCP packet is RTCP (second octet's
    low 7 bits in 64..95).  Fewer than 2 octets: False."""
    cdef InputView v
    if type(data) is bytes:
        return c_is_rtcp(<const uint8_t*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    v = InputView()
    v.acquire(data)
    return c_is_rtcp(v.ptr, v.length)


@cython.final
cdef class SequenceUnwrapper:
    """Extend 16-bit sequence numbers to 64 bits across wraps (RFC 3550 §A.1
    keeps a cycle count; RFC 3711 §3.3.1 guesses the ROC the same way).

    Each number is placed within 2^15 of the highest extended number seen so
    far; the first one maps to itself.  A packet from before the first one
    across a wrap unwraps to a negative number."""

    def __cinit__(self):
        self._highest = 0
        self._started = False

    cdef int64_t unwrap_c(self, uint16_t seq) noexcept nogil:
        cdef int64_t ext
        if not self._started:
            self._started = True
            self._highest = seq
            return seq
        ext = self._highest + c_seq_diff(seq, <uint16_t>self._highest)
        if ext > self._highest:
            self._highest = ext
        return ext

    def unwrap(self, int seq) -> int:
        """The extended sequence number of ``seq`` (0..65535)."""
        return self.unwrap_c(check_seq(seq))

    @property
    def highest(self):
        """The highest extended sequence number seen, or None before any."""
        return self._highest if self._started else None

    def reset(self) -> None:
        """Forget all history (e.g. after an SSRC change)."""
        self._highest = 0
        self._started = False


# The RtpStatus / RtpColumn members as module constants (rtp.COL_STATUS ...).
globals().update({name: member for enum_type in (RtpStatus, RtpColumn)
                  for name, member in enum_type.__members__.items()})
