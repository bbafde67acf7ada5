"""WebRTC Data Channel Establishment Protocol (RFC 8832) messages.

DATA_CHANNEL_OPEN (§5.1) and DATA_CHANNEL_ACK (§5.2) travel in SCTP DATA
chunks with PPID 50 (RFC 8831 §8) on the stream of the channel.

Decisions:

* DATA_CHANNEL_ACK is one octet (RFC 8832 §5.2) and that is what we write;
  parsing accepts trailing octets, because pion sends ``02 00 00 00``.
* DATA_CHANNEL_OPEN: bytes after the protocol are ignored (as pion and
  usrsctp do); a label/protocol that is not UTF-8 is a ``ParseError``
  (RFC 8832 §5.1: both are UTF-8); a channel type outside the RFC 8832
  §8.2.2 registry is a ``ParseError`` (no reliability mode to apply).
* Label and protocol lengths are byte counts of the UTF-8 encoding.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcpy
from libc.stdint cimport uint8_t, uint16_t, uint32_t

from rtcengine._core.buffer cimport (InputView, OutputView, fail, fail_short,
                                     load_u16, load_u32, store_u16, store_u32)

from rtcengine._core import buffer as _buffer


class ParseError(_buffer.ParseError):
    """Malformed DCEP message."""


DATA_CHANNEL_ACK = MSG_DATA_CHANNEL_ACK     # RFC 8832 §8.2.1
DATA_CHANNEL_OPEN = MSG_DATA_CHANNEL_OPEN   # RFC 8832 §8.2.1

DATA_CHANNEL_RELIABLE = CH_RELIABLE                                    # RFC 8832 §5.1
DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT = CH_PARTIAL_RELIABLE_REXMIT      # RFC 8832 §5.1
DATA_CHANNEL_PARTIAL_RELIABLE_TIMED = CH_PARTIAL_RELIABLE_TIMED        # RFC 8832 §5.1
DATA_CHANNEL_RELIABLE_UNORDERED = CH_RELIABLE_UNORDERED                # RFC 8832 §5.1
DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED = CH_PARTIAL_RELIABLE_REXMIT_UNORDERED
DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED = CH_PARTIAL_RELIABLE_TIMED_UNORDERED
# RFC 8832 §5.1: the high bit of the channel type means unordered delivery.
CHANNEL_TYPE_UNORDERED = CH_UNORDERED

CHANNEL_TYPE_NAMES = {
    0x00: "DATA_CHANNEL_RELIABLE",
    0x80: "DATA_CHANNEL_RELIABLE_UNORDERED",
    0x01: "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT",
    0x81: "DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED",
    0x02: "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED",
    0x82: "DATA_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED",
}

# RFC 8831 §6.4 / RFC 8832 §5.1: values of the Priority field.
PRIORITY_BELOW_NORMAL = 128     # RFC 8831 §6.4: below normal
PRIORITY_NORMAL = 256           # RFC 8831 §6.4: normal
PRIORITY_HIGH = 512             # RFC 8831 §6.4: high
PRIORITY_EXTRA_HIGH = 1024      # RFC 8831 §6.4: extra high

# RFC 8831 §8: SCTP Payload Protocol Identifiers.
PPID_DCEP = 50                  # RFC 8832: DCEP messages
PPID_STRING = 51                # RFC 8831 §8: WebRTC String
PPID_BINARY_PARTIAL = 52        # RFC 8831 §8: WebRTC Binary Partial (deprecated)
PPID_BINARY = 53                # RFC 8831 §8: WebRTC Binary
PPID_STRING_PARTIAL = 54        # RFC 8831 §8: WebRTC String Partial (deprecated)
PPID_STRING_EMPTY = 56          # RFC 8831 §8: empty string, one byte of user data
PPID_BINARY_EMPTY = 57          # RFC 8831 §8: empty binary, one byte of user data

# aiortc's names for the PPIDs.
WEBRTC_DCEP = PPID_DCEP
WEBRTC_STRING = PPID_STRING
WEBRTC_BINARY = PPID_BINARY
WEBRTC_STRING_EMPTY = PPID_STRING_EMPTY
WEBRTC_BINARY_EMPTY = PPID_BINARY_EMPTY


cdef inline bint _known_channel_type(uint8_t t) noexcept:
    return (t & 0x7F) <= CH_PARTIAL_RELIABLE_TIMED


cdef str _utf8(const uint8_t* p, Py_ssize_t n, str what):
    try:
        return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
    except UnicodeDecodeError as exc:
        fail(ParseError, f"DATA_CHANNEL_OPEN {what} is not UTF-8: {exc.reason} "
                         f"at byte {exc.start}")


cdef class DataChannelOpen:
    """DATA_CHANNEL_OPEN (RFC 8832 §5.1)."""

    def __init__(self, uint8_t channel_type=CH_RELIABLE, uint16_t priority=0,
                 uint32_t reliability_parameter=0, str label not None="",
                 str protocol not None=""):
        self.channel_type = channel_type
        self.priority = priority
        self.reliability_parameter = reliability_parameter
        self._label = label
        self._protocol = protocol
        self._label_b = None
        self._protocol_b = None

    @property
    def message_type(self) -> int:
        return MSG_DATA_CHANNEL_OPEN

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, str value not None):
        self._label = value
        self._label_b = None

    @property
    def protocol(self) -> str:
        return self._protocol

    @protocol.setter
    def protocol(self, str value not None):
        self._protocol = value
        self._protocol_b = None

    @property
    def ordered(self) -> bool:
        return not (self.channel_type & CH_UNORDERED)

    @property
    def channel_type_name(self) -> str:
        return CHANNEL_TYPE_NAMES.get(self.channel_type, f"unknown 0x{self.channel_type:02x}")

    @property
    def max_retransmits(self):
        """``reliability_parameter`` for a *_REXMIT channel, else None."""
        if (self.channel_type & 0x7F) == CH_PARTIAL_RELIABLE_REXMIT:
            return self.reliability_parameter
        return None

    @property
    def max_packet_lifetime(self):
        """``reliability_parameter`` (ms) for a *_TIMED channel, else None."""
        if (self.channel_type & 0x7F) == CH_PARTIAL_RELIABLE_TIMED:
            return self.reliability_parameter
        return None

    cdef int _encode(self) except -1:
        if self._label_b is None:
            self._label_b = self._label.encode("utf-8")
        if self._protocol_b is None:
            self._protocol_b = self._protocol.encode("utf-8")
        if PyBytes_GET_SIZE(self._label_b) > 0xFFFF:
            raise ValueError("DATA_CHANNEL_OPEN label longer than 65535 bytes")
        if PyBytes_GET_SIZE(self._protocol_b) > 0xFFFF:
            raise ValueError("DATA_CHANNEL_OPEN protocol longer than 65535 bytes")
        return 0

    def marshal_size(self) -> int:
        self._encode()
        return (OPEN_HEADER_SIZE + PyBytes_GET_SIZE(self._label_b)
                + PyBytes_GET_SIZE(self._protocol_b))

    cdef Py_ssize_t _write(self, uint8_t* p) except -1:
        cdef Py_ssize_t nl = PyBytes_GET_SIZE(self._label_b)
        cdef Py_ssize_t np = PyBytes_GET_SIZE(self._protocol_b)
        p[0] = MSG_DATA_CHANNEL_OPEN
        p[1] = self.channel_type
        store_u16(p + 2, self.priority)
        store_u32(p + 4, self.reliability_parameter)
        store_u16(p + 8, <uint16_t>nl)
        store_u16(p + 10, <uint16_t>np)
        memcpy(p + 12, PyBytes_AS_STRING(self._label_b), nl)
        memcpy(p + 12 + nl, PyBytes_AS_STRING(self._protocol_b), np)
        return 12 + nl + np

    def marshal_into(self, buf, Py_ssize_t offset=0) -> int:
        cdef Py_ssize_t n = self.marshal_size()
        cdef OutputView out = OutputView()
        out.acquire(buf, offset, n)
        try:
            return self._write(out.ptr)
        finally:
            out.release()

    def marshal(self) -> bytes:
        cdef Py_ssize_t n = self.marshal_size()
        cdef bytes b = PyBytes_FromStringAndSize(NULL, n)
        self._write(<uint8_t*>PyBytes_AS_STRING(b))
        return b

    def __bytes__(self) -> bytes:
        return self.marshal()

    @staticmethod
    def parse(data) -> DataChannelOpen:
        cdef InputView v = InputView()
        v.acquire(data)
        if v.length >= 1 and v.ptr[0] != MSG_DATA_CHANNEL_OPEN:
            fail(ParseError, f"expected DATA_CHANNEL_OPEN (0x03), got message type "
                             f"0x{v.ptr[0]:02x}")
        return _parse_open(v.ptr, v.length)

    def __eq__(self, other):
        if type(other) is not DataChannelOpen:
            return NotImplemented
        cdef DataChannelOpen o = <DataChannelOpen>other
        return (self.channel_type == o.channel_type and self.priority == o.priority
                and self.reliability_parameter == o.reliability_parameter
                and self._label == o._label and self._protocol == o._protocol)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"DataChannelOpen(channel_type=0x{self.channel_type:02x}, "
                f"priority={self.priority}, "
                f"reliability_parameter={self.reliability_parameter}, "
                f"label={self._label!r}, protocol={self._protocol!r})")


cdef DataChannelOpen _parse_open(const uint8_t* p, Py_ssize_t n):
    cdef Py_ssize_t nl, np
    cdef DataChannelOpen m
    if n < OPEN_HEADER_SIZE:
        fail_short(ParseError, "DATA_CHANNEL_OPEN", OPEN_HEADER_SIZE, n)
    if not _known_channel_type(p[1]):
        fail(ParseError, f"DATA_CHANNEL_OPEN has unknown channel type 0x{p[1]:02x}")
    nl = load_u16(p + 8)
    np = load_u16(p + 10)
    if OPEN_HEADER_SIZE + nl > n:
        fail(ParseError, f"DATA_CHANNEL_OPEN label past end: label length {nl} "
                         f"needs {OPEN_HEADER_SIZE + nl} bytes, have {n}")
    if OPEN_HEADER_SIZE + nl + np > n:
        fail(ParseError, f"DATA_CHANNEL_OPEN protocol past end: protocol length {np} "
                         f"needs {OPEN_HEADER_SIZE + nl + np} bytes, have {n}")
    m = DataChannelOpen.__new__(DataChannelOpen)
    m.channel_type = p[1]
    m.priority = load_u16(p + 2)
    m.reliability_parameter = load_u32(p + 4)
    m._label = _utf8(p + 12, nl, "label")
    m._protocol = _utf8(p + 12 + nl, np, "protocol")
    return m


cdef class DataChannelAck:
    """DATA_CHANNEL_ACK (RFC 8832 §5.2): one octet, 0x02."""

    @property
    def message_type(self) -> int:
        return MSG_DATA_CHANNEL_ACK

    def marshal_size(self) -> int:
        return 1

    def marshal_into(self, buf, Py_ssize_t offset=0) -> int:
        cdef OutputView out = OutputView()
        out.acquire(buf, offset, 1)
        out.ptr[0] = MSG_DATA_CHANNEL_ACK
        out.release()
        return 1

    def marshal(self) -> bytes:
        return b"\x02"

    def __bytes__(self) -> bytes:
        return b"\x02"

    @staticmethod
    def parse(data) -> DataChannelAck:
        cdef InputView v = InputView()
        v.acquire(data)
        if v.length < 1:
            fail_short(ParseError, "DATA_CHANNEL_ACK", 1, 0)
        if v.ptr[0] != MSG_DATA_CHANNEL_ACK:
            fail(ParseError, f"expected DATA_CHANNEL_ACK (0x02), got message type "
                             f"0x{v.ptr[0]:02x}")
        # RFC 8832 §5.2 says one octet; pion sends four: trailing octets ignored.
        return DataChannelAck()

    def __eq__(self, other):
        if type(other) is not DataChannelAck:
            return NotImplemented
        return True

    __hash__ = None

    def __repr__(self) -> str:
        return "DataChannelAck()"


def parse_message(data):
    """Parse a DCEP message (PPID 50), dispatching on the message type."""
    cdef InputView v = InputView()
    v.acquire(data)
    if v.length < 1:
        fail_short(ParseError, "DCEP message", 1, 0)
    if v.ptr[0] == MSG_DATA_CHANNEL_OPEN:
        return _parse_open(v.ptr, v.length)
    if v.ptr[0] == MSG_DATA_CHANNEL_ACK:
        return DataChannelAck()
    fail(ParseError, f"unknown DCEP message type 0x{v.ptr[0]:02x}")
