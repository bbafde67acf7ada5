"""Data channels over an SCTP association: DCEP (RFC 8832) and the W3C
RTCDataChannel state machine, without I/O.

:class:`DataChannelManager` maps stream ids to :class:`ChannelState`, opens
channels in band (DATA_CHANNEL_OPEN / ACK, PPID 50) or negotiated (explicit
id), picks ids by DTLS role (RFC 8832 §6: client even, server odd), closes
them with stream resets (RFC 8831 §6.7) and frees the id for reuse once both
directions are reset.  ``poll()`` turns association events into channel
events: ``("datachannel", ch)``, ``("open", ch)``, ``("message", ch, data)``,
``("bufferedamountlow", ch)``, ``("closing", ch)``, ``("close", ch)``,
``("error", ch, exc)``.  The per-message path is one association call.

An in-band channel we open is ``open`` once its DATA_CHANNEL_OPEN is sent
on an established association (webrtc-pc §6.2 "announce the data channel as
open"; Chromium does the same), not when the ACK arrives: RFC 8832 §6 lets
the opener send right after the OPEN, since ordered delivery on the stream
puts its messages after the OPEN at the peer.  Unordered messages could
overtake the OPEN, so until the ACK (or any message from the peer on the
stream, which means the peer has the channel) they are held here, counted in
``bufferedAmount``, and sent in order once it arrives (RFC 8832 §6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rtcengine._core import dcep
from rtcengine._core.sctp_association import (
    EVENT_BUFFERED_LOW,
    EVENT_CLOSED,
    EVENT_CONNECTED,
    EVENT_DATA,
    EVENT_RESET_DONE,
    EVENT_STREAM_RESET,
    Association,
)
from rtcengine.exceptions import InvalidStateError, OperationError

# RFC 8831 §8 PPIDs.
PPID_DCEP = 50
PPID_STRING = 51
PPID_BINARY = 53
PPID_STRING_EMPTY = 56
PPID_BINARY_EMPTY = 57
# RFC 8831 §6.2: at most 65535 streams; id 65535 is reserved.
MAX_CHANNEL_ID = 65534

ChannelEvent = tuple[Any, ...]


class ChannelState:
    """One data channel's W3C-visible state (issue 6 wraps it in RTCDataChannel)."""

    __slots__ = (
        "id", "label", "protocol", "ordered", "max_retransmits", "max_packet_lifetime",
        "negotiated", "priority", "ready_state", "_out_reset", "_in_reset", "_threshold",
        "owner", "messages_sent", "bytes_sent", "messages_received", "bytes_received",
        "_awaiting_ack", "_held", "_held_bytes",
    )

    def __init__(self, id: int, label: str, protocol: str, ordered: bool,
                 max_retransmits: int | None, max_packet_lifetime: int | None,
                 negotiated: bool, priority: int) -> None:
        self.id = id
        self.label = label
        self.protocol = protocol
        self.ordered = ordered
        self.max_retransmits = max_retransmits
        self.max_packet_lifetime = max_packet_lifetime
        self.negotiated = negotiated
        self.priority = priority
        # W3C webrtc-pc §6.2: "connecting" | "open" | "closing" | "closed".
        self.ready_state = "connecting"
        self._out_reset = False
        self._in_reset = False
        self._threshold = 0
        self.owner: Any = None  # the RTCDataChannel object, if any
        # W3C webrtc-stats RTCDataChannelStats counters (user bytes).
        self.messages_sent = 0
        self.bytes_sent = 0
        self.messages_received = 0
        self.bytes_received = 0
        # RFC 8832 §6: our OPEN is not acknowledged yet; unordered messages
        # wait in _held ((ppid, payload) pairs, _held_bytes of payload).
        self._awaiting_ack = False
        self._held: list[tuple[int, bytes]] = []
        self._held_bytes = 0

    def __repr__(self) -> str:
        return f"<ChannelState id={self.id} label={self.label!r} {self.ready_state}>"


