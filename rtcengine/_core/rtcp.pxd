# RTCP (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, REMB, transport-wide CC):
# the C layout of the packet classes and the C-level compound walker other
# modules (SRTCP, the relay path, congestion control) ``cimport``.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t


# RFC 3550 §12.1 / RFC 4585 §6.1: RTCP packet types.
cdef enum:
    PT_SR = 200       # RFC 3550 §6.4.1 sender report
    PT_RR = 201       # RFC 3550 §6.4.2 receiver report
    PT_SDES = 202     # RFC 3550 §6.5 source description
    PT_BYE = 203      # RFC 3550 §6.6 goodbye
    PT_APP = 204      # RFC 3550 §6.7 application-defined
    PT_RTPFB = 205    # RFC 4585 §6.2 transport-layer feedback
    PT_PSFB = 206     # RFC 4585 §6.3 payload-specific feedback


# What kind of object a packet becomes (the class ``parse_compound`` builds).
cpdef enum RtcpKind:
    KIND_UNKNOWN = 0  # any other packet type: kept raw
    KIND_SR = 1
    KIND_RR = 2
    KIND_SDES = 3
    KIND_BYE = 4
    KIND_APP = 5
    KIND_RTPFB = 6    # RTPFB of another FMT (or a NACK/TWCC with no FCI): raw FCI
    KIND_NACK = 7     # RFC 4585 §6.2.1 generic NACK (FMT 1)
    KIND_TWCC = 8     # transport-wide CC feedback (FMT 15)
    KIND_PSFB = 9     # PSFB of another FMT (SLI, RPSI, AFB ...): raw FCI
    KIND_PLI = 10     # RFC 4585 §6.3.1 (FMT 1)
    KIND_FIR = 11     # RFC 5104 §4.3.1 (FMT 4)
    KIND_REMB = 12    # draft-alvestrand-rmcat-remb-03 (FMT 15, "REMB")


# Status codes of ``rtcp_read_packet`` (also the batch walker's verdict).
cpdef enum RtcpStatus:
    RTCP_OK = 0
    RTCP_TOO_SHORT = 1            # fewer than 4 octets left for a header
    RTCP_BAD_VERSION = 2          # V != 2
    RTCP_LENGTH_PAST_END = 3      # (length + 1) * 4 runs past the data
    RTCP_PADDING_NOT_LAST = 4     # P=1 on a packet that is not the last one
    RTCP_BAD_PADDING = 5          # padding count 0 or larger than the body
    RTCP_BODY_TOO_SHORT = 6       # body shorter than its type needs
    RTCP_SDES_NO_END = 7          # SDES chunk without a null item
    RTCP_SDES_ITEM_PAST_END = 8   # SDES item runs past the body
    RTCP_BYE_REASON_PAST_END = 9  # BYE reason runs past the body
    RTCP_FCI_NOT_ALIGNED = 10     # NACK / FIR FCI not a whole number of entries
    RTCP_TWCC_CHUNKS_PAST_END = 11  # status chunks end before status count
    RTCP_TWCC_DELTAS_PAST_END = 12  # receive deltas run past the body
    RTCP_BAD_RANGE = 13           # batch only: offset/length outside the buffer
    RTCP_OUT_FULL = 14            # batch only: output array too small


# One packet of a compound, as the walker finds it.
ctypedef struct rtcp_info_t:
    int packet_type       # PT
    int count             # RC / SC / FMT / subtype (5 bits)
    int kind              # RtcpKind
    Py_ssize_t offset     # first octet of the packet in the compound
    Py_ssize_t size       # (length + 1) * 4
    Py_ssize_t body_len   # octets after the 4-octet header, without padding
    int padding           # padding octets (0 when P=0)
    Py_ssize_t err_a      # numbers for the error message
    Py_ssize_t err_b


# Read and validate the packet at ``p[pos:n]`` (header and the structure of
# its body) into *info.  Never reads outside p[0:n]; no GIL, raises nothing.
cdef RtcpStatus rtcp_read_packet(const uint8_t* p, Py_ssize_t n, Py_ssize_t pos,
                                 rtcp_info_t* info) noexcept nogil

