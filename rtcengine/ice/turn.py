"""TURN client (RFC 8656), sans-IO.

:class:`TurnClient` holds one allocation on one TURN server.  It never opens a
socket or reads a clock: bytes from the server go in through
:meth:`TurnClient.receive`, time through ``now`` arguments and
:meth:`TurnClient.handle_timeout`; bytes for the server come out of
:meth:`TurnClient.poll_transmit` and what happened out of
:meth:`TurnClient.poll_event`.  After any call, drain both until they return
``None`` and arm a timer for :meth:`TurnClient.next_deadline`.

What it does:

* Allocate (RFC 8656 §7) with the long-term credential mechanism
  (RFC 8489 §9.2): a first request without credentials, the 401 answer's REALM
  and NONCE, a retry with USERNAME/REALM/NONCE and MESSAGE-INTEGRITY (HMAC-SHA1
  over MD5(username:realm:SASLprep(password))), or PASSWORD-ALGORITHM SHA-256
  with MESSAGE-INTEGRITY-SHA256 when the server offers it (RFC 8489 §9.2.4);
  438 Stale Nonce retried with the new nonce; 300 Try Alternate reported with
  the ALTERNATE-SERVER address.
* Refresh (RFC 8656 §8) a minute before the allocation expires, and
  ``close()``: Refresh with LIFETIME 0 to deallocate.
* CreatePermission (RFC 8656 §9) per peer IP, refreshed every 4 minutes
  (permissions last 5); data to a peer waits for its permission.
* Send indications (RFC 8656 §10) until a channel is bound, ChannelBind
  (RFC 8656 §12) after a few packets to a peer (or on request), refreshed
  every 9 minutes (bindings last 10), then ChannelData (RFC 8656 §12.4).
* STUN transactions (RFC 8489 §6.2): over UDP retransmitted from RTO 500 ms,
  doubling, 7 sends, then Rm * RTO; over TCP/TLS sent once and timed out
  after 39.5 s.  Over TCP/TLS the byte stream is framed here: STUN messages
  and ChannelData back to back, ChannelData padded to 4 bytes (RFC 8656 §12.5).
* Bad input is normal input: malformed messages, responses with a wrong
  MESSAGE-INTEGRITY, successes without one, responses to unknown
  transactions and ChannelData on unknown channels are dropped and counted in
  :attr:`TurnClient.stats`; nothing else changes.

The asyncio transports to the server (UDP, TCP, TLS) are in
:mod:`rtcengine.ice.turn_transport`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Literal, TypeAlias

from rtcengine._core import stun
from rtcengine._core.hmac import HmacKey

Address: TypeAlias = tuple[str, int]
TransportName: TypeAlias = Literal["udp", "tcp", "tls"]
# STUN attributes as rtcengine._core.stun.Message takes them.
_Attrs: TypeAlias = list[tuple[int | str, Any]]

# ------------------------------------------------------------------ constants

# RFC 8489 §6.2.1: initial retransmission timeout over UDP, 500 ms.
RTO_INITIAL: Final = 0.5
# RFC 8489 §6.2.1: Rc, a request is sent at most 7 times over UDP.
RC: Final = 7
# RFC 8489 §6.2.1: Rm, after the last send wait Rm * RTO (the initial RTO).
RM: Final = 16
# RFC 8489 §6.2.2: Ti, a transaction over TCP/TLS times out after 39.5 s.
RELIABLE_TIMEOUT: Final = 39.5

# RFC 8656 §7.2: a server's default allocation lifetime is 10 minutes.
DEFAULT_LIFETIME: Final = 600
# RFC 8656 §8: "it is suggested that the client refresh the allocation
# roughly 1 minute before it expires".
REFRESH_MARGIN: Final = 60.0
# RFC 8656 §9: a permission lasts 300 s (fixed, not negotiated).
PERMISSION_LIFETIME: Final = 300.0
# RFC 8656 §9.1: refresh a permission before it expires; we refresh a minute
# early, every 4 minutes.
PERMISSION_REFRESH: Final = 240.0
# RFC 8656 §12: a channel binding lasts 10 minutes.
CHANNEL_LIFETIME: Final = 600.0
# RFC 8656 §12.1: rebind before expiry; we do it a minute early, every 9 minutes.
CHANNEL_REFRESH: Final = 540.0
# RFC 8656 §12: channel numbers 0x4000 through 0x4FFF.
CHANNEL_MIN: Final = stun.CHANNEL_MIN
CHANNEL_MAX: Final = stun.CHANNEL_MAX

# Our choices (no RFC number): how many packets to one peer before binding a
# channel to it, how many 438 Stale Nonce answers in a row before giving up,
# and how many packets wait for a permission.
CHANNEL_THRESHOLD: Final = 4
MAX_STALE_NONCE: Final = 3
MAX_PENDING_PER_PEER_IP: Final = 64

# RFC 8489 §14.8 / RFC 8656 §19: the error codes this client reacts to.
ERR_TRY_ALTERNATE: Final = 300  # RFC 8489 §14.8
ERR_UNAUTHENTICATED: Final = 401  # RFC 8489 §14.8
ERR_FORBIDDEN: Final = 403  # RFC 8656 §19
ERR_ALLOCATION_MISMATCH: Final = 437  # RFC 8656 §19
ERR_STALE_NONCE: Final = 438  # RFC 8489 §14.8
ERR_ALLOCATION_QUOTA: Final = 486  # RFC 8656 §19
ERR_INSUFFICIENT_CAPACITY: Final = 508  # RFC 8656 §19

# Codes for failures that did not come from the server.
ERR_TIMEOUT: Final = 0  # transaction timed out (RFC 8489 §6.2.1)
ERR_LOCAL: Final = -1  # bad response, expiry, closed stream, ...


class TurnState(Enum):
    """Allocation state (RFC 8656 §5: the client side of one allocation)."""

    IDLE = "idle"  # nothing sent yet
    ALLOCATING = "allocating"  # Allocate in flight (RFC 8656 §7.1)
    ALLOCATED = "allocated"  # success response received (RFC 8656 §7.3)
    CLOSING = "closing"  # Refresh LIFETIME=0 in flight (RFC 8656 §8)
    CLOSED = "closed"  # deallocated or never allocated
    FAILED = "failed"  # allocation refused, expired or lost


# -------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Allocated:
    """Allocate succeeded (RFC 8656 §7.3)."""

    relayed_address: Address
    mapped_address: Address | None
    lifetime: int


@dataclass(frozen=True, slots=True)
class AllocationFailed:
    """The allocation could not be made, or was lost (refresh refused,
    expired, transport closed).  ``code`` is the STUN error code, or
    ERR_TIMEOUT / ERR_LOCAL."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class TryAlternate:
    """300 Try Alternate (RFC 8656 §7.4, RFC 8489 §10): the server asks the
    client to allocate on ``server`` instead.  Followed by AllocationFailed."""

    server: Address
    domain: str | None


