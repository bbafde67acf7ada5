# SCTP association (RFC 9260 as profiled for WebRTC by RFC 8831), sans-IO.
#
# Layout of the association: the send queue (per-stream rings of user
# messages), the retransmission queue (a ring of chunk records indexed by TSN)
# and the receive side (a ring of fragments indexed by TSN) are C arrays; the
# only Python objects are the user messages (bytes), the events handed to the
# application and the rare control chunks.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t
from cpython.ref cimport PyObject

from rtcengine._core.sctp cimport PacketWriter
from rtcengine._core.hmac cimport HmacKey


# RFC 9260 §4: association states (the state diagram's names).
cdef enum:
    ST_CLOSED = 0
    ST_COOKIE_WAIT = 1
    ST_COOKIE_ECHOED = 2
    ST_ESTABLISHED = 3
    ST_SHUTDOWN_PENDING = 4
    ST_SHUTDOWN_SENT = 5
    ST_SHUTDOWN_RECEIVED = 6
    ST_SHUTDOWN_ACK_SENT = 7

# State of a chunk in the retransmission queue.
cdef enum:
    CS_FLIGHT = 0       # sent, outstanding (RFC 9260 §6.1 flight size)
    CS_ACKED = 1        # acked by a Gap Ack Block (RFC 9260 §6.2.1)
    CS_RTX = 2          # marked for retransmission (§6.3.3 / §7.2.4)
    CS_ABANDONED = 3    # given up (RFC 3758 §3.5)
    CS_DONE = 4         # acked cumulatively / slot free


# A user message waiting in a stream's send queue.
ctypedef struct msg_t:
    PyObject* data          # bytes, owned reference
    Py_ssize_t length
    Py_ssize_t offset       # bytes already fragmented into DATA chunks
    Py_ssize_t accounted    # bytes it adds to bufferedAmount (0 for 56/57)
    double expiry           # RFC 3758 lifetime deadline, or INFINITY
    uint32_t ppid
    uint32_t msg_id         # association-unique, ties fragments together
    int32_t max_rtx         # RFC 3758 retransmission limit, -1: reliable
    uint16_t ssn
    uint8_t unordered


# Per-stream outgoing state.
ctypedef struct stream_out_t:
    msg_t* q                # ring of queued messages
    Py_ssize_t q_head
    Py_ssize_t q_count
    Py_ssize_t q_cap
    Py_ssize_t buffered     # bufferedAmount, in accounted bytes
    Py_ssize_t low_threshold
    uint16_t next_ssn       # RFC 9260 §6.5
    uint8_t in_rr           # listed in the round-robin ring
    uint8_t reset_state     # 0, 1 queued for reset, 2 in a RE-CONFIG request


# One DATA chunk in the retransmission queue (RFC 9260 §6.1-§6.3, §7).
ctypedef struct out_chunk_t:
    PyObject* data          # the message bytes, owned; NULL when done
    double sent_time
    double expiry
    uint32_t offset
    uint32_t length
    uint32_t ppid
    uint32_t msg_id
    uint32_t nsent
    int32_t max_rtx
    uint16_t sid
    uint16_t ssn
    uint8_t flags           # DATA B/E/U flags
    uint8_t state           # CS_*
    uint8_t misses          # RFC 9260 §7.2.4 miss indications
    uint8_t fast            # fast-retransmitted in this recovery


# One received DATA chunk waiting for reassembly / order (RFC 9260 §6.5, §6.9).
ctypedef struct rx_slot_t:
    PyObject* frag          # user data bytes, owned; NULL when consumed
    uint32_t ppid
    uint32_t acc            # bytes of its message from B through this one
    uint16_t sid
    uint16_t ssn
    uint8_t flags
    uint8_t present
    uint8_t rstate          # RX_* (sctp_association.pyx): reassembly context


ctypedef struct assoc_stats_t:
    uint64_t packets_sent
    uint64_t packets_received
    uint64_t bytes_sent
    uint64_t bytes_received
    uint64_t data_chunks_sent
    uint64_t data_chunks_received
    uint64_t messages_sent
    uint64_t messages_received
    uint64_t sacks_sent
    uint64_t sacks_received
    uint64_t retransmits
    uint64_t fast_retransmits
    uint64_t t3_expiries
    uint64_t abandoned
    uint64_t duplicates_received
    uint64_t forward_tsn_sent
    uint64_t forward_tsn_received
    uint64_t dropped_bad_crc
    uint64_t dropped_bad_vtag
    uint64_t dropped_malformed
    uint64_t dropped_bad_port
    uint64_t dropped_out_of_state
    uint64_t dropped_rwnd
    uint64_t dropped_too_big
    uint64_t dropped_bad_ssn        # RFC 9260 §6.6: an SSN already delivered or pending
    uint64_t dropped_bad_cookie