# Walk a whole compound: store (packet_type, count_or_fmt, offset, size) for
# each packet in out[4*i:4*i+4], at most ``cap`` packets.  Returns the packet
# count, or -status (``*info`` then describes the error).
cdef Py_ssize_t rtcp_walk(const uint8_t* p, Py_ssize_t n, int32_t* out, Py_ssize_t cap,
                          rtcp_info_t* info) noexcept nogil

# Raise ``rtcp.ParseError`` describing ``status``.  Always returns -1.
cdef int rtcp_raise(RtcpStatus status, const rtcp_info_t* info) except -1


cdef class ReportBlock:
    cdef public uint32_t ssrc
    cdef public uint8_t fraction_lost       # RFC 3550 §6.4.1: fixed point, /256
    cdef int32_t _packets_lost              # signed 24-bit cumulative loss
    cdef public uint32_t highest_sequence   # extended highest sequence number
    cdef public uint32_t jitter             # interarrival jitter, RTP units
    cdef public uint32_t lsr                # middle 32 bits of the NTP stamp
    cdef public uint32_t dlsr               # delay since last SR, 1/65536 s


cdef class SenderInfo:
    cdef public uint64_t ntp_timestamp
    cdef public uint32_t rtp_timestamp
    cdef public uint32_t packet_count
    cdef public uint32_t octet_count


cdef class SdesChunk:
    cdef public uint32_t ssrc
    cdef public list items                  # [(item type, value bytes)]


cdef class RtcpPacketBase:
    cdef public int padding                 # P-bit padding octets (0: none)
    cdef bytes _src                         # wire bytes this object was parsed from
    cdef Py_ssize_t _body                   # offset of the body in _src
    cdef Py_ssize_t _n                      # body octets without padding
    cdef Py_ssize_t _content_size(self) except -1
    cdef int _write(self, uint8_t* p) except -1
    cdef Py_ssize_t _total(self, Py_ssize_t content) except -1
    cdef Py_ssize_t _marshal_to(self, uint8_t* p, Py_ssize_t content,
                                Py_ssize_t total) except -1


cdef class RtcpSrPacket(RtcpPacketBase):
    cdef public uint32_t ssrc
    cdef SenderInfo _sender_info
    cdef list _reports
    cdef bytes _extension
    cdef int _nrep


cdef class RtcpRrPacket(RtcpPacketBase):
    cdef public uint32_t ssrc
    cdef list _reports
    cdef bytes _extension
    cdef int _nrep


cdef class RtcpSdesPacket(RtcpPacketBase):
    cdef list _chunks
    cdef int _nchunks
    cdef Py_ssize_t _raw_len


cdef class RtcpByePacket(RtcpPacketBase):
    cdef public list sources
    cdef public object reason


cdef class RtcpAppPacket(RtcpPacketBase):
    cdef public int subtype
    cdef public uint32_t ssrc
    cdef public bytes name
    cdef public bytes data


cdef class RtcpUnknownPacket(RtcpPacketBase):
    cdef public int packet_type
    cdef public int count
    cdef public bytes payload


cdef class FeedbackPacket(RtcpPacketBase):
    cdef public uint32_t ssrc               # RFC 4585 §6.1: packet sender
    cdef public uint32_t media_ssrc         # RFC 4585 §6.1: media source


cdef class RtcpRtpfbPacket(FeedbackPacket):
    cdef public int fmt
    cdef public bytes fci


cdef class RtcpPsfbPacket(FeedbackPacket):
    cdef public int fmt
    cdef public bytes fci


cdef class RtcpNackPacket(FeedbackPacket):
    cdef bytes _fci                         # packed (PID, BLP) pairs


cdef class RtcpTwccPacket(FeedbackPacket):
    cdef readonly uint16_t base_sequence_number
    cdef readonly uint16_t packet_status_count
    cdef public int32_t reference_time      # signed 24-bit, multiples of 64 ms
    cdef public uint8_t fb_pkt_count
    cdef bytes _tail                        # packet chunks + receive deltas


cdef class RtcpPliPacket(FeedbackPacket):
    pass


cdef class RtcpFirPacket(FeedbackPacket):
    cdef list _entries


cdef class RtcpRembPacket(FeedbackPacket):
    cdef public int exponent                # BR Exp, 6 bits
    cdef public uint32_t mantissa           # BR Mantissa, 18 bits
    cdef list _ssrcs
    cdef int _nssrc
