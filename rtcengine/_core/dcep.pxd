# Data Channel Establishment Protocol messages (RFC 8832).

from libc.stdint cimport uint8_t, uint16_t, uint32_t

# RFC 8832 §8.2.1: message types.
cdef enum:
    MSG_DATA_CHANNEL_ACK = 0x02
    MSG_DATA_CHANNEL_OPEN = 0x03

# RFC 8832 §5.1 / §8.2.2: channel types; 0x80 is the unordered bit.
cdef enum:
    CH_RELIABLE = 0x00
    CH_PARTIAL_RELIABLE_REXMIT = 0x01
    CH_PARTIAL_RELIABLE_TIMED = 0x02
    CH_UNORDERED = 0x80
    CH_RELIABLE_UNORDERED = 0x80
    CH_PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81
    CH_PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82

# RFC 8832 §5.1: fixed part of DATA_CHANNEL_OPEN before label and protocol.
cdef enum:
    OPEN_HEADER_SIZE = 12


cdef class DataChannelOpen:
    cdef public uint8_t channel_type
    cdef public uint16_t priority
    cdef public uint32_t reliability_parameter
    cdef str _label
    cdef str _protocol
    cdef bytes _label_b
    cdef bytes _protocol_b
    cdef int _encode(self) except -1
    cdef Py_ssize_t _write(self, uint8_t* p) except -1


cdef class DataChannelAck:
    pass