cdef class _Cookie:
    cdef uint32_t my_tag, peer_tag, my_tsn, peer_tsn, peer_rwnd, flags
    cdef uint16_t peer_os, peer_mis


cdef class Association:
    # configuration
    cdef readonly uint16_t local_port
    cdef readonly uint16_t remote_port
    cdef readonly bint is_client
    cdef readonly Py_ssize_t mtu
    cdef readonly Py_ssize_t max_message_size
    cdef public Py_ssize_t remote_max_message_size
    cdef readonly uint32_t local_rwnd
    cdef public double rto_initial
    cdef public double rto_min
    cdef public double rto_max
    cdef public int max_retrans
    cdef public int max_init_retransmits
    cdef public double delayed_sack_time
    cdef public bint sack_per_burst
    cdef public double cookie_lifetime

    # association (TCB)
    cdef int _state
    cdef uint32_t _local_tag
    cdef uint32_t _peer_tag
    cdef uint32_t _initial_tsn
    cdef uint32_t _peer_initial_tsn
    cdef uint16_t _peer_inbound_streams
    cdef bint _peer_forward_tsn
    cdef bint _peer_reconfig
    cdef HmacKey _cookie_key
    cdef object _init_chunk         # INIT we sent (COOKIE-WAIT resend)
    cdef object _cookie_echo        # COOKIE ECHO we sent (COOKIE-ECHOED resend)
    cdef list _control              # [(vtag, Chunk)] to send before data
    cdef object _events             # collections.deque of event tuples
    cdef double _now
    cdef object _close_reason

    # timers (RFC 9260 §6.3, §5.1, §9.2; RFC 6525 §5.1.1), INFINITY when off
    cdef double _t1
    cdef double _t2
    cdef double _t3
    cdef double _t_sack
    cdef double _t_reconfig
    cdef int _t1_count
    cdef int _t2_count
    cdef int _error_count
    cdef double _t1_rto
    cdef double _reconfig_rto

    # RTO (RFC 9260 §6.3.1)
    cdef double _srtt
    cdef double _rttvar
    cdef double _rto
    cdef bint _rtt_measured

    # sender (RFC 9260 §6.1, §7.2)
    cdef uint32_t _next_tsn
    cdef uint32_t _cum_ack          # peer's cumulative ack of our TSNs
    cdef uint32_t _adv_peer_ack     # RFC 3758 §3.5 Advanced.Peer.Ack.Point
    cdef Py_ssize_t _flight         # bytes in flight
    cdef Py_ssize_t _peer_rwnd
    cdef Py_ssize_t _cwnd
    cdef Py_ssize_t _ssthresh
    cdef Py_ssize_t _pba            # partial_bytes_acked (§7.2.2)
    cdef bint _fast_recovery
    cdef uint32_t _fast_recovery_exit
    cdef bint _fwd_pending          # send a FORWARD TSN (RFC 3758 §3.5 C)
    cdef Py_ssize_t _rtx_count      # chunks marked CS_RTX
    cdef Py_ssize_t _fast_count     # of which fast-retransmit
    cdef out_chunk_t* _ob
    cdef Py_ssize_t _ob_cap
    cdef Py_ssize_t _ob_head
    cdef Py_ssize_t _ob_count
    cdef uint32_t _next_msg_id

    # send queue and scheduler (round robin between streams, per message)
    cdef stream_out_t** _sout
    cdef Py_ssize_t _sout_cap
    cdef uint16_t* _rr
    cdef Py_ssize_t _rr_head
    cdef Py_ssize_t _rr_count
    cdef int _cur_sid               # stream whose message is mid-fragmentation
    cdef Py_ssize_t _queued_total   # bytes queued, not yet fragmented

    # receiver (RFC 9260 §6.2, §6.5, §6.9)
    cdef uint32_t _peer_cum         # our Cumulative TSN Ack
    cdef uint32_t _peer_highest
    cdef rx_slot_t* _rx
    cdef Py_ssize_t _rx_cap
    cdef Py_ssize_t _rx_head
    cdef uint32_t _rx_base          # TSN of slot _rx_head
    cdef uint16_t* _in_ssn          # next SSN expected per incoming stream
    cdef dict _in_pending           # sid -> {ssn: (ppid, bytes)} out of order
    cdef Py_ssize_t _rx_buffered    # bytes held: reassembly + undelivered events
    cdef Py_ssize_t _last_rwnd      # a_rwnd in the last SACK sent
    cdef bint _sack_needed
    cdef bint _sack_now
    cdef int _data_packets          # DATA packets since the last SACK
    cdef uint32_t _dups[16]
    cdef int _ndups
    cdef uint16_t _gap_buf[256]

    # stream reset (RFC 6525)
    cdef uint32_t _reconfig_seq     # next outgoing request sequence number
    cdef uint32_t _peer_reconfig_seq  # next expected incoming request sequence
    cdef object _reconfig_req       # outstanding (seq, [sids]) or None
    cdef int _last_reconfig_result
    cdef list _deferred_reset       # [(seq, last_tsn, [sids])] waiting for TSNs
    cdef list _reset_queued         # our streams waiting to be reset

    # I/O scratch
    cdef PacketWriter _writer
    cdef int32_t* _walk
    cdef Py_ssize_t _walk_cap
    cdef assoc_stats_t _st

    # methods (C level)
    cdef void _free_data(self) noexcept
    cdef void _init_sender(self) noexcept
    cdef void _init_receiver(self, uint32_t peer_tsn) noexcept
    cdef void _consumed(self, tuple ev)
    cdef Py_ssize_t _advertised_rwnd(self) noexcept
    cdef void _close(self, object reason)
    cdef void _on_t1(self)
    cdef void _on_t2(self)
    cdef void _on_t3(self)
    cdef void _on_reconfig_timer(self)
    cdef void _offer_extensions(self, object chunk)
    cdef void _send_abort(self, object reason)
    cdef stream_out_t* _stream(self, int sid) except NULL
    cdef int _grow_queue(self, stream_out_t* s) except -1
    cdef void _rr_push(self, uint16_t sid) noexcept
    cdef void _pop_message(self, int sid, stream_out_t* s) noexcept
    cdef void _debit(self, int sid, stream_out_t* s, Py_ssize_t n)
    cdef out_chunk_t* _obk(self, Py_ssize_t k) noexcept
    cdef int _ob_grow(self) except -1
    cdef bint _expired(self, out_chunk_t* c) noexcept
    cdef void _abandon(self, Py_ssize_t k)
    cdef void _advance_peer_ack_point(self)
    cdef object _build(self)
    cdef object _finish(self, PacketWriter w, bint data)
    cdef bint _has_data_to_send(self) noexcept
    cdef int _add_sack(self, PacketWriter w) except -1
    cdef int _add_forward_tsn(self, PacketWriter w) except -1
    cdef int _add_retransmissions(self, PacketWriter w) except -1
    cdef int _add_new_data(self, PacketWriter w) except -1
    cdef void _check_shutdown(self)
    cdef void _maybe_reconfig(self)
    cdef bint _vtag_ok(self, uint32_t vtag, const uint8_t* p, Py_ssize_t count)
    cdef void _process_chunks(self, const uint8_t* p, Py_ssize_t i, Py_ssize_t count)
    cdef void _on_init(self, const uint8_t* p, Py_ssize_t clen)
    cdef void _on_init_ack(self, const uint8_t* p, Py_ssize_t clen)
    cdef bytes _make_cookie(self, uint32_t my_tag, uint32_t peer_tag, uint32_t my_tsn, uint32_t peer_tsn, uint32_t peer_rwnd, uint16_t peer_os, uint16_t peer_mis, uint32_t flags)
    cdef _Cookie _read_cookie(self, const uint8_t* q, Py_ssize_t n)
    cdef bint _on_cookie_echo(self, const uint8_t* p, Py_ssize_t clen, uint32_t vtag)
    cdef void _adopt_peer(self, _Cookie c)
    cdef void _established(self)
    cdef void _on_abort(self, const uint8_t* p, Py_ssize_t clen)
    cdef void _on_shutdown(self, const uint8_t* p, Py_ssize_t clen)
    cdef void _ack_cumulative(self, uint32_t cum)
    cdef rx_slot_t* _slot(self, uint32_t tsn) noexcept
    cdef int _rx_reserve(self, Py_ssize_t span) except -1
    cdef void _release_slot(self, rx_slot_t* s) noexcept
    cdef void _advance_cum(self) noexcept
    cdef void _advance_base(self) noexcept
    cdef int _on_data(self, const uint8_t* p, Py_ssize_t clen) except -1
    cdef void _dup(self, uint32_t tsn) noexcept
    cdef int _rx_chain(self, uint32_t tsn) except -1
    cdef int _drop_too_big(self, uint32_t tsn) except -1
    cdef int _reassemble(self, uint32_t tsn) except -1
    cdef int _deliver(self, uint16_t sid, uint16_t ssn, uint32_t ppid, bint unordered, object msg) except -1
    cdef void _flush_pending(self, uint16_t sid)
    cdef void _on_forward_tsn(self, const uint8_t* p, Py_ssize_t clen)
    cdef void _on_sack(self, const uint8_t* p, Py_ssize_t clen)
    cdef void _rtt_update(self, double r) noexcept
    cdef void _on_reconfig(self, const uint8_t* p, Py_ssize_t clen)
    cdef int _check_req_seq(self, uint32_t seq)
    cdef object _on_outgoing_reset(self, object req)
    cdef void _perform_incoming_reset(self, list sids)
    cdef void _run_deferred_resets(self)
    cdef void _on_reconfig_response(self, object resp)