class DataChannelManager:
    """DCEP and channel bookkeeping over one :class:`Association`."""

    def __init__(self, association: Association, *, dtls_client: bool | None = None) -> None:
        self.association = association
        # RFC 8832 §6: the DTLS role decides the parity of the ids we pick.
        self.dtls_client = association.is_client if dtls_client is None else dtls_client
        self.channels: dict[int, ChannelState] = {}
        self._events: list[ChannelEvent] = []
        # In-band channels created on an established association: open at
        # the next poll().
        self._opening: list[ChannelState] = []
        self._next_id = 0 if self.dtls_client else 1
        #: Called after an API call queued output (the transport flushes once
        #: per loop iteration); None when nobody drives the association.
        self.wake: Callable[[], None] | None = None
        #: The RTCSctpTransport that owns this manager, if any.
        self.transport: Any = None
        #: Dropped peer input: DATA_CHANNEL_OPEN refused (wrong id parity,
        #: RFC 8832 §6, or a stream already in use), DCEP messages that do
        #: not parse (RFC 8832 §7), and messages on a stream with no open
        #: channel.
        self.dcep_refused = 0
        self.dcep_malformed = 0
        self.no_channel_dropped = 0

    # ---------------------------------------------------------------- API

    def create(self, label: str = "", *, ordered: bool = True,
               max_retransmits: int | None = None, max_packet_lifetime: int | None = None,
               protocol: str = "", negotiated: bool = False, id: int | None = None,
               priority: int = dcep.PRIORITY_NORMAL) -> ChannelState:
        """createDataChannel (W3C webrtc-pc §6.1)."""
        if max_retransmits is not None and max_packet_lifetime is not None:
            raise TypeError("maxRetransmits and maxPacketLifeTime cannot both be set")
        if len(label.encode()) > 65535 or len(protocol.encode()) > 65535:
            raise TypeError("label and protocol must be at most 65535 bytes of UTF-8")
        if negotiated:
            if id is None:
                raise TypeError("a negotiated data channel needs an id")
        elif id is None:
            id = self._allocate_id()
        if not 0 <= id <= MAX_CHANNEL_ID:
            raise TypeError(f"data channel id must be 0..{MAX_CHANNEL_ID}, got {id}")
        if id in self.channels:
            raise OperationError(f"data channel id {id} is in use")
        if self.association.state == "CLOSED" and self.association.close_reason is not None:
            raise InvalidStateError("the SCTP association is closed")
        ch = ChannelState(id, label, protocol, ordered, max_retransmits, max_packet_lifetime,
                          negotiated, priority)
        self.channels[id] = ch
        if negotiated:
            if self.association.is_established:
                self._open(ch)
        else:
            # RFC 8832 §6: the OPEN goes first, reliable and ordered (queued
            # by the association until it is established).
            self.association.send(id, PPID_DCEP, self._open_message(ch).marshal())
            ch._awaiting_ack = True
            if self.association.is_established:
                # Open at the next poll(), not inside createDataChannel
                # (webrtc-pc §6.2: "open" is announced from a queued task);
                # otherwise at EVENT_CONNECTED.
                self._opening.append(ch)
        return ch

    def send(self, ch: ChannelState, data: str | bytes | bytearray | memoryview) -> None:
        """RTCDataChannel.send (W3C webrtc-pc §6.2): PPID 51/53, 56/57 if empty."""
        if ch.ready_state != "open":
            raise InvalidStateError(f"data channel is {ch.ready_state}")
        if type(data) is bytes:
            payload = data
            ppid = PPID_BINARY if payload else PPID_BINARY_EMPTY
        elif isinstance(data, str):
            payload = data.encode()
            ppid = PPID_STRING if payload else PPID_STRING_EMPTY
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            ppid = PPID_BINARY if payload else PPID_BINARY_EMPTY
        else:
            raise TypeError(f"cannot send {type(data).__name__}; str or bytes-like")
        assoc = self.association
        n = len(payload)
        if n > assoc.remote_max_message_size:
            # W3C webrtc-pc §6.2 send(): TypeError over [[MaxMessageSize]].
            raise TypeError(f"message of {n} bytes exceeds the remote "
                            f"max-message-size of {assoc.remote_max_message_size}")
        ch.messages_sent += 1
        if n:
            ch.bytes_sent += n
        else:
            payload = b"\0"  # RFC 8831 §6.6: one byte that the receiver ignores
        if ch.ordered and ch.max_retransmits is None and ch.max_packet_lifetime is None:
            assoc.send(ch.id, ppid, payload)  # reliable ordered: the defaults
        elif ch._awaiting_ack and not ch.ordered:
            # RFC 8832 §6: no unordered message before the ACK.
            ch._held.append((ppid, payload))
            ch._held_bytes += n
        else:
            assoc.send(ch.id, ppid, payload, ordered=ch.ordered,
                       max_retransmits=ch.max_retransmits,
                       max_packet_lifetime_ms=ch.max_packet_lifetime)

    def buffered_amount(self, ch: ChannelState) -> int:
        if ch.ready_state == "closed":
            return 0
        return int(self.association.buffered_amount(ch.id)) + ch._held_bytes

    def set_buffered_amount_low_threshold(self, ch: ChannelState, value: int) -> None:
        if value < 0:
            raise ValueError("bufferedAmountLowThreshold must be >= 0")
        ch._threshold = value
        self.association.set_buffered_amount_low_threshold(ch.id, value)

    def close(self, ch: ChannelState) -> None:
        """RTCDataChannel.close: reset the outgoing stream (RFC 8831 §6.7)."""
        if ch.ready_state in ("closing", "closed"):
            return
        self._closing(ch)

    def close_all(self) -> None:
        """The transport under the association is gone (DTLS closed, peer
        connection closed): every channel is closed now, without a stream
        reset (webrtc-pc §6.2 "closed" when the transport closes)."""
        for ch in list(self.channels.values()):
            self._closed(ch)

    # ---------------------------------------------------------------- events

    def poll(self) -> list[ChannelEvent]:
        """Process the association's events; return the channel events."""
        assoc = self.association
        out = self._events
        channels = self.channels
        if self._opening:
            opening, self._opening = self._opening, []
            for pending in opening:
                if pending.ready_state == "connecting":
                    self._open(pending)
        for ev in assoc.poll_events():
            kind = ev[0]
            if kind == EVENT_DATA:
                ch = channels.get(ev[1])
                ppid = ev[2]
                if ppid == PPID_DCEP:
                    self._on_dcep(ev[1], ch, ev[3])
                    continue
                if ch is None or ch.ready_state not in ("open", "closing"):
                    self.no_channel_dropped += 1  # no channel on this stream
                    continue
                if ch._awaiting_ack:
                    # The peer sends on the stream: it has our OPEN.
                    self._acked(ch)
                if ppid == PPID_BINARY:
                    ch.messages_received += 1
                    ch.bytes_received += len(ev[3])
                    out.append(("message", ch, ev[3]))
                elif ppid == PPID_STRING:
                    ch.messages_received += 1
                    ch.bytes_received += len(ev[3])
                    try:
                        out.append(("message", ch, ev[3].decode()))
                    except UnicodeDecodeError as exc:
                        out.append(("error", ch, exc))
                elif ppid == PPID_STRING_EMPTY:
                    ch.messages_received += 1
                    out.append(("message", ch, ""))
                elif ppid == PPID_BINARY_EMPTY:
                    ch.messages_received += 1
                    out.append(("message", ch, b""))
            elif kind == EVENT_BUFFERED_LOW:
                ch = channels.get(ev[1])
                if ch is not None and ch.ready_state == "open":
                    out.append(("bufferedamountlow", ch))
            elif kind == EVENT_CONNECTED:
                # Negotiated channels, and in-band ones whose OPEN was queued
                # before the association was up (now sent).
                for ch in list(channels.values()):
                    if ch.ready_state == "connecting":
                        self._open(ch)
            elif kind == EVENT_STREAM_RESET:
                for sid in ev[1]:
                    ch = channels.get(sid)
                    if ch is None:
                        continue
                    ch._in_reset = True
                    if ch.ready_state in ("connecting", "open"):
                        # RFC 8831 §6.7: the peer closed; reset ours too.
                        self._closing(ch)
                    self._maybe_closed(ch)
            elif kind == EVENT_RESET_DONE:
                for sid in ev[1]:
                    ch = channels.get(sid)
                    if ch is not None:
                        ch._out_reset = True
                        self._maybe_closed(ch)
            elif kind == EVENT_CLOSED:
                reason = ev[1]
                for ch in list(channels.values()):
                    if reason is not None and ch.ready_state != "closed":
                        out.append(("error", ch, OperationError(f"SCTP: {reason}")))
                    self._closed(ch)
        self._events = []
        return out

    # ---------------------------------------------------------------- internals

    def _allocate_id(self) -> int:
        start = self._next_id
        i = start
        while i in self.channels:
            i += 2
            if i > MAX_CHANNEL_ID:
                i = 0 if self.dtls_client else 1
            if i == start:
                raise OperationError("no free data channel id")
        self._next_id = i + 2 if i + 2 <= MAX_CHANNEL_ID else (0 if self.dtls_client else 1)
        return i

    @staticmethod
    def _open_message(ch: ChannelState) -> dcep.DataChannelOpen:
        # RFC 8832 §5.1: channel type and reliability parameter.
        if ch.max_retransmits is not None:
            ctype, param = dcep.DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT, ch.max_retransmits
        elif ch.max_packet_lifetime is not None:
            ctype, param = dcep.DATA_CHANNEL_PARTIAL_RELIABLE_TIMED, ch.max_packet_lifetime
        else:
            ctype, param = dcep.DATA_CHANNEL_RELIABLE, 0
        if not ch.ordered:
            ctype |= dcep.CHANNEL_TYPE_UNORDERED
        return dcep.DataChannelOpen(ctype, ch.priority, param, ch.label, ch.protocol)

    def _on_dcep(self, sid: int, ch: ChannelState | None, data: bytes) -> None:
        try:
            msg = dcep.parse_message(data)
        except ValueError:
            self.dcep_malformed += 1
            return  # malformed DCEP: ignored (RFC 8832 §7)
        if isinstance(msg, dcep.DataChannelOpen):
            # RFC 8832 §6: the peer opens with its own parity.
            if (sid % 2 == 0) == self.dtls_client or ch is not None:
                self.dcep_refused += 1
                return
            new = ChannelState(sid, msg.label, msg.protocol, msg.ordered,
                               msg.max_retransmits, msg.max_packet_lifetime, False,
                               msg.priority)
            self.channels[sid] = new
            # RFC 8832 §6: answer with DATA_CHANNEL_ACK, reliable and ordered.
            self.association.send(sid, PPID_DCEP, dcep.DataChannelAck().marshal())
            self._events.append(("datachannel", new))
            self._open(new)
        elif ch is not None and ch._awaiting_ack:
            self._acked(ch)
            if ch.ready_state == "connecting":
                self._open(ch)

    def _acked(self, ch: ChannelState) -> None:
        """The peer has the channel (RFC 8832 §6): send the held unordered
        messages, in the order they were given."""
        ch._awaiting_ack = False
        held, ch._held, ch._held_bytes = ch._held, [], 0
        if not held or ch.ready_state != "open":
            return
        send = self.association.send
        for ppid, payload in held:
            send(ch.id, ppid, payload, ordered=False, max_retransmits=ch.max_retransmits,
                 max_packet_lifetime_ms=ch.max_packet_lifetime)

    def _open(self, ch: ChannelState) -> None:
        ch.ready_state = "open"
        self._events.append(("open", ch))

    def _closing(self, ch: ChannelState) -> None:
        # Unordered messages still held for the ACK are not sent: they could
        # overtake the OPEN (RFC 8832 §6) and the stream is being reset.
        ch._held, ch._held_bytes = [], 0
        ch.ready_state = "closing"
        self._events.append(("closing", ch))
        if not ch._out_reset:
            self.association.reset_streams([ch.id])

    def _maybe_closed(self, ch: ChannelState) -> None:
        if ch._in_reset and ch._out_reset:
            self._closed(ch)

    def _closed(self, ch: ChannelState) -> None:
        if ch.ready_state == "closed":
            return
        ch.ready_state = "closed"
        ch._held, ch._held_bytes = [], 0
        # The id is free again (W3C webrtc-pc §6.2 closing procedure).
        if self.channels.get(ch.id) is ch:
            del self.channels[ch.id]
        self._events.append(("close", ch))