@dataclass(frozen=True, slots=True)
class Refreshed:
    """Refresh succeeded (RFC 8656 §8.3) with this lifetime."""

    lifetime: int


@dataclass(frozen=True, slots=True)
class PermissionCreated:
    """CreatePermission succeeded for ``peer_ip`` (RFC 8656 §9.3)."""

    peer_ip: str


@dataclass(frozen=True, slots=True)
class PermissionFailed:
    """CreatePermission failed for ``peer_ip``; data to it is dropped."""

    peer_ip: str
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class ChannelBound:
    """ChannelBind succeeded (RFC 8656 §12.3): data to ``peer`` now goes as
    ChannelData on ``channel``."""

    peer: Address
    channel: int


@dataclass(frozen=True, slots=True)
class ChannelBindFailed:
    """ChannelBind failed; data to ``peer`` keeps going in Send indications."""

    peer: Address
    channel: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class DataReceived:
    """Data relayed from ``peer`` (a Data indication, RFC 8656 §11.6, or
    ChannelData, RFC 8656 §12.6)."""

    peer: Address
    data: bytes


@dataclass(frozen=True, slots=True)
class Closed:
    """The allocation was released (RFC 8656 §8: Refresh with LIFETIME 0) or
    never made."""


TurnEvent: TypeAlias = (
    Allocated
    | AllocationFailed
    | TryAlternate
    | Refreshed
    | PermissionCreated
    | PermissionFailed
    | ChannelBound
    | ChannelBindFailed
    | DataReceived
    | Closed
)


@dataclass(slots=True)
class TurnStats:
    """Counters (DESIGN rule 5: bad input is dropped and counted)."""

    requests_sent: int = 0
    retransmissions: int = 0
    transaction_timeouts: int = 0
    indications_sent: int = 0
    channel_data_sent: int = 0
    data_received: int = 0
    dropped_malformed: int = 0
    dropped_bad_integrity: int = 0
    dropped_unknown_transaction: int = 0
    dropped_unexpected: int = 0
    dropped_unknown_channel: int = 0
    dropped_no_permission: int = 0
    dropped_not_allocated: int = 0


# ------------------------------------------------------------- internal state


class _Kind(Enum):
    ALLOCATE = "allocate"
    REFRESH = "refresh"
    DEALLOCATE = "deallocate"
    PERMISSION = "permission"
    CHANNEL = "channel"


@dataclass(slots=True, eq=False)
class _Transaction:
    kind: _Kind
    method: int
    attrs: _Attrs
    tid: bytes = b""
    data: bytes = b""
    sends: int = 0
    rto: float = RTO_INITIAL
    next_send: float | None = None
    timeout: float = 0.0
    auth_retries: int = 0
    stale_retries: int = 0
    peer_ip: str = ""
    peer: Address | None = None
    channel: int = 0


class _PermState(Enum):
    PENDING = "pending"  # CreatePermission in flight, none installed yet
    INSTALLED = "installed"  # RFC 8656 §9: installed, refreshed periodically
    FAILED = "failed"  # refused; data to this IP is dropped


@dataclass(slots=True, eq=False)
class _Permission:
    state: _PermState
    refresh_at: float = 0.0
    expires: float = 0.0
    refreshing: bool = False
    pending: deque[tuple[Address, bytes]] = field(default_factory=deque)


class _ChanState(Enum):
    BINDING = "binding"  # ChannelBind in flight, no binding yet
    BOUND = "bound"  # RFC 8656 §12: bound, ChannelData may be used
    FAILED = "failed"  # refused; Send indications keep being used


