"""SCTP association, sans-IO: RFC 9260 as profiled by RFC 8831 for WebRTC,
with PR-SCTP (RFC 3758) and stream reset (RFC 6525).

Bytes and time go in (``handle_packet(data, now)``, ``handle_timeout(now)``,
``send(...)``), bytes, events and a deadline come out (``poll_transmit()``,
``poll_event()``, ``next_deadline()``).  Nothing here reads a clock or does
I/O.  After any call that changes state, drain ``poll_transmit()`` until it
returns None and ``poll_event()`` until it returns None.

Decisions (where the RFCs leave a choice):

* The send queue is per stream; streams take turns per message (round robin).
  With DATA chunks the fragments of one message must have consecutive TSNs
  (RFC 9260 §6.9), so a message is never interleaved with another; I-DATA
  (RFC 8260) is not offered.
* Window accounting counts every DATA chunk as its user data plus the 16-byte
  chunk header, on both sides (RFC 9260 §6.2.1 leaves overhead accounting to
  the implementation; counting it bounds the memory a peer can make us hold
  with tiny messages).  The receive window also counts delivered messages the
  application has not taken with ``poll_event()`` yet, so a slow reader closes
  the window and the peer stops.
* ``bufferedAmount`` (``buffered_amount(sid)``) counts user bytes queued and
  not yet sent once; messages with PPID 56/57 (empty WebRTC messages, RFC 8831
  §6.6) and DCEP messages (PPID 50) count 0, as the W3C API wants.
* RTO.Min defaults to 0.2 s instead of RFC 9260 §16's suggested 1 s (data
  channels are interactive; the RFC's values are "suggested"); every RTO
  constant is an attribute.
* SACK timing (RFC 9260 §6.2 asks for a SACK for at least every second
  packet with DATA and within 200 ms): with ``sack_per_burst`` (the default)
  the SACK goes out at the end of every received burst, i.e. on the first
  ``poll_transmit()``/``poll_transmits()`` after DATA arrived, bundled with
  any DATA we send then.  That is one SACK per burst however large the burst,
  and never a wait: a peer whose congestion window is small (aiortc sends
  three packets and waits) is not held up by the delayed-SACK timer.  The
  timer (``delayed_sack_time``) stays armed as a fallback for a driver that
  polls only at ``next_deadline()``.  With ``sack_per_burst = False`` the
  RFC's own rule applies (every second packet or the timer; at once on a gap,
  a duplicate or the I bit).
* Slow start counts bytes (RFC 3465 Appropriate Byte Counting without its
  per-ACK limit L, as dcsctp's TCP-style slow start) instead of RFC 9260
  §7.2.1's "at most one MTU per SACK": a receiver that SACKs once per burst (ours, and any receiver behind
  a batching driver) acknowledges a whole window in one SACK, and the per-SACK
  cap would then grow cwnd by one MTU per round trip instead of doubling it.
  The growth per round trip is the RFC's (cwnd doubles), only independent of
  how many SACKs carry the acknowledgements.  Max.Burst (RFC 9260 §6.1, §16)
  is not applied for the same reason: it assumes a SACK per two packets, and
  with a per-burst SACK it would cap the sender at four packets per SACK,
  whatever the SACK acknowledged; cwnd and the peer's window bound bursts.
* The receive window (``rwnd``) defaults to 4 MiB (usrsctp and dcsctp offer
  several MiB): on a path with a 20 ms round trip, 1 MiB caps a transfer at
  50 MB/s.  Memory stays bounded by it (see the window accounting above).
* DATA more than 2^15 TSNs past the cumulative TSN is dropped unacknowledged
  (``dropped.rwnd``; the sender retransmits it) even with room in the window:
  SSNs are 16 bits and compared in serial arithmetic, so behind a hole a
  window of small messages (4 MiB holds ~36000 of 100 bytes) would put SSNs
  2^15 or more past the expected one, which would read as already delivered.
* An INIT in ESTABLISHED (a peer restart, RFC 9260 §5.2.2) and a COOKIE ECHO
  for a different association (case A of §5.2.4) are dropped and counted:
  WebRTC associations live and die with their DTLS connection.
* A DATA chunk with no user data is dropped and counted (RFC 9260 §6.2 asks
  for an ABORT; dcsctp and pion drop too).
* A message over our ``max_message_size`` (RFC 8841) is dropped and counted
  (``dropped.too_big``) as soon as the fragments held of it pass the limit,
  not at its E fragment: its further fragments are acknowledged and
  discarded on arrival, an ordered stream skips its SSN.  Neither an ABORT
  nor a stream reset: the association and the channel go on.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from libc.math cimport INFINITY, fabs
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memset

cdef extern from "rtce_live.h":
    # 1 in the debug build (RTCENGINE_DEBUG=1): live-object counting on.
    const int RTCE_LIVE

cdef Py_ssize_t _live_Association = 0
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int16_t, int32_t, int64_t, uint64_t

from rtcengine._core.buffer cimport InputView, load_u16, load_u32, store_u16, store_u32, store_u64, load_u64
from rtcengine._core.sctp cimport (
    PacketWriter, checksum_ok, walk_chunks_c, check_chunk,
    CT_DATA, CT_INIT, CT_INIT_ACK, CT_SACK, CT_HEARTBEAT, CT_HEARTBEAT_ACK, CT_ABORT,
    CT_SHUTDOWN, CT_SHUTDOWN_ACK, CT_ERROR, CT_COOKIE_ECHO, CT_COOKIE_ACK,
    CT_SHUTDOWN_COMPLETE, CT_RE_CONFIG, CT_FORWARD_TSN,
    FLAG_END, FLAG_BEGINNING, FLAG_UNORDERED, FLAG_IMMEDIATE, FLAG_T,
    DATA_HEADER_SIZE,
)
from rtcengine._core.hmac cimport HmacKey

from collections import deque
from os import urandom

from rtcengine._core import sctp as _sctp
from rtcengine.exceptions import InvalidStateError


# ---------------------------------------------------------------- constants

# Events returned by poll_event(): tuples whose first item is one of these.
EVENT_CONNECTED = 1         # (EVENT_CONNECTED,)
EVENT_DATA = 2              # (EVENT_DATA, stream_id, ppid, payload: bytes)
EVENT_STREAM_RESET = 3      # (EVENT_STREAM_RESET, [sid, ...]) peer reset its outgoing
EVENT_RESET_DONE = 4        # (EVENT_RESET_DONE, [sid, ...]) our outgoing reset done
EVENT_BUFFERED_LOW = 5      # (EVENT_BUFFERED_LOW, stream_id)
EVENT_CLOSED = 6            # (EVENT_CLOSED, reason: str | None) None = graceful

STATE_NAMES = ("CLOSED", "COOKIE-WAIT", "COOKIE-ECHOED", "ESTABLISHED",
               "SHUTDOWN-PENDING", "SHUTDOWN-SENT", "SHUTDOWN-RECEIVED",
               "SHUTDOWN-ACK-SENT")

cdef enum:
    # RFC 8831 §6.2: negotiate the maximum number of streams, 65535.
    MAX_STREAMS = 65535
    # Default a_rwnd (RFC 9260 §6.2, §5.1 INIT "Advertised Receiver Window
    # Credit"): 4 MiB, see the module docstring.
    DEFAULT_RWND = 4 * 1024 * 1024
    # Chunk cost in window accounting: user data + the DATA header (see
    # the module docstring; RFC 9260 §6.2.1).
    CHUNK_OVERHEAD = DATA_HEADER_SIZE
    # Bounds of the TSN-indexed rings (RFC 9260 §6.1: the sender never has
    # more than 2^31 TSNs outstanding; we keep far fewer).
    RX_MAX_SPAN = 65536
    # How far past the cumulative TSN we accept DATA.  SSNs are 16 bits and
    # ordered delivery compares them in serial arithmetic (RFC 9260 §1.6):
    # a message more than 2^15 - 1 SSNs past the next expected one would
    # read as older (and be dropped as delivered), after which its stream
    # waits forever for that SSN.  Each message takes at least one TSN and
    # the expected one still misses a fragment above the cumulative TSN, so
    # accepting TSNs at most 2^15 past it keeps every SSN within 2^15 - 1 of
    # the expected one.  (With 100-byte messages the 4 MiB window holds
    # ~36000 of them behind one hole: this bound is reached before it.)
    RX_MAX_AHEAD = 32768
    OB_MAX = 65536
    # RFC 9260 §3.3.4: at most this many Gap Ack Blocks / dup TSNs we send.
    MAX_GAPS = 128
    MAX_DUPS = 16
    # RFC 9260 §7.2.4: fast retransmit on the third miss indication.
    FAST_RTX_MISSES = 3
    # Our state cookie (RFC 9260 §5.1.3): 40 bytes of fields + HMAC-SHA256.
    COOKIE_FIELDS = 40
    COOKIE_SIZE = 72
    COOKIE_MAGIC = 0x52544345  # "RTCE"
    # Cookie flags: what the peer's INIT offered.
    CF_FORWARD_TSN = 1
    CF_RECONFIG = 2

# RFC 9260 §3.3.10 cause codes we send.
cdef enum:
    CAUSE_STALE_COOKIE = 3
    CAUSE_INVALID_MANDATORY_PARAMETER = 7
    CAUSE_USER_INITIATED_ABORT = 12
    CAUSE_PROTOCOL_VIOLATION = 13

# RFC 6525 §4.4 results.
cdef enum:
    RC_NOTHING_TO_DO = 0
    RC_PERFORMED = 1
    RC_DENIED = 2
    RC_BAD_SEQUENCE = 5
    RC_IN_PROGRESS = 6

# RFC 8831 §8: PPIDs of empty messages (one byte on the wire, 0 buffered),
# and of DCEP (RFC 8832 §8.1), not user data either.
cdef enum:
    PPID_DCEP = 50
    PPID_STRING_EMPTY = 56
    PPID_BINARY_EMPTY = 57


cdef inline bint tsn_lt(uint32_t a, uint32_t b) noexcept nogil:
    # RFC 9260 §1.6 serial number arithmetic (RFC 1982) on 32-bit TSNs.
    return <int32_t>(a - b) < 0

cdef inline bint tsn_le(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) <= 0

cdef inline bint tsn_gt(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) > 0

cdef inline bint ssn_lt(uint16_t a, uint16_t b) noexcept nogil:
    # RFC 9260 §1.6: serial arithmetic on 16-bit SSNs.
    return <int16_t>(a - b) < 0

cdef inline Py_ssize_t _cost(Py_ssize_t n) noexcept nogil:
    return n + CHUNK_OVERHEAD

# Reassembly context of a received fragment (rx_slot_t.rstate).
cdef enum:
    RX_UNKNOWN = 0      # its message's B fragment not (contiguously) seen yet
    RX_CHAINED = 1      # B..this fragment all here: ``acc`` bytes so far
    RX_DROPPED = 2      # its message is over max_message_size: discarded

cdef inline bint _same_msg(const rx_slot_t* a, const rx_slot_t* b) noexcept nogil:
    # RFC 9260 §6.9: fragments of one message share the stream, the U flag
    # and (ordered) the SSN; their TSNs are consecutive (no I-DATA here).
    return (a.sid == b.sid
            and (a.flags & FLAG_UNORDERED) == (b.flags & FLAG_UNORDERED)
            and ((a.flags & FLAG_UNORDERED) != 0 or a.ssn == b.ssn))


cdef uint32_t _random_u32(bint nonzero):
    cdef uint32_t v = 0
    while True:
        v = <uint32_t>int.from_bytes(urandom(4), "big")
        if v != 0 or not nonzero:
            return v


@cython.final
cdef class _Cookie:
    """The fields of a verified state cookie."""


# ---------------------------------------------------------------- the association

cdef class Association:
    """One SCTP association over a DTLS connection (RFC 8831 §5).

    ``is_client`` is the DTLS role (it picks even stream ids for data
    channels, RFC 8832 §6); either side may ``connect()``, both may (INIT
    collision, RFC 9260 §5.2.1).  ``max_message_size`` is what we accept (and
    advertise in SDP, RFC 8841); ``remote_max_message_size`` is the peer's,
    enforced by ``send()``.  ``rwnd`` is our receive window in bytes."""

    def __cinit__(self):
        global _live_Association
        if RTCE_LIVE:
            _live_Association += 1
        self._ob = NULL
        self._rx = NULL
        self._sout = NULL
        self._rr = NULL
        self._in_ssn = NULL
        self._walk = NULL

    def __init__(self, uint16_t local_port=5000, uint16_t remote_port=5000,
                 bint is_client=True, *, Py_ssize_t mtu=1200,
                 Py_ssize_t max_message_size=262144, Py_ssize_t rwnd=DEFAULT_RWND,
                 double now=0.0, initial_tsn=None, bytes secret=None):
        if mtu < 256 or mtu > 65535:
            raise ValueError(f"mtu must be 256..65535, got {mtu}")
        if max_message_size < 1:
            raise ValueError(f"max_message_size must be >= 1, got {max_message_size}")
        if rwnd < 1500 or rwnd > 0x7FFFFFFF:
            # RFC 9260 §6.2: a_rwnd >= 1500 (the smallest allowed INIT value).
            raise ValueError(f"rwnd must be 1500..2^31-1, got {rwnd}")
        self.local_port = local_port
        self.remote_port = remote_port
        self.is_client = is_client
        self.mtu = mtu
        self.max_message_size = max_message_size
        # RFC 8841 §6.1: without a=max-message-size the peer takes 64 KiB.
        self.remote_max_message_size = 65536
        self.local_rwnd = <uint32_t>rwnd
        # RFC 9260 §16 protocol parameters (RTO.Min lowered, see docstring).
        self.rto_initial = 1.0
        self.rto_min = 0.2
        self.rto_max = 60.0
        self.max_retrans = 10           # Association.Max.Retrans
        self.max_init_retransmits = 8   # Max.Init.Retransmits
        self.delayed_sack_time = 0.2    # RFC 9260 §6.2: at most 500 ms; 200 ms
        self.sack_per_burst = True      # SACK at every burst's end (docstring)
        self.cookie_lifetime = 60.0     # Valid.Cookie.Life
        self._state = ST_CLOSED
        self._cookie_key = HmacKey(secret if secret is not None else urandom(32), "sha256")
        self._control = []
        self._events = deque()
        self._now = now
        self._close_reason = None
        self._in_pending = {}
        self._deferred_reset = []
        self._reconfig_req = None
        self._reset_queued = []
        self._t1 = self._t2 = self._t3 = self._t_sack = self._t_reconfig = INFINITY
        self._rto = self.rto_initial
        self._t1_rto = self.rto_initial
        self._initial_tsn = _random_u32(False) if initial_tsn is None else <uint32_t>initial_tsn
        self._cur_sid = -1
        self._writer = PacketWriter(mtu)
        self._ob_cap = 256
        self._ob = <out_chunk_t*>calloc(self._ob_cap, sizeof(out_chunk_t))
        self._rx_cap = 256
        self._rx = <rx_slot_t*>calloc(self._rx_cap, sizeof(rx_slot_t))
        self._rr = <uint16_t*>malloc(65536 * sizeof(uint16_t))
        self._in_ssn = <uint16_t*>calloc(65536, sizeof(uint16_t))
        self._walk_cap = 512
        self._walk = <int32_t*>malloc(self._walk_cap * 4 * sizeof(int32_t))
        if (self._ob == NULL or self._rx == NULL or self._rr == NULL
                or self._in_ssn == NULL or self._walk == NULL):
            raise MemoryError()
        self._init_sender()

    def __dealloc__(self):
        cdef Py_ssize_t i
        global _live_Association
        if RTCE_LIVE:
            _live_Association -= 1
        self._free_data()
        free(self._ob)
        free(self._rx)
        free(self._rr)
        free(self._in_ssn)
        free(self._walk)
        if self._sout != NULL:
            for i in range(self._sout_cap):
                if self._sout[i] != NULL:
                    free(self._sout[i].q)
                    free(self._sout[i])
            free(self._sout)

    # Release every Python reference the C rings hold.
    cdef void _free_data(self) noexcept:
        cdef Py_ssize_t i, j
        cdef stream_out_t* s
        if self._ob != NULL:
            for i in range(self._ob_cap):
                Py_XDECREF(self._ob[i].data)
                self._ob[i].data = NULL
        if self._rx != NULL:
            for i in range(self._rx_cap):
                Py_XDECREF(self._rx[i].frag)
                self._rx[i].frag = NULL
        if self._sout != NULL:
            for i in range(self._sout_cap):
                s = self._sout[i]
                if s != NULL:
                    for j in range(s.q_count):
                        Py_XDECREF(s.q[(s.q_head + j) % s.q_cap].data)
                    s.q_count = 0
                    s.q_head = 0
                    s.buffered = 0
        self._queued_total = 0
        self._rr_count = 0
        self._cur_sid = -1

    cdef void _init_sender(self) noexcept:
        # RFC 9260 §5.1.3 / §6.5: TSNs start at the Initial TSN.
        self._next_tsn = self._initial_tsn
        self._cum_ack = self._initial_tsn - 1
        self._adv_peer_ack = self._cum_ack
        # RFC 6525 §5.1.1: request sequence numbers start at the Initial TSN.
        self._reconfig_seq = self._initial_tsn
        # RFC 9260 §7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4380)).
        self._cwnd = min(4 * self.mtu, max(2 * self.mtu, 4380))
        self._ssthresh = 0x7FFFFFFF
        self._flight = 0
        self._pba = 0

    cdef void _init_receiver(self, uint32_t peer_tsn) noexcept:
        # RFC 9260 §6.2: the Cumulative TSN Ack starts at Initial TSN - 1.
        self._peer_initial_tsn = peer_tsn
        self._peer_cum = peer_tsn - 1
        self._peer_highest = peer_tsn - 1
        self._rx_base = peer_tsn
        self._rx_head = 0
        self._peer_reconfig_seq = peer_tsn

    # ------------------------------------------------------------ properties

    @property
    def state(self) -> str:
        """RFC 9260 §4 state name."""
        return STATE_NAMES[self._state]

    @property
    def is_established(self) -> bool:
        return self._state == ST_ESTABLISHED

    @property
    def local_tag(self) -> int:
        return self._local_tag

    @property
    def peer_tag(self) -> int:
        return self._peer_tag

    @property
    def forward_tsn_supported(self) -> bool:
        return self._peer_forward_tsn

    @property
    def reconfig_supported(self) -> bool:
        return self._peer_reconfig

    @property
    def close_reason(self):
        return self._close_reason

    @property
    def stats(self) -> dict:
        cdef assoc_stats_t* s = &self._st
        return {
            "state": STATE_NAMES[self._state],
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "bytes_sent": s.bytes_sent,
            "bytes_received": s.bytes_received,
            "data_chunks_sent": s.data_chunks_sent,
            "data_chunks_received": s.data_chunks_received,
            "messages_sent": s.messages_sent,
            "messages_received": s.messages_received,
            "sacks_sent": s.sacks_sent,
            "sacks_received": s.sacks_received,
            "retransmits": s.retransmits,
            "fast_retransmits": s.fast_retransmits,
            "t3_expiries": s.t3_expiries,
            "abandoned": s.abandoned,
            "duplicates_received": s.duplicates_received,
            "forward_tsn_sent": s.forward_tsn_sent,
            "forward_tsn_received": s.forward_tsn_received,
            "dropped": {
                "bad_crc": s.dropped_bad_crc,
                "bad_vtag": s.dropped_bad_vtag,
                "malformed": s.dropped_malformed,
                "bad_port": s.dropped_bad_port,
                "out_of_state": s.dropped_out_of_state,
                "rwnd": s.dropped_rwnd,
                "too_big": s.dropped_too_big,
                "bad_ssn": s.dropped_bad_ssn,
                "bad_cookie": s.dropped_bad_cookie,
            },
            "rwnd": self._advertised_rwnd(),
            "peer_rwnd": self._peer_rwnd,
            "cwnd": self._cwnd,
            "ssthresh": self._ssthresh,
            "flight_size": self._flight,
            "srtt": self._srtt if self._rtt_measured else None,
            "rto": self._rto,
            "outstanding_chunks": self._ob_count,
            "queued_bytes": self._queued_total,
            "rx_buffered": self._rx_buffered,
            "rx_span": <Py_ssize_t>(self._peer_highest - self._rx_base + 1),
        }

    # ------------------------------------------------------------ events

    def poll_event(self):
        """The next event tuple, or None (see ``EVENT_*``)."""
        cdef tuple ev
        if not self._events:
            return None
        ev = self._events.popleft()
        if ev[0] == EVENT_DATA:
            self._consumed(ev)
        return ev

    def poll_events(self) -> list:
        """All pending events at once (one list per burst)."""
        cdef list out
        cdef tuple ev
        if not self._events:
            return []
        out = list(self._events)
        self._events.clear()
        for ev in out:
            if ev[0] == EVENT_DATA:
                self._consumed(ev)
        return out

    cdef void _consumed(self, tuple ev):
        cdef Py_ssize_t step
        self._rx_buffered -= _cost(PyBytes_GET_SIZE(ev[3]))
        if self._state < ST_ESTABLISHED:
            return
        # RFC 9260 §6.2: when the application makes room, SACK to update the
        # window, but not in bursts of small updates: only once it opens by a
        # quarter of the buffer beyond what we last advertised.
        step = max(self.mtu, <Py_ssize_t>(self.local_rwnd // 4))
        if self._last_rwnd < self.mtu:
            # The sender is stalled (it may only probe, §6.1 A): announce
            # the first opening of min(one MTU, half the buffer), the
            # receiver's silly-window avoidance of RFC 9293 §3.8.6.2.2
            # (RFC 1122 §4.2.3.3).
            step = min(self.mtu, <Py_ssize_t>(self.local_rwnd // 2))
        if self._advertised_rwnd() >= self._last_rwnd + step:
            self._sack_needed = True
            self._sack_now = True

    cdef Py_ssize_t _advertised_rwnd(self) noexcept:
        cdef Py_ssize_t r = <Py_ssize_t>self.local_rwnd - self._rx_buffered
        return r if r > 0 else 0

    cdef void _close(self, object reason):
        # RFC 9260 §4: any state -> CLOSED; the TCB is deleted.
        if self._state == ST_CLOSED and self._close_reason is not None:
            return
        self._state = ST_CLOSED
        self._close_reason = reason if reason is not None else "closed"
        self._t1 = self._t2 = self._t3 = self._t_sack = self._t_reconfig = INFINITY
        self._free_data()
        self._ob_count = 0
        self._flight = 0
        self._rtx_count = 0
        self._fast_count = 0
        self._events.append((EVENT_CLOSED, reason))

    # ------------------------------------------------------------ timers

    def next_deadline(self):
        """The earliest timer deadline (seconds, same clock as ``now``), or None."""
        cdef double d = self._t1
        if self._t2 < d:
            d = self._t2
        if self._t3 < d:
            d = self._t3
        if self._t_sack < d:
            d = self._t_sack
        if self._t_reconfig < d:
            d = self._t_reconfig
        return None if d == INFINITY else d

    def handle_timeout(self, double now) -> None:
        """Run the timers due at ``now``."""
        self._now = now
        if now >= self._t1:
            self._on_t1()
        if now >= self._t2:
            self._on_t2()
        if now >= self._t3:
            self._on_t3()
        if now >= self._t_sack:
            # RFC 9260 §6.2: the delayed SACK timer expired.
            self._t_sack = INFINITY
            if self._sack_needed:
                self._sack_now = True
        if now >= self._t_reconfig:
            self._on_reconfig_timer()

    cdef void _on_t1(self):
        # RFC 9260 §5.1 / §6.3.3: T1-init / T1-cookie expiry.
        self._t1_count += 1
        if self._t1_count > self.max_init_retransmits:
            self._close("handshake timed out (Max.Init.Retransmits)")
            return
        self._t1_rto = min(self._t1_rto * 2, self.rto_max)
        self._t1 = self._now + self._t1_rto
        if self._state == ST_COOKIE_WAIT and self._init_chunk is not None:
            self._control.append((0, self._init_chunk))
        elif self._state == ST_COOKIE_ECHOED and self._cookie_echo is not None:
            self._control.append((self._peer_tag, self._cookie_echo))
        else:
            self._t1 = INFINITY

    cdef void _on_t2(self):
        # RFC 9260 §9.2: T2-shutdown expiry resends SHUTDOWN / SHUTDOWN ACK.
        self._t2_count += 1
        if self._t2_count > self.max_retrans:
            self._send_abort(None)
            self._close("shutdown timed out (Association.Max.Retrans)")
            return
        self._rto = min(self._rto * 2, self.rto_max)
        self._t2 = self._now + self._rto
        if self._state == ST_SHUTDOWN_SENT:
            self._control.append((self._peer_tag, _sctp.ShutdownChunk(0, self._peer_cum)))
        elif self._state == ST_SHUTDOWN_ACK_SENT:
            self._control.append((self._peer_tag, _sctp.ShutdownAckChunk()))
        else:
            self._t2 = INFINITY

    cdef void _on_t3(self):
        # RFC 9260 §6.3.3: T3-rtx expiry.
        cdef Py_ssize_t k
        cdef out_chunk_t* c
        self._st.t3_expiries += 1
        if self._ob_count == 0:
            self._t3 = INFINITY
            return
        self._error_count += 1
        if self._error_count > self.max_retrans:
            # RFC 9260 §8.2: the peer is unreachable.
            self._send_abort(None)
            self._close("peer unreachable (Association.Max.Retrans)")
            return
        # E1 (§7.2.3): ssthresh = max(cwnd/2, 4*MTU), cwnd = 1 MTU.
        self._ssthresh = max(self._cwnd // 2, 4 * self.mtu)
        self._cwnd = self.mtu
        self._pba = 0
        self._fast_recovery = False
        # E2 (§6.3.3): back off the timer.
        self._rto = min(self._rto * 2, self.rto_max)
        # E3: every outstanding chunk is marked for retransmission.
        for k in range(self._ob_count):
            c = self._obk(k)
            if c.state == CS_FLIGHT or c.state == CS_RTX:
                if self._expired(c):
                    self._abandon(k)
                    continue
                if c.state == CS_FLIGHT:
                    c.state = CS_RTX
                    self._rtx_count += 1
                    self._flight -= _cost(c.length)
                elif c.fast:
                    self._fast_count -= 1
                c.fast = 0
                c.misses = 0
        self._fast_count = 0
        if self._peer_forward_tsn:
            self._advance_peer_ack_point()
        self._t3 = self._now + self._rto

    cdef void _on_reconfig_timer(self):
        # RFC 6525 §5.1.1: retransmit the outstanding request (same number).
        if self._reconfig_req is None or self._state != ST_ESTABLISHED:
            self._t_reconfig = INFINITY
            return
        self._reconfig_rto = min(self._reconfig_rto * 2, self.rto_max)
        self._t_reconfig = self._now + self._reconfig_rto
        self._control.append((self._peer_tag, self._reconfig_req[2]))

    # ------------------------------------------------------------ API

    def connect(self, double now) -> None:
        """Send INIT (RFC 9260 §5.1 A): CLOSED -> COOKIE-WAIT."""
        if self._state != ST_CLOSED or self._close_reason is not None:
            raise InvalidStateError(f"connect() in state {STATE_NAMES[self._state]}")
        self._now = now
        self._local_tag = _random_u32(True)
        init = _sctp.InitChunk(0, self._local_tag, self.local_rwnd, MAX_STREAMS,
                               MAX_STREAMS, self._initial_tsn)
        self._offer_extensions(init)
        self._init_chunk = init
        self._control.append((0, init))
        self._state = ST_COOKIE_WAIT
        self._t1_rto = self.rto_initial
        self._t1_count = 0
        self._t1 = now + self._t1_rto

    cdef void _offer_extensions(self, object chunk):
        # RFC 3758 §3.1 Forward-TSN-Supported; RFC 5061 §4.2.7 Supported
        # Extensions listing RE-CONFIG (RFC 6525 §3.1) and FORWARD TSN.
        chunk.forward_tsn_supported = True
        chunk.supported_extensions = [CT_RE_CONFIG, CT_FORWARD_TSN]

    def send(self, int stream_id, uint32_t ppid, data, *, bint ordered=True,
             max_retransmits=None, max_packet_lifetime_ms=None, now=None) -> None:
        """Queue one user message on a stream (RFC 9260 §10.1 SEND).

        Raises ValueError for an empty message (use PPID 56/57 with one
        byte, RFC 8831 §6.6) or one larger than ``remote_max_message_size``,
        InvalidStateError when the association or stream cannot send."""
        cdef bytes b
        cdef stream_out_t* s
        cdef msg_t* m
        cdef Py_ssize_t n
        if now is not None:
            self._now = now
        if type(data) is bytes:
            b = <bytes>data
        else:
            b = bytes(data)
        n = PyBytes_GET_SIZE(b)
        if self._state > ST_ESTABLISHED or (self._state == ST_CLOSED and self._close_reason is not None):
            raise InvalidStateError(f"cannot send in state {STATE_NAMES[self._state]}")
        if stream_id < 0 or stream_id >= MAX_STREAMS:
            raise ValueError(f"stream id must be 0..65534, got {stream_id}")
        if (self._state == ST_ESTABLISHED and self._peer_inbound_streams
                and stream_id >= self._peer_inbound_streams):
            raise ValueError(f"stream id {stream_id} is beyond the peer's "
                             f"{self._peer_inbound_streams} inbound streams")
        if n == 0:
            raise ValueError("SCTP cannot send an empty message (RFC 9260 §6.2); "
                             "send one byte with PPID 56/57 (RFC 8831 §6.6)")
        if n > self.remote_max_message_size:
            raise ValueError(f"message of {n} bytes exceeds the remote "
                             f"max-message-size of {self.remote_max_message_size} bytes")
        s = self._stream(stream_id)
        if s.reset_state:
            raise InvalidStateError(f"stream {stream_id} is being reset")
        if s.q_count == s.q_cap:
            self._grow_queue(s)
        m = &s.q[(s.q_head + s.q_count) % s.q_cap]
        s.q_count += 1
        Py_INCREF(b)
        m.data = <PyObject*>b
        m.length = n
        m.offset = 0
        m.accounted = (0 if ppid == PPID_STRING_EMPTY or ppid == PPID_BINARY_EMPTY
                       or ppid == PPID_DCEP else n)
        m.ppid = ppid
        m.unordered = not ordered
        m.ssn = 0
        m.msg_id = 0
        m.max_rtx = -1 if max_retransmits is None else max(0, min(<int>max_retransmits, 0x7FFFFFFF))
        if max_packet_lifetime_ms is None:
            m.expiry = INFINITY
        else:
            m.expiry = self._now + max(0.0, <double>max_packet_lifetime_ms) / 1000.0
        s.buffered += m.accounted
        self._queued_total += n
        if not s.in_rr:
            self._rr_push(stream_id)
            s.in_rr = 1

    def buffered_amount(self, int stream_id) -> int:
        """User bytes queued on a stream and not yet sent once (W3C bufferedAmount)."""
        if stream_id < 0 or stream_id >= self._sout_cap or self._sout[stream_id] == NULL:
            return 0
        return self._sout[stream_id].buffered

    def set_buffered_amount_low_threshold(self, int stream_id, Py_ssize_t threshold) -> None:
        """EVENT_BUFFERED_LOW fires when bufferedAmount falls from above to <= this."""
        if stream_id < 0 or stream_id >= MAX_STREAMS:
            raise ValueError(f"stream id must be 0..65534, got {stream_id}")
        self._stream(stream_id).low_threshold = max(0, threshold)

    def reset_streams(self, stream_ids) -> None:
        """Reset our outgoing streams (RFC 6525 §5.1.2) once their queued data
        is sent; EVENT_RESET_DONE follows when the peer confirms."""
        cdef int sid
        cdef stream_out_t* s
        for sid in stream_ids:
            if sid < 0 or sid >= MAX_STREAMS:
                raise ValueError(f"stream id must be 0..65534, got {sid}")
            s = self._stream(sid)
            if s.reset_state == 0:
                s.reset_state = 1
                self._reset_queued.append(sid)

    def shutdown(self, double now) -> None:
        """Graceful close (RFC 9260 §9.2): ESTABLISHED -> SHUTDOWN-PENDING."""
        self._now = now
        if self._state == ST_ESTABLISHED:
            # RFC 9260 §9.2: stop accepting data, send SHUTDOWN when all acked.
            self._state = ST_SHUTDOWN_PENDING
            self._check_shutdown()
        elif self._state == ST_COOKIE_WAIT or self._state == ST_COOKIE_ECHOED:
            # RFC 9260 §9.2: before ESTABLISHED the TCB is simply deleted.
            self._send_abort(None)
            self._close(None)

    def abort(self, reason=None) -> None:
        """ABORT the association (RFC 9260 §9.1) -> CLOSED."""
        if self._state == ST_CLOSED:
            return
        self._send_abort("User-Initiated Abort" if reason is None else str(reason))
        self._close("aborted locally" if reason is None else f"aborted locally: {reason}")

    cdef void _send_abort(self, object reason):
        # RFC 9260 §3.3.7: ABORT with our peer's tag; a cause if given.
        cdef list causes = []
        if self._peer_tag == 0:
            return
        if reason is not None:
            causes.append((CAUSE_USER_INITIATED_ABORT, str(reason).encode()[:256]))
        self._control.append((self._peer_tag, _sctp.AbortChunk(0, causes)))

    # ------------------------------------------------------------ stream table

    cdef stream_out_t* _stream(self, int sid) except NULL:
        cdef Py_ssize_t cap
        cdef stream_out_t** grown
        cdef stream_out_t* s
        if sid >= self._sout_cap:
            cap = max(64, self._sout_cap)
            while cap <= sid:
                cap *= 2
            grown = <stream_out_t**>realloc(self._sout, cap * sizeof(stream_out_t*))
            if grown == NULL:
                raise MemoryError()
            memset(&grown[self._sout_cap], 0, (cap - self._sout_cap) * sizeof(stream_out_t*))
            self._sout = grown
            self._sout_cap = cap
        s = self._sout[sid]
        if s == NULL:
            s = <stream_out_t*>calloc(1, sizeof(stream_out_t))
            if s == NULL:
                raise MemoryError()
            s.q_cap = 4
            s.q = <msg_t*>calloc(s.q_cap, sizeof(msg_t))
            if s.q == NULL:
                free(s)
                raise MemoryError()
            self._sout[sid] = s
        return s

    cdef int _grow_queue(self, stream_out_t* s) except -1:
        cdef Py_ssize_t cap = s.q_cap * 2, i
        cdef msg_t* q = <msg_t*>malloc(cap * sizeof(msg_t))
        if q == NULL:
            raise MemoryError()
        for i in range(s.q_count):
            q[i] = s.q[(s.q_head + i) % s.q_cap]
        free(s.q)
        s.q = q
        s.q_cap = cap
        s.q_head = 0
        return 0

    cdef void _rr_push(self, uint16_t sid) noexcept:
        self._rr[(self._rr_head + self._rr_count) & 0xFFFF] = sid
        self._rr_count += 1

    cdef void _pop_message(self, int sid, stream_out_t* s) noexcept:
        # Drop the head message of a stream's queue (fully sent or dropped).
        cdef msg_t* m = &s.q[s.q_head]
        Py_XDECREF(m.data)
        m.data = NULL
        s.q_head = (s.q_head + 1) % s.q_cap
        s.q_count -= 1
        if self._cur_sid == sid:
            self._cur_sid = -1

    cdef void _debit(self, int sid, stream_out_t* s, Py_ssize_t n):
        # bufferedAmount decreases; W3C bufferedamountlow on the crossing.
        cdef Py_ssize_t before = s.buffered
        if n <= 0:
            return
        s.buffered -= n
        if before > s.low_threshold and s.buffered <= s.low_threshold:
            self._events.append((EVENT_BUFFERED_LOW, sid))

    # ------------------------------------------------------------ retransmission queue

    cdef out_chunk_t* _obk(self, Py_ssize_t k) noexcept:
        return &self._ob[(self._ob_head + k) & (self._ob_cap - 1)]

    cdef int _ob_grow(self) except -1:
        cdef Py_ssize_t cap = self._ob_cap * 2, i
        cdef out_chunk_t* ob = <out_chunk_t*>calloc(cap, sizeof(out_chunk_t))
        if ob == NULL:
            raise MemoryError()
        for i in range(self._ob_cap):
            ob[i] = self._ob[(self._ob_head + i) & (self._ob_cap - 1)]
        free(self._ob)
        self._ob = ob
        self._ob_cap = cap
        self._ob_head = 0
        return 0

    cdef bint _expired(self, out_chunk_t* c) noexcept:
        # RFC 3758 §3.5 A1/A2 / RFC 7496: limits of a partially reliable message.
        return ((c.max_rtx >= 0 and c.nsent > <uint32_t>c.max_rtx)
                or self._now >= c.expiry)

    cdef void _abandon(self, Py_ssize_t k):
        # RFC 3758 §3.5 A3: abandon every fragment of the message.
        cdef out_chunk_t* c = self._obk(k)
        cdef uint32_t mid = c.msg_id
        cdef Py_ssize_t lo = k, hi = k, i
        cdef stream_out_t* s
        cdef msg_t* m
        while lo > 0 and self._obk(lo - 1).msg_id == mid:
            lo -= 1
        while hi + 1 < self._ob_count and self._obk(hi + 1).msg_id == mid:
            hi += 1
        for i in range(lo, hi + 1):
            c = self._obk(i)
            if c.state == CS_FLIGHT:
                self._flight -= _cost(c.length)
            elif c.state == CS_RTX:
                self._rtx_count -= 1
                if c.fast:
                    self._fast_count -= 1
            if c.state != CS_DONE:
                c.state = CS_ABANDONED
            Py_XDECREF(c.data)
            c.data = NULL
        self._st.abandoned += 1
        # The unsent rest of the message, if it is still being fragmented.
        if self._cur_sid >= 0:
            s = self._sout[self._cur_sid]
            m = &s.q[s.q_head]
            if s.q_count and m.msg_id == mid and m.offset > 0:
                self._queued_total -= m.length - m.offset
                if m.accounted:
                    self._debit(self._cur_sid, s, m.length - m.offset)
                self._pop_message(self._cur_sid, s)

    cdef void _advance_peer_ack_point(self):
        # RFC 3758 §3.5 C1: move the Advanced.Peer.Ack.Point over abandoned
        # (and already gap-acked) chunks; C2: a FORWARD TSN is due if it moved.
        cdef Py_ssize_t k
        cdef out_chunk_t* c
        if tsn_lt(self._adv_peer_ack, self._cum_ack):
            self._adv_peer_ack = self._cum_ack
        k = <Py_ssize_t>(self._adv_peer_ack - self._cum_ack)
        while k < self._ob_count:
            c = self._obk(k)
            if c.state != CS_ABANDONED and c.state != CS_ACKED:
                break
            k += 1
        # Do not end on a gap-acked chunk past the last abandoned one.
        while k > 0 and self._obk(k - 1).state == CS_ACKED:
            k -= 1
        if k > <Py_ssize_t>(self._adv_peer_ack - self._cum_ack):
            self._adv_peer_ack = self._cum_ack + <uint32_t>k
        if tsn_gt(self._adv_peer_ack, self._cum_ack):
            self._fwd_pending = True

    # ------------------------------------------------------------ output

    def poll_transmit(self, now=None):
        """The next packet to send (bytes), or None when there is nothing."""
        if now is not None:
            self._now = now
        return self._build()

    def poll_transmits(self, now=None) -> list:
        """Every packet due now (one list per burst)."""
        cdef list out = []
        if now is not None:
            self._now = now
        pkt = self._build()
        while pkt is not None:
            out.append(pkt)
            pkt = self._build()
        return out

    cdef object _build(self):
        cdef PacketWriter w = self._writer
        cdef uint32_t vtag
        cdef bint data_ok, added_data = False, any_chunk = False
        cdef int r
        cdef object chunk
        cdef tuple item
        if self._state == ST_SHUTDOWN_PENDING or self._state == ST_SHUTDOWN_RECEIVED:
            self._check_shutdown()
        if self._reset_queued and self._reconfig_req is None:
            self._maybe_reconfig()
        data_ok = (self._state == ST_ESTABLISHED or self._state == ST_SHUTDOWN_PENDING
                   or self._state == ST_SHUTDOWN_RECEIVED)
        if self._control:
            item = self._control[0]
            vtag = item[0]
            w.begin_c(self.local_port, self.remote_port, vtag)
            while self._control:
                item = self._control[0]
                if <uint32_t>item[0] != vtag:
                    break
                chunk = item[1]
                if not w.add_chunk(chunk):
                    if w._chunks == 0:
                        # Cannot fit even alone: drop it (never for ours).
                        self._control.pop(0)
                        continue
                    break
                self._control.pop(0)
                # RFC 9260 §6.10: INIT, INIT ACK and SHUTDOWN COMPLETE go alone.
                if chunk.type in (CT_INIT, CT_INIT_ACK, CT_SHUTDOWN_COMPLETE):
                    return self._finish(w, False)
            if self._control or vtag != self._peer_tag or self._peer_tag == 0 or not data_ok:
                return self._finish(w, False)
            any_chunk = True
        elif self._peer_tag == 0 or self._state < ST_ESTABLISHED:
            return None
        else:
            w.begin_c(self.local_port, self.remote_port, self._peer_tag)
        # SACK: due now, or bundled with the data we are about to send.
        if self._sack_needed and (self._sack_now or (data_ok and self._has_data_to_send())):
            r = self._add_sack(w)
            if r == 0:
                return self._finish(w, False)
            any_chunk = True
        if self._fwd_pending and self._peer_forward_tsn and data_ok:
            if self._add_forward_tsn(w) == 0:
                return self._finish(w, False)
            any_chunk = True
        if data_ok:
            if self._rtx_count > 0:
                r = self._add_retransmissions(w)
                if r > 0:
                    added_data = True
                if r == -2:
                    return self._finish(w, True)
            if self._queued_total > 0 and self._rtx_count == 0:
                r = self._add_new_data(w)
                if r > 0:
                    added_data = True
        if not any_chunk and not added_data:
            if w._chunks == 0:
                return None
        return self._finish(w, added_data)

    cdef object _finish(self, PacketWriter w, bint data) :
        cdef Py_ssize_t n
        if w._chunks == 0:
            return None
        n = w.finish_c()
        self._st.packets_sent += 1
        self._st.bytes_sent += n
        if data and self._t3 == INFINITY:
            # RFC 9260 §6.3.2 R1: start T3-rtx when sending DATA.
            self._t3 = self._now + self._rto
        return PyBytes_FromStringAndSize(<char*>w._base, n)

    cdef bint _has_data_to_send(self) noexcept:
        if self._rtx_count > 0:
            return True
        if self._queued_total > 0 and self._flight < self._cwnd:
            return self._peer_rwnd > 0 or self._flight == 0
        return False

    cdef int _add_sack(self, PacketWriter w) except -1:
        # RFC 9260 §6.2 / §3.3.4: cumulative TSN, a_rwnd, gap blocks, dups.
        cdef Py_ssize_t ngaps = 0, span, k
        cdef uint32_t tsn
        cdef bint inrun = False
        cdef uint16_t start = 0
        cdef int r
        cdef Py_ssize_t rwnd = self._advertised_rwnd()
        if tsn_gt(self._peer_highest, self._peer_cum):
            span = <Py_ssize_t>(self._peer_highest - self._peer_cum)
            for k in range(1, span + 1):
                tsn = self._peer_cum + <uint32_t>k
                if self._slot(tsn).present:
                    if not inrun:
                        inrun = True
                        start = <uint16_t>k
                elif inrun:
                    inrun = False
                    if ngaps < MAX_GAPS:
                        self._gap_buf[2 * ngaps] = start
                        self._gap_buf[2 * ngaps + 1] = <uint16_t>(k - 1)
                        ngaps += 1
                if k >= 0xFFFF:
                    break
            if inrun and ngaps < MAX_GAPS:
                self._gap_buf[2 * ngaps] = start
                self._gap_buf[2 * ngaps + 1] = <uint16_t>min(span, 0xFFFF)
                ngaps += 1
        r = w.add_sack_c(self._peer_cum, <uint32_t>rwnd, self._gap_buf, ngaps,
                         self._dups, self._ndups)
        if r == 1:
            self._st.sacks_sent += 1
            self._last_rwnd = rwnd
            self._sack_needed = False
            self._sack_now = False
            self._data_packets = 0
            self._ndups = 0
            self._t_sack = INFINITY
        return r

    cdef int _add_forward_tsn(self, PacketWriter w) except -1:
        # RFC 3758 §3.2: new cumulative TSN + (stream, SSN) of ordered
        # abandoned messages, the highest SSN per stream.
        cdef dict streams = {}
        cdef Py_ssize_t k, n, i = 0
        cdef out_chunk_t* c
        cdef uint16_t pairs[256]
        cdef int r
        n = <Py_ssize_t>(self._adv_peer_ack - self._cum_ack)
        for k in range(min(n, self._ob_count)):
            c = self._obk(k)
            if c.state == CS_ABANDONED and not (c.flags & FLAG_UNORDERED):
                prev = streams.get(c.sid)
                if prev is None or ssn_lt(<uint16_t>prev, c.ssn):
                    streams[c.sid] = c.ssn
        for sid, ssn in streams.items():
            if i >= 128:
                break
            pairs[2 * i] = sid
            pairs[2 * i + 1] = ssn
            i += 1
        r = w.add_forward_tsn_c(self._adv_peer_ack, pairs, i)
        if r == 1:
            self._fwd_pending = False
            self._st.forward_tsn_sent += 1
        return r

    cdef int _add_retransmissions(self, PacketWriter w) except -1:
        # RFC 9260 §6.3.3 E3 / §7.2.4: marked chunks first, in TSN order,
        # within cwnd (fast retransmits: one packet regardless of cwnd).
        cdef Py_ssize_t k
        cdef out_chunk_t* c
        cdef int r, added = 0
        cdef bint fast_only = self._flight >= self._cwnd
        for k in range(self._ob_count):
            if self._rtx_count == 0:
                break
            c = self._obk(k)
            if c.state != CS_RTX:
                continue
            if fast_only and not c.fast:
                continue
            if self._expired(c):
                self._abandon(k)
                continue
            r = w.add_data_c(c.flags, self._cum_ack + 1 + <uint32_t>k, c.sid, c.ssn, c.ppid,
                             <const uint8_t*>PyBytes_AS_STRING(<object>c.data) + c.offset,
                             c.length)
            if r == 0:
                # The packet is full: -2 tells _build to send it now.
                return -2 if added else 0
            added += 1
            c.state = CS_FLIGHT
            c.nsent += 1
            c.sent_time = self._now
            c.misses = 0
            self._rtx_count -= 1
            if c.fast:
                self._fast_count -= 1
                self._st.fast_retransmits += 1
            self._st.retransmits += 1
            self._st.data_chunks_sent += 1
            self._flight += _cost(c.length)
        if self._fwd_pending and self._peer_forward_tsn:
            # Abandoning here moved the ack point: carry the FORWARD TSN next.
            pass
        if added and self._t3 == INFINITY:
            self._t3 = self._now + self._rto
        return added

    cdef int _add_new_data(self, PacketWriter w) except -1:
        # RFC 9260 §6.1: new DATA within cwnd (rule B) and the peer's rwnd
        # (rule A, with a zero-window probe when nothing is in flight).
        cdef int added = 0, sid
        cdef stream_out_t* s
        cdef msg_t* m
        cdef Py_ssize_t room, n, remaining
        cdef uint8_t flags
        cdef out_chunk_t* c
        cdef int r
        while self._queued_total > 0:
            if self._flight >= self._cwnd:
                break
            if self._ob_count >= OB_MAX - 1:
                break
            # Pick the stream: the one mid-message, else the next in turn.
            if self._cur_sid >= 0:
                sid = self._cur_sid
                s = self._sout[sid]
            else:
                if self._rr_count == 0:
                    break
                sid = self._rr[self._rr_head]
                s = self._sout[sid]
                # RFC 3758 / RFC 7496: drop messages whose lifetime ran out
                # before they were ever sent.
                while s.q_count and s.q[s.q_head].expiry <= self._now:
                    m = &s.q[s.q_head]
                    self._queued_total -= m.length
                    self._debit(sid, s, m.accounted)
                    self._st.abandoned += 1
                    self._pop_message(sid, s)
                if s.q_count == 0:
                    self._rr_head = (self._rr_head + 1) & 0xFFFF
                    self._rr_count -= 1
                    s.in_rr = 0
                    continue
            m = &s.q[s.q_head]
            room = w._cap - w._pos - DATA_HEADER_SIZE
            remaining = m.length - m.offset
            if remaining + ((4 - (remaining & 3)) & 3) <= room:
                n = remaining
            else:
                n = room & ~3
                if n < 256 or n >= remaining:
                    # Not worth a small fragment: the packet is full.
                    break
            if _cost(n) > self._peer_rwnd and not (self._flight == 0 and added == 0):
                break
            if m.offset == 0:
                # First fragment: the message gets its SSN and id now
                # (RFC 9260 §6.5: SSNs only for ordered messages).
                m.ssn = 0 if m.unordered else s.next_ssn
                m.msg_id = self._next_msg_id + 1
            flags = 0
            if m.offset == 0:
                flags |= FLAG_BEGINNING
            if m.offset + n == m.length:
                flags |= FLAG_END
            if m.unordered:
                flags |= FLAG_UNORDERED
            r = w.add_data_c(flags, self._next_tsn, <uint16_t>sid, m.ssn, m.ppid,
                             <const uint8_t*>PyBytes_AS_STRING(<object>m.data) + m.offset, n)
            if r == 0:
                break
            if m.offset == 0:
                self._next_msg_id += 1
                if not m.unordered:
                    s.next_ssn += 1
            if self._ob_count == self._ob_cap:
                self._ob_grow()
            c = self._obk(self._ob_count)
            self._ob_count += 1
            Py_INCREF(<object>m.data)
            Py_XDECREF(c.data)
            c.data = m.data
            c.offset = <uint32_t>m.offset
            c.length = <uint32_t>n
            c.ppid = m.ppid
            c.msg_id = m.msg_id
            c.sid = <uint16_t>sid
            c.ssn = m.ssn
            c.flags = flags
            c.state = CS_FLIGHT
            c.misses = 0
            c.fast = 0
            c.nsent = 1
            c.max_rtx = m.max_rtx
            c.expiry = m.expiry
            c.sent_time = self._now
            self._next_tsn += 1
            self._flight += _cost(n)
            self._peer_rwnd -= _cost(n)
            if self._peer_rwnd < 0:
                self._peer_rwnd = 0
            self._st.data_chunks_sent += 1
            added += 1
            m.offset += n
            self._queued_total -= n
            if m.accounted:
                self._debit(sid, s, n)
            if flags & FLAG_END:
                self._st.messages_sent += 1
                self._pop_message(sid, s)
                # Round robin: this stream goes to the back of the line.
                self._rr_head = (self._rr_head + 1) & 0xFFFF
                self._rr_count -= 1
                if s.q_count:
                    self._rr_push(<uint16_t>sid)
                else:
                    s.in_rr = 0
                self._cur_sid = -1
            else:
                # RFC 9260 §6.9: the next fragments take the next TSNs.
                self._cur_sid = sid
        return added

    # ------------------------------------------------------------ shutdown / reconfig

    cdef void _check_shutdown(self):
        # RFC 9260 §9.2: once everything is sent and acknowledged.
        if self._ob_count != 0 or self._queued_total != 0:
            return
        if self._state == ST_SHUTDOWN_PENDING:
            # SHUTDOWN-PENDING -> SHUTDOWN-SENT, start T2-shutdown.
            self._control.append((self._peer_tag, _sctp.ShutdownChunk(0, self._peer_cum)))
            self._state = ST_SHUTDOWN_SENT
            self._t2_count = 0
            self._t2 = self._now + self._rto
            self._t3 = INFINITY
        elif self._state == ST_SHUTDOWN_RECEIVED:
            # SHUTDOWN-RECEIVED -> SHUTDOWN-ACK-SENT, start T2-shutdown.
            self._control.append((self._peer_tag, _sctp.ShutdownAckChunk()))
            self._state = ST_SHUTDOWN_ACK_SENT
            self._t2_count = 0
            self._t2 = self._now + self._rto
            self._t3 = INFINITY

    cdef void _maybe_reconfig(self):
        # RFC 6525 §5.1.2: one Outgoing SSN Reset Request at a time, for the
        # streams whose queued data has all been sent.
        cdef list ready = [], waiting = []
        cdef stream_out_t* s
        if self._state != ST_ESTABLISHED:
            return
        for sid in self._reset_queued:
            s = self._sout[<int>sid]
            if s.q_count == 0 and self._cur_sid != <int>sid:
                ready.append(sid)
            else:
                waiting.append(sid)
        if not ready:
            return
        # One request must fit a packet: 2 bytes per stream (RFC 6525 §4.1).
        cap = (self.mtu - 48) // 2
        if len(ready) > cap:
            waiting = ready[cap:] + waiting
            ready = ready[:cap]
        self._reset_queued = waiting
        if not self._peer_reconfig:
            # The peer cannot reset streams: consider them reset locally.
            for sid in ready:
                s = self._sout[<int>sid]
                s.reset_state = 0
                s.next_ssn = 0
            self._events.append((EVENT_RESET_DONE, ready))
            return
        for sid in ready:
            self._sout[<int>sid].reset_state = 2
        req = _sctp.OutgoingSsnResetRequest(self._reconfig_seq, self._peer_reconfig_seq - 1,
                                            self._next_tsn - 1, ready)
        chunk = _sctp.ReconfigChunk(0, [req.to_param()])
        self._reconfig_req = (self._reconfig_seq, ready, chunk)
        self._reconfig_seq += 1
        self._control.append((self._peer_tag, chunk))
        self._reconfig_rto = self._rto
        self._t_reconfig = self._now + self._reconfig_rto

    # ------------------------------------------------------------ input

    def handle_packet(self, data, double now) -> None:
        """Process one SCTP packet (one DTLS record's payload, RFC 8261)."""
        cdef InputView v
        cdef const uint8_t* p
        cdef Py_ssize_t n, count, i, need
        cdef uint32_t vtag
        cdef int32_t* w
        cdef uint8_t t
        self._now = now
        if type(data) is bytes:
            p = <const uint8_t*>PyBytes_AS_STRING(data)
            n = PyBytes_GET_SIZE(data)
        else:
            v = InputView()
            v.acquire(data)
            p = v.ptr
            n = v.length
        self._st.packets_received += 1
        self._st.bytes_received += n
        # RFC 9260 §6.8: a packet with a bad CRC-32c is discarded.
        if n < 16 or not checksum_ok(p, n):
            if n < 16:
                self._st.dropped_malformed += 1
            else:
                self._st.dropped_bad_crc += 1
            return
        if load_u16(p) != self.remote_port or load_u16(p + 2) != self.local_port:
            self._st.dropped_bad_port += 1
            return
        need = n // 4 + 1
        if need > self._walk_cap:
            w = <int32_t*>realloc(self._walk, need * 4 * sizeof(int32_t))
            if w == NULL:
                raise MemoryError()
            self._walk = w
            self._walk_cap = need
        try:
            count = walk_chunks_c(p, n, self._walk, self._walk_cap)
        except ValueError:
            self._st.dropped_malformed += 1
            return
        if count == 0:
            self._st.dropped_malformed += 1
            return
        vtag = load_u32(p + 4)
        t = <uint8_t>self._walk[0]
        # RFC 9260 §8.5 / §8.5.1: verification tag rules.
        if t == CT_INIT:
            # §8.5.1 A: INIT carries tag 0 and is alone in its packet (§6.10).
            if vtag != 0:
                self._st.dropped_bad_vtag += 1
                return
            if count != 1:
                self._st.dropped_malformed += 1
                return
            self._on_init(p + self._walk[2], self._walk[3])
            return
        if t == CT_COOKIE_ECHO:
            # §5.2.4 / §8.5: the tag is checked against the cookie.
            if not self._on_cookie_echo(p + self._walk[2], self._walk[3], vtag):
                return
            i = 1
        elif not self._vtag_ok(vtag, p, count):
            self._st.dropped_bad_vtag += 1
            return
        else:
            i = 0
        self._process_chunks(p, i, count)
        if self._deferred_reset:
            self._run_deferred_resets()

    cdef bint _vtag_ok(self, uint32_t vtag, const uint8_t* p, Py_ssize_t count):
        cdef uint8_t t = <uint8_t>self._walk[0]
        cdef uint8_t flags = <uint8_t>self._walk[1]
        if t == CT_ABORT or t == CT_SHUTDOWN_COMPLETE:
            # §8.5.1 B/C: with the T bit the tag is the peer's own.
            if flags & FLAG_T:
                return self._peer_tag != 0 and vtag == self._peer_tag
            return self._local_tag != 0 and vtag == self._local_tag
        if t == CT_SHUTDOWN_ACK and self._state == ST_CLOSED and self._local_tag == 0:
            # §8.4 (5): out of the blue SHUTDOWN ACK -> SHUTDOWN COMPLETE, T set.
            self._control.append((vtag, _sctp.ShutdownCompleteChunk(FLAG_T)))
            return False
        return self._local_tag != 0 and vtag == self._local_tag

    cdef void _process_chunks(self, const uint8_t* p, Py_ssize_t i, Py_ssize_t count):
        cdef uint8_t t
        cdef Py_ssize_t off, clen
        cdef int action
        cdef bint data_in_packet = False
        cdef bint immediate = False
        while i < count:
            t = <uint8_t>self._walk[4 * i]
            off = self._walk[4 * i + 2]
            clen = self._walk[4 * i + 3]
            i += 1
            if t == CT_DATA:
                if clen <= DATA_HEADER_SIZE:
                    # RFC 9260 §6.2: DATA with no user data (see docstring).
                    self._st.dropped_malformed += 1
                    continue
                if not (self._state == ST_ESTABLISHED or self._state == ST_SHUTDOWN_PENDING
                        or self._state == ST_SHUTDOWN_SENT):
                    self._st.dropped_out_of_state += 1
                    continue
                data_in_packet = True
                if p[off + 1] & FLAG_IMMEDIATE:
                    # RFC 7053 §4.2: the sender asks for an immediate SACK.
                    immediate = True
                self._on_data(p + off, clen)
                continue
            try:
                check_chunk(p + off, clen)
            except ValueError:
                self._st.dropped_malformed += 1
                break
            if t == CT_SACK:
                if self._state >= ST_ESTABLISHED:
                    self._on_sack(p + off, clen)
                else:
                    self._st.dropped_out_of_state += 1
            elif t == CT_INIT_ACK:
                self._on_init_ack(p + off, clen)
            elif t == CT_COOKIE_ACK:
                if self._state == ST_COOKIE_ECHOED:
                    # RFC 9260 §5.1 E: COOKIE-ECHOED -> ESTABLISHED.
                    self._established()
            elif t == CT_FORWARD_TSN:
                if self._state >= ST_ESTABLISHED:
                    self._on_forward_tsn(p + off, clen)
            elif t == CT_RE_CONFIG:
                if self._state == ST_ESTABLISHED:
                    self._on_reconfig(p + off, clen)
            elif t == CT_HEARTBEAT:
                # RFC 9260 §8.3: echo the Heartbeat Info back.
                if self._peer_tag:
                    self._control.append((self._peer_tag, _sctp.UnknownChunk(
                        CT_HEARTBEAT_ACK, 0, PyBytes_FromStringAndSize(<char*>p + off + 4, clen - 4))))
            elif t == CT_HEARTBEAT_ACK:
                pass
            elif t == CT_ABORT:
                # RFC 9260 §9.1: any state -> CLOSED.
                self._on_abort(p + off, clen)
                return
            elif t == CT_SHUTDOWN:
                self._on_shutdown(p + off, clen)
            elif t == CT_SHUTDOWN_ACK:
                if self._state == ST_SHUTDOWN_SENT or self._state == ST_SHUTDOWN_ACK_SENT:
                    # RFC 9260 §9.2: SHUTDOWN-SENT -> CLOSED after SHUTDOWN COMPLETE.
                    self._control.append((self._peer_tag, _sctp.ShutdownCompleteChunk()))
                    self._close(None)
                    return
                self._st.dropped_out_of_state += 1
            elif t == CT_SHUTDOWN_COMPLETE:
                if self._state == ST_SHUTDOWN_ACK_SENT:
                    # RFC 9260 §9.2: SHUTDOWN-ACK-SENT -> CLOSED.
                    self._close(None)
                    return
                self._st.dropped_out_of_state += 1
            elif t == CT_ERROR:
                pass
            elif t == CT_INIT or t == CT_COOKIE_ECHO:
                # Only allowed first in a packet (§6.10, §5.1).
                self._st.dropped_malformed += 1
            else:
                # RFC 9260 §3.2: the upper two bits of an unknown type.
                action = (t >> 6) & 3
                self._st.dropped_malformed += 1
                if action < 2:
                    break
        if data_in_packet:
            self._data_packets += 1
            # RFC 9260 §6.2: a SACK for at least every second packet with
            # DATA and within the delayed-SACK time; at once on a gap (§6.7)
            # or when the sender sets the I bit (RFC 9260 §3.3.1, RFC 7053
            # §4.2).  Per burst (module docstring): the next poll ends the
            # burst and carries the SACK.
            if (self.sack_per_burst or immediate or self._data_packets >= 2
                    or tsn_gt(self._peer_highest, self._peer_cum)):
                self._sack_now = True
            # The timer is the fallback for a driver that polls only at
            # next_deadline(); _add_sack stops it.
            if self._sack_needed and self._t_sack == INFINITY:
                self._t_sack = self._now + self.delayed_sack_time
            if self._state == ST_SHUTDOWN_SENT:
                # RFC 9260 §9.2: answer DATA with SHUTDOWN, restart T2.
                self._control.append((self._peer_tag, _sctp.ShutdownChunk(0, self._peer_cum)))
                self._t2 = self._now + self._rto

    # ---- handshake

    cdef void _on_init(self, const uint8_t* p, Py_ssize_t clen):
        cdef uint32_t my_tag, my_tsn, flags = 0
        try:
            check_chunk(p, clen)
            init = _sctp.InitChunk.parse(PyBytes_FromStringAndSize(<char*>p, clen))
        except ValueError:
            self._st.dropped_malformed += 1
            return
        if init.initiate_tag == 0:
            # RFC 9260 §3.3.2: Initiate Tag 0 -> silently discard.
            self._st.dropped_malformed += 1
            return
        if init.outbound_streams == 0 or init.inbound_streams == 0:
            # RFC 9260 §3.3.2: 0 streams -> ABORT, Invalid Mandatory Parameter.
            self._control.append((init.initiate_tag, _sctp.AbortChunk(
                0, [(CAUSE_INVALID_MANDATORY_PARAMETER, b"")])))
            return
        if self._state == ST_CLOSED and self._close_reason is None:
            # RFC 9260 §5.1 B: stay CLOSED, answer with a cookie holding all.
            my_tag = _random_u32(True)
            my_tsn = self._initial_tsn
        elif self._state == ST_COOKIE_WAIT or self._state == ST_COOKIE_ECHOED:
            # RFC 9260 §5.2.1: INIT collision, answer with our own tag/TSN.
            my_tag = self._local_tag
            my_tsn = self._initial_tsn
        else:
            # RFC 9260 §5.2.2 restart: unsupported (see docstring).
            self._st.dropped_out_of_state += 1
            return
        exts = init.supported_extensions or []
        if init.forward_tsn_supported or CT_FORWARD_TSN in exts:
            flags |= CF_FORWARD_TSN
        if CT_RE_CONFIG in exts:
            flags |= CF_RECONFIG
        cookie = self._make_cookie(my_tag, init.initiate_tag, my_tsn, init.initial_tsn,
                                   init.advertised_rwnd, init.outbound_streams,
                                   init.inbound_streams, flags)
        ack = _sctp.InitAckChunk(0, my_tag, self.local_rwnd, MAX_STREAMS, MAX_STREAMS, my_tsn)
        ack.state_cookie = cookie
        self._offer_extensions(ack)
        self._control.append((init.initiate_tag, ack))

    cdef void _on_init_ack(self, const uint8_t* p, Py_ssize_t clen):
        if self._state != ST_COOKIE_WAIT:
            # RFC 9260 §5.2.3: an unexpected INIT ACK is discarded.
            self._st.dropped_out_of_state += 1
            return
        try:
            ack = _sctp.InitAckChunk.parse(PyBytes_FromStringAndSize(<char*>p, clen))
        except ValueError:
            self._st.dropped_malformed += 1
            return
        cookie = ack.state_cookie
        if ack.initiate_tag == 0 or cookie is None or ack.outbound_streams == 0 \
                or ack.inbound_streams == 0:
            # RFC 9260 §3.3.3: an invalid INIT ACK; keep waiting (T1 resends).
            self._st.dropped_malformed += 1
            return
        exts = ack.supported_extensions or []
        self._peer_tag = ack.initiate_tag
        self._peer_forward_tsn = ack.forward_tsn_supported or CT_FORWARD_TSN in exts
        self._peer_reconfig = CT_RE_CONFIG in exts
        self._peer_inbound_streams = min(<int>ack.inbound_streams, MAX_STREAMS)
        self._peer_rwnd = ack.advertised_rwnd
        self._ssthresh = self._peer_rwnd
        self._init_receiver(ack.initial_tsn)
        # RFC 9260 §5.1 C: COOKIE-WAIT -> COOKIE-ECHOED, T1-init -> T1-cookie.
        self._cookie_echo = _sctp.CookieEchoChunk(0, cookie)
        self._control.append((self._peer_tag, self._cookie_echo))
        self._state = ST_COOKIE_ECHOED
        self._t1_count = 0
        self._t1_rto = self.rto_initial
        self._t1 = self._now + self._t1_rto

    cdef bytes _make_cookie(self, uint32_t my_tag, uint32_t peer_tag, uint32_t my_tsn,
                            uint32_t peer_tsn, uint32_t peer_rwnd, uint16_t peer_os,
                            uint16_t peer_mis, uint32_t flags):
        # RFC 9260 §5.1.3: everything needed to build the TCB, signed.
        cdef bytes b = PyBytes_FromStringAndSize(NULL, COOKIE_SIZE)
        cdef uint8_t* q = <uint8_t*>PyBytes_AS_STRING(b)
        store_u32(q, COOKIE_MAGIC)
        store_u32(q + 4, my_tag)
        store_u32(q + 8, peer_tag)
        store_u32(q + 12, my_tsn)
        store_u32(q + 16, peer_tsn)
        store_u32(q + 20, peer_rwnd)
        store_u16(q + 24, peer_os)
        store_u16(q + 26, peer_mis)
        store_u32(q + 28, flags)
        store_u64(q + 32, <uint64_t><int64_t>(self._now * 1e6))
        self._cookie_key.compute(q, COOKIE_FIELDS, q + COOKIE_FIELDS)
        return b

    cdef _Cookie _read_cookie(self, const uint8_t* q, Py_ssize_t n):
        cdef uint8_t mac[32]
        cdef uint8_t diff = 0
        cdef int i
        cdef double made
        cdef _Cookie c
        if n != COOKIE_SIZE or load_u32(q) != COOKIE_MAGIC:
            return None
        if self._cookie_key.compute(q, COOKIE_FIELDS, mac) != 0:
            return None
        for i in range(32):
            diff |= mac[i] ^ q[COOKIE_FIELDS + i]
        if diff:
            return None
        made = <double><int64_t>load_u64(q + 32) / 1e6
        if self._now - made > self.cookie_lifetime:
            # RFC 9260 §5.1.5 step 3: stale cookie -> ERROR, Stale Cookie.
            self._control.append((load_u32(q + 8), _sctp.ErrorChunk(
                0, [(CAUSE_STALE_COOKIE, b"\0\0\0\0")])))
            return None
        c = _Cookie.__new__(_Cookie)
        c.my_tag = load_u32(q + 4)
        c.peer_tag = load_u32(q + 8)
        c.my_tsn = load_u32(q + 12)
        c.peer_tsn = load_u32(q + 16)
        c.peer_rwnd = load_u32(q + 20)
        c.peer_os = load_u16(q + 24)
        c.peer_mis = load_u16(q + 26)
        c.flags = load_u32(q + 28)
        return c

    cdef bint _on_cookie_echo(self, const uint8_t* p, Py_ssize_t clen, uint32_t vtag):
        # RFC 9260 §5.1 D / §5.2.4.  True when the rest of the packet may be
        # processed.
        cdef _Cookie c = self._read_cookie(p + 4, clen - 4)
        if c is None:
            self._st.dropped_bad_cookie += 1
            return False
        if vtag != c.my_tag:
            # RFC 9260 §5.1.5 step 4 / §8.5: the tag must be the cookie's.
            self._st.dropped_bad_vtag += 1
            return False
        if self._state == ST_CLOSED:
            if self._close_reason is not None:
                self._st.dropped_out_of_state += 1
                return False
            # RFC 9260 §5.1 D: build the TCB, CLOSED -> ESTABLISHED.
            self._local_tag = c.my_tag
            self._initial_tsn = c.my_tsn
            self._init_sender()
            self._adopt_peer(c)
            self._control.append((self._peer_tag, _sctp.CookieAckChunk()))
            self._established()
            return True
        if c.my_tag != self._local_tag:
            # §5.2.4 A (peer restart) or an old cookie: unsupported, drop.
            self._st.dropped_out_of_state += 1
            return False
        if c.peer_tag != self._peer_tag:
            # §5.2.4 B: INIT collision; adopt the peer's tag from the cookie.
            if self._state > ST_COOKIE_ECHOED:
                self._st.dropped_out_of_state += 1
                return False
            self._adopt_peer(c)
        # §5.2.4 B/D: COOKIE ACK; COOKIE-WAIT/COOKIE-ECHOED -> ESTABLISHED.
        self._control.append((self._peer_tag, _sctp.CookieAckChunk()))
        if self._state == ST_COOKIE_WAIT or self._state == ST_COOKIE_ECHOED:
            if self._peer_tag != c.peer_tag:
                self._adopt_peer(c)
            self._established()
        return True

    cdef void _adopt_peer(self, _Cookie c):
        self._peer_tag = c.peer_tag
        self._peer_forward_tsn = (c.flags & CF_FORWARD_TSN) != 0
        self._peer_reconfig = (c.flags & CF_RECONFIG) != 0
        self._peer_inbound_streams = min(<int>c.peer_mis, MAX_STREAMS)
        self._peer_rwnd = c.peer_rwnd
        self._ssthresh = c.peer_rwnd
        self._init_receiver(c.peer_tsn)

    cdef void _established(self):
        self._state = ST_ESTABLISHED
        self._t1 = INFINITY
        self._init_chunk = None
        self._cookie_echo = None
        self._events.append((EVENT_CONNECTED,))

    cdef void _on_abort(self, const uint8_t* p, Py_ssize_t clen):
        cdef str why = "peer aborted"
        try:
            chunk = _sctp.AbortChunk.parse(PyBytes_FromStringAndSize(<char*>p, clen))
            names = chunk.cause_names()
            if names:
                why = "peer aborted: " + ", ".join(names)
        except ValueError:
            pass
        self._close(why)

    cdef void _on_shutdown(self, const uint8_t* p, Py_ssize_t clen):
        cdef uint32_t cum = load_u32(p + 4)
        if self._state == ST_ESTABLISHED or self._state == ST_SHUTDOWN_PENDING:
            # RFC 9260 §9.2: ESTABLISHED/SHUTDOWN-PENDING -> SHUTDOWN-RECEIVED.
            self._ack_cumulative(cum)
            self._state = ST_SHUTDOWN_RECEIVED
            self._check_shutdown()
        elif self._state == ST_SHUTDOWN_SENT:
            # RFC 9260 §9.2: both sides shut down: SHUTDOWN-SENT ->
            # SHUTDOWN-ACK-SENT, send SHUTDOWN ACK, restart T2.
            self._ack_cumulative(cum)
            self._control.append((self._peer_tag, _sctp.ShutdownAckChunk()))
            self._state = ST_SHUTDOWN_ACK_SENT
            self._t2 = self._now + self._rto
        elif self._state == ST_SHUTDOWN_RECEIVED:
            self._ack_cumulative(cum)
            self._check_shutdown()
        else:
            self._st.dropped_out_of_state += 1

    cdef void _ack_cumulative(self, uint32_t cum):
        # RFC 9260 §9.2: the SHUTDOWN's Cumulative TSN Ack acts as a SACK's.
        cdef uint8_t sack[16]
        if tsn_gt(cum, self._cum_ack) and tsn_lt(cum, self._next_tsn):
            sack[0] = CT_SACK
            sack[1] = 0
            store_u16(sack + 2, 16)
            store_u32(sack + 4, cum)
            store_u32(sack + 8, <uint32_t>min(self._peer_rwnd + self._flight, 0x7FFFFFFF))
            store_u32(sack + 12, 0)
            self._on_sack(sack, 16)

    # ---- data receive

    cdef rx_slot_t* _slot(self, uint32_t tsn) noexcept:
        return &self._rx[(self._rx_head + <Py_ssize_t>(tsn - self._rx_base)) & (self._rx_cap - 1)]

    cdef int _rx_reserve(self, Py_ssize_t span) except -1:
        cdef Py_ssize_t cap = self._rx_cap, i
        cdef rx_slot_t* rx
        if span <= cap:
            return 0
        while cap < span:
            cap *= 2
        rx = <rx_slot_t*>calloc(cap, sizeof(rx_slot_t))
        if rx == NULL:
            raise MemoryError()
        for i in range(self._rx_cap):
            rx[i] = self._rx[(self._rx_head + i) & (self._rx_cap - 1)]
        free(self._rx)
        self._rx = rx
        self._rx_cap = cap
        self._rx_head = 0
        return 0

    cdef void _release_slot(self, rx_slot_t* s) noexcept:
        if s.frag != NULL:
            self._rx_buffered -= _cost(PyBytes_GET_SIZE(<object>s.frag))
            Py_XDECREF(s.frag)
            s.frag = NULL

    cdef void _advance_cum(self) noexcept:
        # RFC 9260 §6.2: the Cumulative TSN Ack moves over received TSNs.
        cdef uint32_t nxt
        while True:
            nxt = self._peer_cum + 1
            if tsn_gt(nxt, self._peer_highest) or not self._slot(nxt).present:
                break
            self._peer_cum = nxt

    cdef void _advance_base(self) noexcept:
        cdef rx_slot_t* s
        while tsn_le(self._rx_base, self._peer_cum):
            s = &self._rx[self._rx_head]
            if s.frag != NULL:
                break
            if (s.rstate == RX_DROPPED and not (s.flags & FLAG_END)
                    and self._rx_base == self._peer_cum):
                # The last fragment so far of a message being discarded:
                # keep it, the next one (cum + 1) is recognised by it.
                break
            s.present = 0
            self._rx_head = (self._rx_head + 1) & (self._rx_cap - 1)
            self._rx_base += 1

    cdef int _on_data(self, const uint8_t* p, Py_ssize_t clen) except -1:
        # RFC 9260 §6.2 (acceptance), §6.5 (order), §6.9 (reassembly).
        cdef uint32_t tsn = load_u32(p + 4)
        cdef Py_ssize_t n = clen - DATA_HEADER_SIZE
        cdef Py_ssize_t k
        cdef rx_slot_t* s
        cdef bint new_highest
        cdef bytes frag
        self._st.data_chunks_received += 1
        self._sack_needed = True
        if tsn_le(tsn, self._peer_cum):
            self._dup(tsn)
            return 0
        k = <Py_ssize_t>(tsn - self._rx_base)
        if k >= RX_MAX_SPAN or <uint32_t>(tsn - self._peer_cum) > RX_MAX_AHEAD:
            # Far beyond what we track, or so far that an SSN could wrap
            # past the expected one (RX_MAX_AHEAD): drop, and say so at once
            # (the sender retransmits).
            self._st.dropped_rwnd += 1
            self._sack_now = True
            return 0
        new_highest = tsn_gt(tsn, self._peer_highest)
        if not new_highest and self._slot(tsn).present:
            self._dup(tsn)
            return 0
        # RFC 9260 §6.2: with no room, drop DATA beyond the highest TSN
        # received; hole fillers are kept up to twice the window.
        if (new_highest and self._rx_buffered >= <Py_ssize_t>self.local_rwnd) or \
                self._rx_buffered + _cost(n) > 2 * <Py_ssize_t>self.local_rwnd:
            self._st.dropped_rwnd += 1
            self._sack_now = True
            return 0
        if load_u16(p + 8) >= MAX_STREAMS:
            # RFC 9260 §6.4: Invalid Stream Identifier; drop the chunk.
            self._st.dropped_malformed += 1
            return 0
        if new_highest:
            self._rx_reserve(k + 1)
            self._peer_highest = tsn
        frag = PyBytes_FromStringAndSize(<char*>p + DATA_HEADER_SIZE, n)
        s = self._slot(tsn)
        Py_INCREF(frag)
        s.frag = <PyObject*>frag
        s.present = 1
        s.flags = p[1]
        s.sid = load_u16(p + 8)
        s.ssn = load_u16(p + 10)
        s.ppid = load_u32(p + 12)
        self._rx_buffered += _cost(n)
        if tsn == self._peer_cum + 1:
            self._advance_cum()
        else:
            # RFC 9260 §6.2: out of order -> SACK immediately.
            self._sack_now = True
        self._rx_chain(tsn)
        if s.rstate != RX_DROPPED and ((s.flags & FLAG_END) or not new_highest):
            self._reassemble(tsn)
        self._advance_base()
        return 0

    cdef void _dup(self, uint32_t tsn) noexcept:
        # RFC 9260 §6.2: report duplicates; SACK at once.
        self._st.duplicates_received += 1
        if self._ndups < MAX_DUPS:
            self._dups[self._ndups] = tsn
            self._ndups += 1
        self._sack_now = True

    cdef int _rx_chain(self, uint32_t tsn) except -1:
        # RFC 8841 / RFC 8831 §6.6: we do not accept messages above the
        # max-message-size we advertise, and we find out while reassembling
        # (RFC 9260 §6.9), not at the E fragment: a message larger than the
        # receive window would otherwise fill it and, TSNs and window being
        # shared by all streams, stall every channel for good.  Once the
        # fragments from B on are contiguous, each carries the byte count of
        # its message so far (``acc``); past max_message_size the message is
        # discarded (_drop_too_big) and its later fragments, recognised by
        # their predecessor, are freed as they come.  Their TSNs stay
        # received: the cumulative TSN moves on and the window reopens
        # (the SACK of this burst carries it).  The association and the
        # stream go on (no ABORT, no stream reset; RFC 8831 §6.6 lets the
        # receiver close a channel on a bad message, a SHOULD we leave to
        # the application: dropping keeps every other channel working).
        cdef rx_slot_t* s = self._slot(tsn)
        cdef rx_slot_t* o
        cdef uint32_t t = tsn
        s.rstate = RX_UNKNOWN
        s.acc = 0
        if s.flags & FLAG_BEGINNING:
            s.rstate = RX_CHAINED
        elif tsn != self._rx_base:
            o = self._slot(tsn - 1)
            if (o.present and o.rstate != RX_UNKNOWN and not (o.flags & FLAG_END)
                    and _same_msg(o, s)):
                s.rstate = o.rstate
                s.acc = o.acc
        if s.rstate == RX_UNKNOWN:
            return 0
        # Carry the context forward over fragments that arrived earlier.
        while True:
            if s.rstate == RX_DROPPED:
                self._release_slot(s)
            else:
                s.acc += <uint32_t>PyBytes_GET_SIZE(<object>s.frag)
                if <Py_ssize_t>s.acc > self.max_message_size:
                    self._drop_too_big(t)
            if (s.flags & FLAG_END) or t == self._peer_highest:
                return 0
            o = self._slot(t + 1)
            if (not o.present or o.rstate != RX_UNKNOWN or o.frag == NULL
                    or (o.flags & FLAG_BEGINNING) or not _same_msg(s, o)):
                return 0
            o.rstate = s.rstate
            o.acc = s.acc
            t += 1
            s = o

    cdef int _drop_too_big(self, uint32_t tsn) except -1:
        # Discard the fragments held of the message ending (so far) at
        # ``tsn``, freeing their window; an ordered stream skips its SSN so
        # the messages after it are delivered (RFC 9260 §6.5 order kept).
        cdef rx_slot_t* o = self._slot(tsn)
        cdef uint32_t t = tsn
        while True:
            o = self._slot(t)
            self._release_slot(o)
            o.rstate = RX_DROPPED
            if (o.flags & FLAG_BEGINNING) or t == self._rx_base:
                break
            t -= 1
        self._st.dropped_too_big += 1
        if not (o.flags & FLAG_UNORDERED):
            return self._deliver(o.sid, o.ssn, o.ppid, False, None)
        return 0

    cdef int _reassemble(self, uint32_t tsn) except -1:
        cdef rx_slot_t* s = self._slot(tsn)
        cdef rx_slot_t* o
        cdef uint32_t first = tsn, last = tsn, t
        cdef uint8_t flags = s.flags
        cdef uint16_t sid = s.sid, ssn = s.ssn
        cdef bint unordered = (flags & FLAG_UNORDERED) != 0
        cdef Py_ssize_t total = 0, pos = 0, m
        cdef bytes msg
        cdef object frag
        cdef uint32_t ppid
        if (flags & (FLAG_BEGINNING | FLAG_END)) == (FLAG_BEGINNING | FLAG_END):
            frag = <object>s.frag
            Py_XDECREF(s.frag)
            s.frag = NULL
            # The slot's cost stays counted: the message now holds it.
            return self._deliver(sid, ssn, s.ppid, unordered, frag)
        # Walk back to the first fragment and forward to the last one.
        while not (self._slot(first).flags & FLAG_BEGINNING):
            if first == self._rx_base:
                return 0
            t = first - 1
            o = self._slot(t)
            if (o.frag == NULL or o.sid != sid or (o.flags & FLAG_END)
                    or ((o.flags & FLAG_UNORDERED) != 0) != unordered
                    or (not unordered and o.ssn != ssn)):
                return 0
            first = t
        while not (self._slot(last).flags & FLAG_END):
            if last == self._peer_highest:
                return 0
            t = last + 1
            o = self._slot(t)
            if (o.frag == NULL or o.sid != sid or (o.flags & FLAG_BEGINNING)
                    or ((o.flags & FLAG_UNORDERED) != 0) != unordered
                    or (not unordered and o.ssn != ssn)):
                return 0
            last = t
        t = first
        while True:
            total += PyBytes_GET_SIZE(<object>self._slot(t).frag)
            if t == last:
                break
            t += 1
        ppid = self._slot(first).ppid
        if total > self.max_message_size:
            # Larger than we advertised (RFC 8841): drop it, keep the order.
            msg = None
            self._st.dropped_too_big += 1
        else:
            msg = PyBytes_FromStringAndSize(NULL, total)
        t = first
        while True:
            o = self._slot(t)
            m = PyBytes_GET_SIZE(<object>o.frag)
            if msg is not None:
                memcpy(PyBytes_AS_STRING(msg) + pos, PyBytes_AS_STRING(<object>o.frag), m)
            pos += m
            self._release_slot(o)
            if t == last:
                break
            t += 1
        if msg is not None:
            self._rx_buffered += _cost(total)
        return self._deliver(sid, ssn, ppid, unordered, msg)

    cdef int _deliver(self, uint16_t sid, uint16_t ssn, uint32_t ppid, bint unordered,
                      object msg) except -1:
        # RFC 9260 §6.5/§6.6: unordered at once, ordered by SSN per stream.
        cdef uint16_t exp
        cdef dict pend
        if unordered:
            if msg is not None:
                self._events.append((EVENT_DATA, sid, ppid, msg))
                self._st.messages_received += 1
            return 0
        exp = self._in_ssn[sid]
        if ssn == exp:
            if msg is not None:
                self._events.append((EVENT_DATA, sid, ppid, msg))
                self._st.messages_received += 1
            self._in_ssn[sid] = exp + 1
            if self._in_pending:
                self._flush_pending(sid)
        elif ssn_lt(exp, ssn):
            pend = self._in_pending.get(sid)
            if pend is None:
                pend = self._in_pending[sid] = {}
            if ssn in pend:
                # The SSN of a message already waiting: a protocol error; drop
                # and count it (None: a dropped message's placeholder).
                if msg is not None:
                    self._st.dropped_bad_ssn += 1
                    self._rx_buffered -= _cost(PyBytes_GET_SIZE(msg))
            else:
                pend[ssn] = (ppid, msg)
        elif msg is not None:
            # An SSN already delivered (RFC 9260 §6.6: a stream's SSNs are
            # delivered in order): a protocol error; drop and count it, so a
            # peer (or a bug) that wraps SSNs behind a hole is visible.
            self._st.dropped_bad_ssn += 1
            self._rx_buffered -= _cost(PyBytes_GET_SIZE(msg))
        return 0

    cdef void _flush_pending(self, uint16_t sid):
        cdef dict pend = self._in_pending.get(sid)
        cdef uint16_t exp
        if pend is None:
            return
        exp = self._in_ssn[sid]
        while exp in pend:
            ppid, msg = pend.pop(exp)
            if msg is not None:
                self._events.append((EVENT_DATA, sid, ppid, msg))
                self._st.messages_received += 1
            exp += 1
        self._in_ssn[sid] = exp
        if not pend:
            del self._in_pending[sid]

    cdef void _on_forward_tsn(self, const uint8_t* p, Py_ssize_t clen):
        # RFC 3758 §3.6: skip to the new cumulative TSN.
        cdef uint32_t new_cum = load_u32(p + 4), t
        cdef rx_slot_t* s
        cdef Py_ssize_t i, n
        cdef uint16_t sid, ssn
        cdef dict pend
        self._st.forward_tsn_received += 1
        self._sack_needed = True
        self._sack_now = True
        if not tsn_gt(new_cum, self._peer_cum):
            return
        # Drop the fragments of skipped (incomplete) messages.
        while tsn_le(self._rx_base, new_cum) and tsn_le(self._rx_base, self._peer_highest):
            s = &self._rx[self._rx_head]
            self._release_slot(s)
            s.present = 0
            self._rx_head = (self._rx_head + 1) & (self._rx_cap - 1)
            self._rx_base += 1
        self._rx_base = new_cum + 1
        if tsn_gt(new_cum, self._peer_highest):
            self._peer_highest = new_cum
        self._peer_cum = new_cum
        # Continuation fragments right after it belong to skipped messages.
        t = new_cum + 1
        while tsn_le(t, self._peer_highest):
            s = self._slot(t)
            if not s.present or s.frag == NULL or (s.flags & FLAG_BEGINNING):
                break
            self._release_slot(s)
            # Its later fragments are discarded as they come (_rx_chain).
            s.rstate = RX_DROPPED
            if s.flags & FLAG_END:
                break
            t += 1
        self._advance_cum()
        self._advance_base()
        # Ordered streams skip the abandoned SSNs.
        n = (clen - 8) // 4
        for i in range(n):
            sid = load_u16(p + 8 + 4 * i)
            ssn = load_u16(p + 10 + 4 * i)
            if ssn_lt(ssn, self._in_ssn[sid]):
                continue
            pend = self._in_pending.get(sid)
            if pend is not None:
                # Deliver what completed before the skipped SSN, in order.
                cur = self._in_ssn[sid]
                while True:
                    item = pend.pop(cur, None)
                    if item is not None and item[1] is not None:
                        self._events.append((EVENT_DATA, sid, item[0], item[1]))
                        self._st.messages_received += 1
                    if cur == ssn:
                        break
                    cur = (cur + 1) & 0xFFFF
                if not pend:
                    del self._in_pending[sid]
            self._in_ssn[sid] = ssn + 1
            self._flush_pending(sid)

    # ---- SACK

    cdef void _on_sack(self, const uint8_t* p, Py_ssize_t clen):
        # RFC 9260 §6.2.1 (processing), §7.2 (congestion control), §6.3.1 (RTT).
        cdef uint32_t cum = load_u32(p + 4)
        cdef uint32_t a_rwnd = load_u32(p + 8)
        cdef Py_ssize_t ng = load_u16(p + 12)
        cdef Py_ssize_t flight_before = self._flight
        cdef Py_ssize_t bytes_acked = 0, k, i, s_off, e_off, last_end = 0, kk
        cdef double rtt = -1.0
        cdef bint new_cum = False, marked = False
        cdef uint32_t htna = 0
        cdef bint have_htna = False
        cdef out_chunk_t* c
        self._st.sacks_received += 1
        if tsn_lt(cum, self._cum_ack):
            # §6.2.1 D i): an old SACK, out of order; ignore.
            return
        if not tsn_lt(cum, self._next_tsn):
            # Acks a TSN we never sent: a protocol violation; drop.
            self._st.dropped_malformed += 1
            return
        while self._cum_ack != cum:
            c = &self._ob[self._ob_head]
            if c.state == CS_FLIGHT:
                self._flight -= _cost(c.length)
                bytes_acked += _cost(c.length)
                if c.nsent == 1:
                    # Karn: only chunks sent once give an RTT sample.
                    rtt = self._now - c.sent_time
            elif c.state == CS_RTX:
                self._rtx_count -= 1
                if c.fast:
                    self._fast_count -= 1
                bytes_acked += _cost(c.length)
            Py_XDECREF(c.data)
            c.data = NULL
            c.state = CS_DONE
            c.msg_id = 0
            self._ob_head = (self._ob_head + 1) & (self._ob_cap - 1)
            self._ob_count -= 1
            self._cum_ack += 1
            new_cum = True
        if new_cum:
            htna = cum
            have_htna = True
        # Gap Ack Blocks (offsets from cum), processed in increasing order.
        for i in range(ng):
            s_off = load_u16(p + 16 + 4 * i)
            e_off = load_u16(p + 18 + 4 * i)
            if s_off == 0 or e_off < s_off:
                continue
            if s_off <= last_end:
                s_off = last_end + 1
            if e_off > self._ob_count:
                e_off = self._ob_count
            for kk in range(s_off - 1, e_off):
                c = self._obk(kk)
                if c.state == CS_FLIGHT or c.state == CS_RTX:
                    if c.state == CS_FLIGHT:
                        self._flight -= _cost(c.length)
                    else:
                        self._rtx_count -= 1
                        if c.fast:
                            self._fast_count -= 1
                    bytes_acked += _cost(c.length)
                    c.state = CS_ACKED
                    htna = self._cum_ack + 1 + <uint32_t>kk
                    have_htna = True
            if e_off > last_end:
                last_end = e_off
        # RFC 9260 §7.2.4: miss indications below the highest TSN newly acked.
        if have_htna and ng > 0:
            k = <Py_ssize_t>(htna - self._cum_ack) - 1
            for kk in range(min(k, self._ob_count)):
                c = self._obk(kk)
                if c.state == CS_FLIGHT and not c.fast:
                    c.misses += 1
                    if c.misses >= FAST_RTX_MISSES:
                        if self._expired(c):
                            self._abandon(kk)
                            continue
                        c.state = CS_RTX
                        c.fast = 1
                        self._flight -= _cost(c.length)
                        self._rtx_count += 1
                        self._fast_count += 1
                        marked = True
        if marked and not self._fast_recovery:
            # RFC 9260 §7.2.4: enter Fast Recovery, halve cwnd once.
            self._ssthresh = max(self._cwnd // 2, 4 * self.mtu)
            self._cwnd = self._ssthresh
            self._pba = 0
            self._fast_recovery = True
            self._fast_recovery_exit = self._next_tsn - 1
        # RFC 9260 §7.2.1 / §7.2.2: grow cwnd on a cumulative ack, when the
        # window was fully used and not in Fast Recovery.
        if new_cum and not self._fast_recovery:
            if self._cwnd <= self._ssthresh:
                if flight_before + self.mtu >= self._cwnd:
                    # Slow start by bytes acknowledged (RFC 3465 byte
                    # counting, no limit L), not "at most one MTU per SACK"
                    # (module docstring): cwnd doubles per round trip
                    # however many SACKs carry the acknowledgements.
                    self._cwnd += bytes_acked
            else:
                self._pba += bytes_acked
                if self._pba >= self._cwnd and flight_before + self.mtu >= self._cwnd:
                    self._pba -= self._cwnd
                    self._cwnd += self.mtu
        if self._fast_recovery and not tsn_lt(self._cum_ack, self._fast_recovery_exit):
            self._fast_recovery = False
        if rtt >= 0:
            self._rtt_update(rtt)
        # RFC 9260 §6.2.1 D iv): peer rwnd = a_rwnd - bytes in flight.
        self._peer_rwnd = <Py_ssize_t>a_rwnd - self._flight
        if self._peer_rwnd < 0:
            self._peer_rwnd = 0
        if new_cum:
            # RFC 9260 §8.3/§8.2: the peer is alive; §6.3.2 R3: restart T3.
            self._error_count = 0
            self._t3 = self._now + self._rto if self._ob_count else INFINITY
        elif self._ob_count == 0:
            self._t3 = INFINITY
        if self._peer_forward_tsn and self._ob_count:
            self._advance_peer_ack_point()
        if self._state == ST_SHUTDOWN_PENDING or self._state == ST_SHUTDOWN_RECEIVED:
            self._check_shutdown()

    cdef void _rtt_update(self, double r) noexcept:
        # RFC 9260 §6.3.1: SRTT/RTTVAR with alpha 1/8, beta 1/4.
        if not self._rtt_measured:
            self._srtt = r
            self._rttvar = r / 2
            self._rtt_measured = True
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * fabs(self._srtt - r)
            self._srtt = 0.875 * self._srtt + 0.125 * r
        self._rto = self._srtt + 4 * self._rttvar
        if self._rto < self.rto_min:
            self._rto = self.rto_min
        if self._rto > self.rto_max:
            self._rto = self.rto_max

    # ---- stream reset (RFC 6525)

    cdef void _on_reconfig(self, const uint8_t* p, Py_ssize_t clen):
        cdef list responses = []
        try:
            chunk = _sctp.ReconfigChunk.parse(PyBytes_FromStringAndSize(<char*>p, clen))
            requests = chunk.requests
        except ValueError:
            self._st.dropped_malformed += 1
            return
        for req in requests[:2]:
            if isinstance(req, _sctp.OutgoingSsnResetRequest):
                res = self._on_outgoing_reset(req)
                if res is not None:
                    responses.append(_sctp.ReconfigResponse(req.request_sequence, res))
            elif isinstance(req, _sctp.IncomingSsnResetRequest):
                res = self._check_req_seq(req.request_sequence)
                if res == RC_PERFORMED:
                    # RFC 6525 §5.2.3: reset those of our outgoing streams.
                    self.reset_streams([s for s in req.streams if s < MAX_STREAMS])
                    self._peer_reconfig_seq += 1
                    self._last_reconfig_result = RC_PERFORMED
                responses.append(_sctp.ReconfigResponse(req.request_sequence, res))
            elif isinstance(req, _sctp.ReconfigResponse):
                self._on_reconfig_response(req)
            elif isinstance(req, (_sctp.SsnTsnResetRequest, _sctp.AddStreamsRequest)):
                res = self._check_req_seq(req.request_sequence)
                if res == RC_PERFORMED:
                    # RFC 6525 §5.2.4-5.2.6: we do not do these; deny.
                    res = RC_DENIED
                    self._peer_reconfig_seq += 1
                    self._last_reconfig_result = res
                responses.append(_sctp.ReconfigResponse(req.request_sequence, res))
        if responses:
            self._control.append((self._peer_tag, _sctp.ReconfigChunk(
                0, [r.to_param() for r in responses])))

    cdef int _check_req_seq(self, uint32_t seq):
        # RFC 6525 §5.2.1: the expected number, a retransmission, or bad.
        if seq == self._peer_reconfig_seq:
            return RC_PERFORMED
        if seq == self._peer_reconfig_seq - 1:
            return self._last_reconfig_result
        return RC_BAD_SEQUENCE

    cdef object _on_outgoing_reset(self, object req):
        cdef uint32_t seq = req.request_sequence
        cdef int res = self._check_req_seq(seq)
        if seq == self._peer_reconfig_seq - 1 or res != RC_PERFORMED:
            return res
        if tsn_lt(self._peer_cum, <uint32_t>req.last_tsn):
            # RFC 6525 §5.2.2: deferred reset processing until the TSN.
            for d in self._deferred_reset:
                if d[0] == seq:
                    break
            else:
                self._deferred_reset.append((seq, <uint32_t>req.last_tsn, list(req.streams)))
            return RC_IN_PROGRESS
        self._perform_incoming_reset(list(req.streams))
        self._peer_reconfig_seq += 1
        self._last_reconfig_result = RC_PERFORMED
        return RC_PERFORMED

    cdef void _perform_incoming_reset(self, list sids):
        # RFC 6525 §5.2.2: the incoming streams restart at SSN 0.
        cdef int sid
        if not sids:
            sids = list(range(MAX_STREAMS))
            memset(self._in_ssn, 0, 65536 * sizeof(uint16_t))
            self._in_pending.clear()
        for sid in sids:
            if 0 <= sid < MAX_STREAMS:
                self._in_ssn[sid] = 0
                self._in_pending.pop(sid, None)
        self._events.append((EVENT_STREAM_RESET, sids))

    cdef void _run_deferred_resets(self):
        cdef list still = []
        for d in self._deferred_reset:
            if tsn_lt(self._peer_cum, <uint32_t>d[1]) or d[0] != self._peer_reconfig_seq:
                still.append(d)
                continue
            self._perform_incoming_reset(d[2])
            self._peer_reconfig_seq += 1
            self._last_reconfig_result = RC_PERFORMED
            self._control.append((self._peer_tag, _sctp.ReconfigChunk(
                0, [_sctp.ReconfigResponse(d[0], RC_PERFORMED).to_param()])))
        self._deferred_reset = still

    cdef void _on_reconfig_response(self, object resp):
        cdef stream_out_t* s
        if self._reconfig_req is None or resp.response_sequence != self._reconfig_req[0]:
            return
        if resp.result == RC_IN_PROGRESS:
            # RFC 6525 §5.2.7: ask again later (the timer resends).
            return
        sids = self._reconfig_req[1]
        self._reconfig_req = None
        self._t_reconfig = INFINITY
        for sid in sids:
            s = self._sout[<int>sid]
            # RFC 6525 §5.2.2: the outgoing stream restarts at SSN 0.
            s.next_ssn = 0
            s.reset_state = 0
        self._events.append((EVENT_RESET_DONE, sids))


def _live_objects():
    """Live instances per class in a debug build (RTCENGINE_DEBUG=1); None in
    a normal build.  See rtcengine._core.debug."""
    if not RTCE_LIVE:
        return None
    return {"Association": _live_Association}