@dataclass(slots=True, eq=False)
class _Channel:
    number: int
    peer: Address
    state: _ChanState
    refresh_at: float = 0.0
    expires: float = 0.0
    refreshing: bool = False


# --------------------------------------------------------------------- client


class TurnClient:
    """One TURN allocation (RFC 8656), sans-IO.

    ``transport`` is how the client reaches the server ("udp", "tcp" or
    "tls"); the relayed transport is always UDP (REQUESTED-TRANSPORT 17,
    RFC 8656 §7.1).  Over TCP/TLS :meth:`receive` takes stream bytes in any
    chunking and :meth:`poll_transmit` returns bytes to write to the stream;
    over UDP each is one datagram.
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        transport: TransportName = "udp",
        lifetime: int | None = None,
        software: str | None = None,
        family: int | None = None,
        channel_threshold: int = CHANNEL_THRESHOLD,
        fingerprint: bool = True,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if transport not in ("udp", "tcp", "tls"):
            raise ValueError(f"TURN transport must be udp, tcp or tls, got {transport!r}")
        self.username = username
        self.password = password
        self.transport: TransportName = transport
        # RFC 8489 §6.2.1/§6.2.2: retransmit over UDP only.
        self.reliable = transport != "udp"
        self._requested_lifetime = lifetime
        self._software = software
        self._family = family
        self._channel_threshold = channel_threshold
        self._fingerprint = fingerprint
        self._random_bytes = random_bytes

        self.state = TurnState.IDLE
        self.stats = TurnStats()
        self.relayed_address: Address | None = None
        self.mapped_address: Address | None = None
        self.lifetime = 0
        self.realm: str | None = None
        self.nonce: bytes | None = None
        self.password_algorithm = stun.PASSWORD_ALGORITHM_MD5
        self._password_algorithms: list[tuple[int, bytes]] | None = None
        self._key: HmacKey | None = None
        self._key_bytes = b""
        self._refresh_at: float | None = None
        self._expires: float | None = None

        self._transactions: dict[bytes, _Transaction] = {}
        self._permissions: dict[str, _Permission] = {}
        self._channels: dict[int, _Channel] = {}
        self._peer_channel: dict[Address, _Channel] = {}
        self._peer_sends: dict[Address, int] = {}
        self._next_channel = CHANNEL_MIN
        self._transmits: deque[bytes] = deque()
        self._events: deque[TurnEvent] = deque()
        self._stream = bytearray()
        self._parser = stun.Message()

    # ----------------------------------------------------------- public API

    def allocate(self, now: float) -> None:
        """Send the first Allocate request (RFC 8656 §7.1), without
        credentials: the server's 401 names the realm and nonce."""
        if self.state is not TurnState.IDLE:
            raise RuntimeError(f"allocate() called in state {self.state.value}")
        attrs: _Attrs = [
            # RFC 8656 §7.1: REQUESTED-TRANSPORT, UDP is the only relay transport here.
            (stun.ATTR_REQUESTED_TRANSPORT, stun.TRANSPORT_UDP),
        ]
        if self._family is not None:
            # RFC 8656 §7.1: REQUESTED-ADDRESS-FAMILY (IPv4 is the default).
            attrs.append((stun.ATTR_REQUESTED_ADDRESS_FAMILY, self._family))
        if self._requested_lifetime is not None:
            # RFC 8656 §7.1: LIFETIME is a hint the server may lower.
            attrs.append((stun.ATTR_LIFETIME, self._requested_lifetime))
        if self._software is not None:
            attrs.append((stun.ATTR_SOFTWARE, self._software))
        # Transition IDLE -> ALLOCATING (RFC 8656 §7.1).
        self.state = TurnState.ALLOCATING
        self._start(_Transaction(_Kind.ALLOCATE, stun.ALLOCATE, attrs), now)

    def close(self, now: float) -> None:
        """Release the allocation: Refresh with LIFETIME 0 (RFC 8656 §8).
        A Closed event follows (after the answer, or at once when nothing
        was allocated)."""
        if self.state in (TurnState.CLOSED, TurnState.FAILED, TurnState.CLOSING):
            return
        was_allocated = self.state is TurnState.ALLOCATED
        self._transactions.clear()
        self._drop_all_pending()
        if not was_allocated:
            # Nothing on the server to release (or an Allocate still in flight,
            # which will expire there on its own: RFC 8656 §7.2).
            self._finish_closed()
            return
        # Transition ALLOCATED -> CLOSING (RFC 8656 §8: lifetime 0 deletes).
        self.state = TurnState.CLOSING
        self._start(
            _Transaction(_Kind.DEALLOCATE, stun.REFRESH, [(stun.ATTR_LIFETIME, 0)]),
            now,
        )

    def create_permission(self, peer_ip: str, now: float) -> None:
        """Install a permission for ``peer_ip`` (RFC 8656 §9) so the peer's
        packets are relayed to us, e.g. for every remote ICE candidate.
        Retries an IP whose permission failed."""
        perm = self._permissions.get(peer_ip)
        if perm is not None and perm.state is not _PermState.FAILED:
            return
        if self.state is not TurnState.ALLOCATED:
            raise RuntimeError(f"create_permission() needs an allocation, state {self.state.value}")
        self._permissions[peer_ip] = _Permission(_PermState.PENDING)
        self._send_permission(peer_ip, now)

    def bind_channel(self, peer: Address, now: float) -> None:
        """Bind a channel to ``peer`` now (RFC 8656 §12.1) instead of after
        CHANNEL_THRESHOLD packets, e.g. when ICE selects the pair."""
        if self.state is not TurnState.ALLOCATED:
            raise RuntimeError(f"bind_channel() needs an allocation, state {self.state.value}")
        peer = (peer[0], peer[1])
        if peer not in self._peer_channel:
            self._start_channel(peer, now)

    def send(self, data: bytes, peer: Address, now: float) -> None:
        """Relay ``data`` to ``peer``: ChannelData once a channel is bound,
        else a Send indication (RFC 8656 §10.1) once the peer's IP has a
        permission; until then it waits (a bounded queue)."""
        if self.state is not TurnState.ALLOCATED:
            self.stats.dropped_not_allocated += 1
            return
        peer = (peer[0], peer[1])
        chan = self._peer_channel.get(peer)
        if chan is not None and chan.state is _ChanState.BOUND:
            # RFC 8656 §12.5: ChannelData, padded to 4 bytes over TCP/TLS.
            self._transmits.append(stun.ChannelData(chan.number, data).marshal(pad=self.reliable))
            self.stats.channel_data_sent += 1
            return
        ip = peer[0]
        perm = self._permissions.get(ip)
        if perm is None:
            perm = self._permissions[ip] = _Permission(_PermState.PENDING)
            self._send_permission(ip, now)
        if perm.state is _PermState.FAILED:
            self.stats.dropped_no_permission += 1
            return
        if perm.state is _PermState.PENDING:
            if len(perm.pending) >= MAX_PENDING_PER_PEER_IP:
                perm.pending.popleft()
                self.stats.dropped_no_permission += 1
            perm.pending.append((peer, bytes(data)))
            return
        self._send_indication(peer, data)
        if chan is None:
            n = self._peer_sends.get(peer, 0) + 1
            self._peer_sends[peer] = n
            if n >= self._channel_threshold:
                self._start_channel(peer, now)

    def receive(self, data: bytes | bytearray | memoryview, now: float) -> None:
        """Bytes from the server: one datagram over UDP, any chunk of the
        stream over TCP/TLS (RFC 8656 §12.5 framing)."""
        if not self.reliable:
            self._receive_frame(bytes(data), now)
            return
        self._stream += data
        buf = self._stream
        pos = 0
        while len(buf) - pos >= 4:
            first = buf[pos] >> 6
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if first == 0:
                # RFC 8489 §5: a STUN message, 20-byte header + length.
                size = 20 + length
            elif first == 1:
                # RFC 8656 §12.5: ChannelData padded to a multiple of 4 over TCP.
                size = 4 + length + (-length % 4)
            else:
                # RFC 8656 §12.5: nothing else is allowed on the stream; we
                # cannot find the next frame, so the stream is dead.
                del buf[:]
                self.stats.dropped_malformed += 1
                self._fail(ERR_LOCAL, "TCP/TLS stream out of frame sync")
                return
            if len(buf) - pos < size:
                break
            self._receive_frame(bytes(buf[pos : pos + size]), now)
            pos += size
        del buf[:pos]

    def connection_lost(self, reason: str = "connection to the TURN server lost") -> None:
        """The driver's TCP/TLS connection closed: the allocation is gone
        with it (RFC 8656 §3.1: a TCP allocation lives on its connection)."""
        if self.state is TurnState.CLOSING:
            self._finish_closed()
        elif self.state in (TurnState.ALLOCATING, TurnState.ALLOCATED):
            self._fail(ERR_LOCAL, reason)

    def next_deadline(self) -> float | None:
        """The earliest time :meth:`handle_timeout` has work, or None."""
        times: list[float] = []
        for t in self._transactions.values():
            times.append(t.timeout if t.next_send is None else min(t.next_send, t.timeout))
        if self.state is TurnState.ALLOCATED:
            if self._refresh_at is not None:
                times.append(self._refresh_at)
            if self._expires is not None:
                times.append(self._expires)
            for perm in self._permissions.values():
                if perm.state is _PermState.INSTALLED:
                    times.append(perm.expires if perm.refreshing else perm.refresh_at)
            for chan in self._channels.values():
                if chan.state is _ChanState.BOUND:
                    times.append(chan.expires if chan.refreshing else chan.refresh_at)
        return min(times) if times else None

    def handle_timeout(self, now: float) -> None:
        """Retransmit, time out transactions, refresh what is due."""
        for t in list(self._transactions.values()):
            if self._transactions.get(t.tid) is not t:
                continue
            if now >= t.timeout:
                del self._transactions[t.tid]
                self.stats.transaction_timeouts += 1
                self._on_timeout(t, now)
            elif t.next_send is not None and now >= t.next_send:
                # RFC 8489 §6.2.1: resend with the RTO doubled.
                self._transmits.append(t.data)
                self.stats.retransmissions += 1
                t.sends += 1
                t.rto *= 2
                t.next_send = now + t.rto if t.sends < RC else None
        if self.state is not TurnState.ALLOCATED:
            return
        if self._expires is not None and now >= self._expires:
            # RFC 8656 §8: an allocation not refreshed in time is gone.
            self._fail(ERR_LOCAL, "allocation expired before a refresh succeeded")
            return
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = None
            self._send_refresh(now)
        for ip, perm in list(self._permissions.items()):
            if perm.state is not _PermState.INSTALLED:
                continue
            if now >= perm.expires:
                # RFC 8656 §9: the server has dropped it.
                self._permission_failed(ip, ERR_LOCAL, "permission expired")
            elif not perm.refreshing and now >= perm.refresh_at:
                perm.refreshing = True
                self._send_permission(ip, now)
        for chan in list(self._channels.values()):
            if chan.state is not _ChanState.BOUND:
                continue
            if now >= chan.expires:
                # RFC 8656 §12: binding expired; back to Send indications.
                self._channel_failed(chan, ERR_LOCAL, "channel binding expired")
            elif not chan.refreshing and now >= chan.refresh_at:
                chan.refreshing = True
                self._send_channel_bind(chan, now)

    def poll_transmit(self) -> bytes | None:
        """Next bytes for the server (a datagram, or stream bytes)."""
        return self._transmits.popleft() if self._transmits else None

    def poll_event(self) -> TurnEvent | None:
        return self._events.popleft() if self._events else None

    def channel_for(self, peer: Address) -> int | None:
        """The bound channel number for ``peer``, or None."""
        chan = self._peer_channel.get((peer[0], peer[1]))
        return chan.number if chan is not None and chan.state is _ChanState.BOUND else None

    def has_permission(self, peer_ip: str) -> bool:
        perm = self._permissions.get(peer_ip)
        return perm is not None and perm.state is _PermState.INSTALLED

    # ---------------------------------------------------------- transactions

    def _start(self, t: _Transaction, now: float) -> None:
        """Build the request (authenticated once we know the realm) and send it
        as a new transaction (RFC 8489 §6.1: every retry is a new one)."""
        t.tid = self._random_bytes(12)
        attrs = list(t.attrs)
        key: HmacKey | None = None
        if self._key is not None and self.realm is not None and self.nonce is not None:
            # RFC 8489 §9.2.4: USERNAME, REALM, NONCE, (PASSWORD-ALGORITHMS,
            # PASSWORD-ALGORITHM), then MESSAGE-INTEGRITY(-SHA256).
            attrs += [
                (stun.ATTR_USERNAME, self.username),
                (stun.ATTR_REALM, self.realm),
                (stun.ATTR_NONCE, self.nonce),
            ]
            if self._password_algorithms is not None:
                attrs += [
                    (stun.ATTR_PASSWORD_ALGORITHMS, self._password_algorithms),
                    (stun.ATTR_PASSWORD_ALGORITHM, (self.password_algorithm, b"")),
                ]
            key = self._key
        msg = stun.Message(t.method, stun.REQUEST, t.tid, attributes=attrs)
        t.data = msg.marshal(integrity_key=key, fingerprint=self._fingerprint)
        t.sends = 1
        t.rto = RTO_INITIAL
        if self.reliable:
            # RFC 8489 §6.2.2: no retransmission over TCP/TLS, Ti = 39.5 s.
            t.next_send = None
            t.timeout = now + RELIABLE_TIMEOUT
        else:
            # RFC 8489 §6.2.1: sends at 0, RTO, 3 RTO, ... (Rc of them), then
            # wait Rm * RTO: 39.5 s with the defaults.
            t.next_send = now + RTO_INITIAL
            t.timeout = now + RTO_INITIAL * ((1 << (RC - 1)) - 1 + RM)
        self._transactions[t.tid] = t
        self._transmits.append(t.data)
        self.stats.requests_sent += 1

    def _on_timeout(self, t: _Transaction, now: float) -> None:
        reason = f"{stun.METHOD_NAMES.get(t.method, hex(t.method))} request timed out"
        if t.kind is _Kind.ALLOCATE:
            self._fail(ERR_TIMEOUT, reason)
        elif t.kind is _Kind.DEALLOCATE:
            self._finish_closed()
        elif t.kind is _Kind.REFRESH:
            # RFC 8656 §8: the allocation may still live; try again while it
            # has not expired (the expiry check fails it otherwise).
            if self._expires is not None and now < self._expires:
                self._send_refresh(now)
        elif t.kind is _Kind.PERMISSION:
            self._permission_failed(t.peer_ip, ERR_TIMEOUT, reason)
        elif t.kind is _Kind.CHANNEL:
            chan = self._channels.get(t.channel)
            if chan is not None:
                self._channel_failed(chan, ERR_TIMEOUT, reason)

    # -------------------------------------------------------------- receive

    def _receive_frame(self, data: bytes, now: float) -> None:
        if len(data) >= 4 and data[0] >> 6 == 1:
            self._receive_channel_data(data)
            return
        try:
            self._parser.parse_into(data)
        except stun.ParseError:
            self.stats.dropped_malformed += 1
            return
        msg = self._parser
        cls = msg.message_class
        if cls == stun.INDICATION:
            if msg.message_method != stun.DATA:
                self.stats.dropped_unexpected += 1
                return
            try:
                self._receive_data_indication(msg)
            except stun.ParseError:
                self.stats.dropped_malformed += 1
            return
        if cls == stun.REQUEST:
            # RFC 8656: a server sends no requests to a client.
            self.stats.dropped_unexpected += 1
            return
        t = self._transactions.get(msg.transaction_id)
        if t is None:
            # RFC 8489 §6.3: a response to no outstanding transaction.
            self.stats.dropped_unknown_transaction += 1
            return
        if msg.message_method != t.method:
            self.stats.dropped_unknown_transaction += 1
            return
        try:
            # Values are decoded lazily and a text one (ERROR-CODE reason,
            # REALM) can still be bad UTF-8: decode them all now, before any
            # state changes (DESIGN rule 5).
            _ = msg.attributes
        except stun.ParseError:
            self.stats.dropped_malformed += 1
            return
        if not self._authentic(msg, t):
            return
        del self._transactions[t.tid]
        if cls == stun.SUCCESS_RESPONSE:
            self._on_success(t, msg, now)
        else:
            self._on_error(t, msg, now)

    def _authentic(self, msg: stun.Message, t: _Transaction) -> bool:
        """RFC 8489 §9.2.5: a response to an authenticated request is
        checked with the same key.  A wrong MESSAGE-INTEGRITY is dropped; so
        is a success without one (it could be forged).  Error responses
        without integrity are accepted: 401 and 438 never carry it, and the
        others only end what we were doing."""
        has_mi = stun.ATTR_MESSAGE_INTEGRITY in msg or stun.ATTR_MESSAGE_INTEGRITY_SHA256 in msg
        if stun.ATTR_FINGERPRINT in msg and not msg.check_fingerprint():
            self.stats.dropped_malformed += 1
            return False
        key = self._key
        if key is None:
            # Our request had no credentials (the first Allocate): only an
            # error (the 401 challenge) is expected.  A success without
            # authentication is what a server with no auth sends: accept it.
            return True
        if has_mi:
            # By default SHA-256 when MESSAGE-INTEGRITY-SHA256 is present.
            if not msg.check_integrity(self._key_bytes, None):
                self.stats.dropped_bad_integrity += 1
                return False
            return True
        if msg.message_class == stun.SUCCESS_RESPONSE:
            self.stats.dropped_bad_integrity += 1
            return False
        return True

    def _receive_data_indication(self, msg: stun.Message) -> None:
        # RFC 8656 §11.6: XOR-PEER-ADDRESS and DATA are required; drop otherwise.
        peer = msg.get(stun.ATTR_XOR_PEER_ADDRESS)
        data = msg.get(stun.ATTR_DATA)
        if peer is None or data is None or self.state is not TurnState.ALLOCATED:
            self.stats.dropped_unexpected += 1
            return
        perm = self._permissions.get(peer[0])
        if perm is None or perm.state is _PermState.FAILED:
            # RFC 8656 §11.6: the server relays only peers we permitted
            # (pending counts: its success may be in flight behind the data).
            self.stats.dropped_no_permission += 1
            return
        self.stats.data_received += 1
        self._events.append(DataReceived((peer[0], peer[1]), data))

    def _receive_channel_data(self, data: bytes) -> None:
        try:
            cd = stun.ChannelData.parse(data)
        except stun.ParseError:
            self.stats.dropped_malformed += 1
            return
        chan = self._channels.get(cd.channel_number)
        # RFC 8656 §12.6: ChannelData on a channel we have not bound (or are
        # binding: the server may use it before our success arrives) is dropped.
        if chan is None or chan.state is _ChanState.FAILED or self.state is not TurnState.ALLOCATED:
            self.stats.dropped_unknown_channel += 1
            return
        self.stats.data_received += 1
        self._events.append(DataReceived(chan.peer, cd.data))

    # ------------------------------------------------------------ responses

    def _on_success(self, t: _Transaction, msg: stun.Message, now: float) -> None:
        if t.kind is _Kind.ALLOCATE:
            relayed = msg.get(stun.ATTR_XOR_RELAYED_ADDRESS)
            if relayed is None:
                # RFC 8656 §7.3: a success without XOR-RELAYED-ADDRESS is broken.
                self._fail(ERR_LOCAL, "Allocate success without XOR-RELAYED-ADDRESS")
                return
            lifetime = msg.get(stun.ATTR_LIFETIME, DEFAULT_LIFETIME)
            mapped = msg.get(stun.ATTR_XOR_MAPPED_ADDRESS)
            self.relayed_address = (relayed[0], relayed[1])
            self.mapped_address = None if mapped is None else (mapped[0], mapped[1])
            # Transition ALLOCATING -> ALLOCATED (RFC 8656 §7.3).
            self.state = TurnState.ALLOCATED
            self._set_lifetime(lifetime, now)
            self._events.append(Allocated(self.relayed_address, self.mapped_address, lifetime))
        elif t.kind is _Kind.REFRESH:
            lifetime = msg.get(stun.ATTR_LIFETIME, DEFAULT_LIFETIME)
            if self.state is TurnState.ALLOCATED:
                self._set_lifetime(lifetime, now)
                self._events.append(Refreshed(lifetime))
        elif t.kind is _Kind.DEALLOCATE:
            # Transition CLOSING -> CLOSED (RFC 8656 §8.3).
            self._finish_closed()
        elif t.kind is _Kind.PERMISSION:
            perm = self._permissions.get(t.peer_ip)
            if perm is None or perm.state is _PermState.FAILED:
                return
            first = perm.state is _PermState.PENDING
            # RFC 8656 §9.3 / §9: installed (or refreshed) for 300 s.
            perm.state = _PermState.INSTALLED
            perm.refreshing = False
            perm.refresh_at = now + PERMISSION_REFRESH
            perm.expires = now + PERMISSION_LIFETIME
            if first:
                self._events.append(PermissionCreated(t.peer_ip))
                pending, perm.pending = perm.pending, deque()
                for peer, data in pending:
                    self.send(data, peer, now)
        elif t.kind is _Kind.CHANNEL:
            chan = self._channels.get(t.channel)
            if chan is None or chan.state is _ChanState.FAILED:
                return
            first = chan.state is _ChanState.BINDING
            # RFC 8656 §12.3: bound for 10 minutes; also installs or refreshes
            # the permission for the peer's IP (RFC 8656 §12.2).
            chan.state = _ChanState.BOUND
            chan.refreshing = False
            chan.refresh_at = now + CHANNEL_REFRESH
            chan.expires = now + CHANNEL_LIFETIME
            ip = chan.peer[0]
            perm = self._permissions.get(ip)
            if perm is None or perm.state is _PermState.FAILED:
                # Track it so CreatePermission keeps it alive: the permission
                # lasts 5 minutes, the binding 10 (RFC 8656 §12).
                perm = self._permissions[ip] = _Permission(_PermState.INSTALLED)
                perm.refresh_at = now + PERMISSION_REFRESH
            if perm.state is _PermState.INSTALLED:
                perm.expires = max(perm.expires, now + PERMISSION_LIFETIME)
            if first:
                self._events.append(ChannelBound(chan.peer, chan.number))

    def _on_error(self, t: _Transaction, msg: stun.Message, now: float) -> None:
        err = msg.get(stun.ATTR_ERROR_CODE)
        if err is None:
            # RFC 8489 §14.8: an error response needs ERROR-CODE.
            self.stats.dropped_malformed += 1
            code, reason = ERR_LOCAL, "error response without ERROR-CODE"
        else:
            code, reason = int(err[0]), str(err[1])
        if code == ERR_UNAUTHENTICATED and t.auth_retries == 0 and self._challenge(msg):
            # RFC 8489 §9.2.5: retry with credentials, once per request: a
            # second 401 means the credentials are wrong.
            t.auth_retries += 1
            self._start(t, now)
            return
        if code == ERR_STALE_NONCE and t.stale_retries < MAX_STALE_NONCE:
            nonce = msg.get(stun.ATTR_NONCE)
            if nonce is not None:
                # RFC 8489 §9.2.5: 438 Stale Nonce, retry with the new NONCE
                # (and REALM if the server sent one).
                self.nonce = nonce
                realm = msg.get(stun.ATTR_REALM)
                if realm is not None and realm != self.realm:
                    self.realm = realm
                    self._derive_key()
                t.stale_retries += 1
                self._start(t, now)
                return
        text = f"{code} {reason}".strip()
        if t.kind is _Kind.ALLOCATE:
            if code == ERR_TRY_ALTERNATE:
                # RFC 8656 §7.4 / RFC 8489 §10: the driver decides whether to
                # follow ALTERNATE-SERVER (at most once, to avoid loops).
                alt = msg.get(stun.ATTR_ALTERNATE_SERVER)
                if alt is not None:
                    self._events.append(
                        TryAlternate((alt[0], alt[1]), msg.get(stun.ATTR_ALTERNATE_DOMAIN))
                    )
            # RFC 8656 §7.4: 403, 437, 440, 442, 486, 508, ... end the attempt.
            self._fail(code, f"Allocate failed: {text}")
        elif t.kind is _Kind.REFRESH:
            # RFC 8656 §8.3: 437 means the allocation is gone; any other
            # refusal leaves nothing to keep it alive either.
            self._fail(code, f"Refresh failed: {text}")
        elif t.kind is _Kind.DEALLOCATE:
            # RFC 8656 §8.3: 437 on LIFETIME 0 means it is already gone.
            self._finish_closed()
        elif t.kind is _Kind.PERMISSION:
            self._permission_failed(t.peer_ip, code, f"CreatePermission failed: {text}")
        elif t.kind is _Kind.CHANNEL:
            chan = self._channels.get(t.channel)
            if chan is not None:
                self._channel_failed(chan, code, f"ChannelBind failed: {text}")

    def _challenge(self, msg: stun.Message) -> bool:
        """Take REALM/NONCE (and PASSWORD-ALGORITHMS) from a 401 (RFC 8489
        §9.2.5).  True when the server gave what a retry needs."""
        realm = msg.get(stun.ATTR_REALM)
        nonce = msg.get(stun.ATTR_NONCE)
        if realm is None or nonce is None:
            return False
        self.realm = realm
        self.nonce = nonce
        algorithms = msg.get(stun.ATTR_PASSWORD_ALGORITHMS)
        if algorithms:
            # RFC 8489 §9.2.4: choose the first algorithm we support, in the
            # server's order; echo the list and name the choice.
            supported = (stun.PASSWORD_ALGORITHM_SHA256, stun.PASSWORD_ALGORITHM_MD5)
            chosen = next((a for a, _ in algorithms if a in supported), None)
            if chosen is None:
                return False
            self._password_algorithms = [(a, bytes(p)) for a, p in algorithms]
            self.password_algorithm = chosen
        self._derive_key()
        return True

    def _derive_key(self) -> None:
        # RFC 8489 §9.2.2: key = MD5/SHA-256(username ":" realm ":" SASLprep(password)).
        assert self.realm is not None
        self._key_bytes = stun.long_term_key(
            self.username, self.realm, self.password, self.password_algorithm
        )
        # RFC 8489 §9.2.4: with SHA-256 the integrity is MESSAGE-INTEGRITY-SHA256.
        if self.password_algorithm == stun.PASSWORD_ALGORITHM_SHA256:
            self._key = HmacKey(self._key_bytes, "sha256")
        else:
            self._key = HmacKey(self._key_bytes, "sha1")

    # -------------------------------------------------------------- helpers

    def _set_lifetime(self, lifetime: int, now: float) -> None:
        self.lifetime = lifetime
        self._expires = now + lifetime
        # RFC 8656 §8: refresh about a minute before expiry (halfway for
        # lifetimes of two minutes or less).
        margin = REFRESH_MARGIN if lifetime > 2 * REFRESH_MARGIN else lifetime / 2
        self._refresh_at = now + lifetime - margin

    def _send_refresh(self, now: float) -> None:
        attrs: _Attrs = []
        if self._requested_lifetime is not None:
            attrs.append((stun.ATTR_LIFETIME, self._requested_lifetime))
        self._start(_Transaction(_Kind.REFRESH, stun.REFRESH, attrs), now)

    def _send_permission(self, peer_ip: str, now: float) -> None:
        # RFC 8656 §9.1: XOR-PEER-ADDRESS, the port is ignored by the server.
        t = _Transaction(
            _Kind.PERMISSION,
            stun.CREATE_PERMISSION,
            [(stun.ATTR_XOR_PEER_ADDRESS, (peer_ip, 0))],
            peer_ip=peer_ip,
        )
        self._start(t, now)

    def _start_channel(self, peer: Address, now: float) -> None:
        number = self._alloc_channel_number()
        if number is None:
            return  # all 4096 channels in use: Send indications it is
        chan = _Channel(number, peer, _ChanState.BINDING)
        self._channels[number] = chan
        self._peer_channel[peer] = chan
        self._send_channel_bind(chan, now)

    def _alloc_channel_number(self) -> int | None:
        for _ in range(CHANNEL_MAX - CHANNEL_MIN + 1):
            n = self._next_channel
            self._next_channel = CHANNEL_MIN if n == CHANNEL_MAX else n + 1
            if n not in self._channels:
                return n
        return None

    def _send_channel_bind(self, chan: _Channel, now: float) -> None:
        # RFC 8656 §12.1: CHANNEL-NUMBER and XOR-PEER-ADDRESS.
        t = _Transaction(
            _Kind.CHANNEL,
            stun.CHANNEL_BIND,
            [(stun.ATTR_CHANNEL_NUMBER, chan.number), (stun.ATTR_XOR_PEER_ADDRESS, chan.peer)],
            peer=chan.peer,
            channel=chan.number,
        )
        self._start(t, now)

    def _send_indication(self, peer: Address, data: bytes) -> None:
        # RFC 8656 §10.1: Send indication, XOR-PEER-ADDRESS and DATA.
        msg = stun.Message(
            stun.SEND,
            stun.INDICATION,
            self._random_bytes(12),
            attributes=[(stun.ATTR_XOR_PEER_ADDRESS, peer), (stun.ATTR_DATA, bytes(data))],
        )
        self._transmits.append(msg.marshal())
        self.stats.indications_sent += 1

    def _permission_failed(self, peer_ip: str, code: int, reason: str) -> None:
        perm = self._permissions.get(peer_ip)
        if perm is None:
            return
        self.stats.dropped_no_permission += len(perm.pending)
        perm.pending.clear()
        perm.state = _PermState.FAILED
        perm.refreshing = False
        self._events.append(PermissionFailed(peer_ip, code, reason))

    def _channel_failed(self, chan: _Channel, code: int, reason: str) -> None:
        # The number stays reserved: RFC 8656 §12.1 forbids rebinding it to
        # another peer until the old binding has timed out on the server.
        chan.state = _ChanState.FAILED
        chan.refreshing = False
        self._events.append(ChannelBindFailed(chan.peer, chan.number, code, reason))

    def _drop_all_pending(self) -> None:
        for perm in self._permissions.values():
            self.stats.dropped_no_permission += len(perm.pending)
            perm.pending.clear()

    def _fail(self, code: int, reason: str) -> None:
        if self.state in (TurnState.FAILED, TurnState.CLOSED):
            return
        # Transition * -> FAILED.
        self.state = TurnState.FAILED
        self._transactions.clear()
        self._drop_all_pending()
        self._refresh_at = self._expires = None
        self._events.append(AllocationFailed(code, reason))

    def _finish_closed(self) -> None:
        # Transition CLOSING/IDLE/ALLOCATING -> CLOSED.
        self.state = TurnState.CLOSED
        self._transactions.clear()
        self._refresh_at = self._expires = None
        self._events.append(Closed())
