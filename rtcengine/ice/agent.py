"""A sans-IO ICE agent (RFC 8445) with Trickle ICE (RFC 8838), consent
freshness (RFC 7675), ICE restart (RFC 8445 §9) and ICE-lite (RFC 8445 §2.5).

The agent never reads a clock or touches a socket.  Its inputs are:

* ``add_local_candidate(candidate, key)``: the driver gathered a candidate on
  the socket ``key`` (any hashable: an endpoint object, a relay client);
* ``gather_server_reflexive(key, server_addr, now)``: ask a STUN server from
  socket ``key`` (RFC 8489 Binding; the agent runs the transaction);
* ``set_remote_credentials`` / ``add_remote_candidate`` (``None`` means
  end-of-candidates, RFC 8838 §4);
* ``handle_datagram(key, addr, data, now)`` and ``handle_timeout(now)``.

Its outputs are ``poll_transmit()`` (``Transmit(key, addr, data)``),
``poll_event()`` and ``next_deadline()``.  After any input, drain both queues
(str0m / h11 style).

Times are seconds as floats on any monotonic clock the caller picks.
"""

from __future__ import annotations

import enum
import random
import secrets
import string
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from rtcengine._core import stun
from rtcengine._core.hmac import HmacKey
from rtcengine.exceptions import InvalidStateError
from rtcengine.ice.candidate import Candidate, candidate_foundation, candidate_priority
from rtcengine.ice.checklist import (
    TCP_PAIRABLE,
    Address,
    CandidatePair,
    Checklist,
    ChecklistState,
    LocalCandidate,
    PairState,
    can_pair,
)

# RFC 8445 §14.2: Ta, the pacing interval between new checks (default 50 ms).
TA: Final = 0.050
# RFC 8489 §6.2.1: initial RTO 500 ms (and RFC 8445 §14.3: RTO >= 500 ms for checks).
RTO_MIN: Final = 0.5
# RFC 8489 §6.2.1: Rc = 7 transmissions, last wait Rm = 16 * RTO.
CHECK_MAX_TRANSMISSIONS: Final = 7
LAST_WAIT_FACTOR: Final = 16
# Gathering from a STUN server: a shorter budget than RFC 8489 §6.2.1's 39.5 s
# so gathering completes promptly (0, 0.5, 1.5, 3.5 s, then 2 s of waiting).
SRFLX_MAX_TRANSMISSIONS: Final = 4
SRFLX_LAST_WAIT_FACTOR: Final = 4
# RFC 7675 §5.1: consent checks every 5 s, randomised over [0.8, 1.2].
CONSENT_INTERVAL: Final = 5.0
# RFC 7675 §5.1: consent expires 30 s after the last successful check.
CONSENT_TIMEOUT: Final = 30.0
# RFC 7675 §5.1 leaves "disconnected" to the implementation; webrtc-pc
# §5.6 says it is transient.  No consent response for this long -> disconnected.
DISCONNECTED_TIMEOUT: Final = 8.0
# Consent transactions retransmit like STUN (RFC 8489 §6.2.1) but only a few
# times: the next consent check supersedes them.
CONSENT_MAX_TRANSMISSIONS: Final = 4
# RFC 8445 §8.1.1: the controlling agent waits at most this long for a
# higher-priority pair before nominating the best valid pair.
NOMINATION_DELAY: Final = 0.5
# RFC 8445 §5.3: ufrag at least 24 bits (4 chars), pwd at least 128 bits (22 chars).
UFRAG_LENGTH: Final = 8
PWD_LENGTH: Final = 24
# RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/".
_ICE_ALPHABET: Final = string.ascii_letters + string.digits + "+/"
_SOFTWARE: Final = "rtcengine"


class IceState(enum.Enum):
    """W3C webrtc-pc §5.6 ``RTCIceTransportState``."""

    NEW = "new"
    CHECKING = "checking"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DISCONNECTED = "disconnected"
    FAILED = "failed"
    CLOSED = "closed"


class GatheringState(enum.Enum):
    """W3C webrtc-pc §5.6 ``RTCIceGathererState``."""

    NEW = "new"
    GATHERING = "gathering"
    COMPLETE = "complete"


class Transmit(NamedTuple):
    """A datagram for the driver to send from socket ``key`` to ``addr``."""

    key: Hashable
    addr: Address
    data: bytes


@dataclass(slots=True)
class LocalCandidateEvent:
    """A local candidate to signal (trickle, RFC 8838 §4); ``None`` means
    end-of-candidates for the current generation."""

    candidate: Candidate | None
    ufrag: str


@dataclass(slots=True)
class GatheringStateEvent:
    state: GatheringState


@dataclass(slots=True)
class StateEvent:
    state: IceState


@dataclass(slots=True)
class SelectedPairEvent:
    pair: CandidatePair


@dataclass(slots=True)
class DataEvent:
    """A non-STUN datagram from a validated remote address (RFC 8445 §12)."""

    key: Hashable
    addr: Address
    data: bytes


Event = LocalCandidateEvent | GatheringStateEvent | StateEvent | SelectedPairEvent | DataEvent


@dataclass
class AgentStats:
    """Counters of the agent (dropped input is counted here, never raised)."""

    binding_requests_received: int = 0
    binding_responses_sent: int = 0
    binding_requests_sent: int = 0
    binding_responses_received: int = 0
    error_responses_sent: int = 0
    stun_malformed: int = 0
    stun_bad_integrity: int = 0
    stun_bad_username: int = 0
    stun_unknown_attributes: int = 0
    stun_unknown_transaction: int = 0
    stun_unexpected: int = 0
    role_conflicts: int = 0
    data_dropped: int = 0
    remote_candidates_ignored: int = 0
    consent_expired: int = 0


def _random_ice_string(n: int) -> str:
    return "".join(secrets.choice(_ICE_ALPHABET) for _ in range(n))


class _Kind(enum.Enum):
    CHECK = 1  # RFC 8445 §7.2.4 connectivity check
    CONSENT = 2  # RFC 7675 §5.1 consent check
    SRFLX = 3  # RFC 8445 §5.1.1.2 gathering from a STUN server


class _Transaction:
    __slots__ = (
        "addr",
        "controlling",
        "data",
        "final",
        "generation",
        "key",
        "kind",
        "next_at",
        "pair",
        "retransmit",
        "rto",
        "sent_at",
        "tid",
        "transmissions",
        "max_transmissions",
        "last_wait",
        "use_candidate",
    )

    def __init__(
        self,
        kind: _Kind,
        tid: bytes,
        key: Hashable,
        addr: Address,
        data: bytes,
        now: float,
        rto: float,
        max_transmissions: int,
        last_wait: int,
    ) -> None:
        self.kind = kind
        self.tid = tid
        self.key = key
        self.addr = addr
        self.data = data
        self.sent_at = now
        self.rto = rto
        self.transmissions = 1
        self.max_transmissions = max_transmissions
        self.last_wait = last_wait
        self.final = False
        self.retransmit = True
        self.pair: CandidatePair | None = None
        self.generation: _Generation | None = None
        self.use_candidate = False
        self.controlling = False
        self.next_at = now + rto
        if max_transmissions <= 1:
            self.final = True
            self.next_at = now + rto * last_wait

    def advance(self, now: float) -> bool:
        """RFC 8489 §6.2.1: after a timer fires, retransmit (True) or time out
        (False; ``final`` was set on the previous step)."""
        if self.final:
            return False
        self.transmissions += 1
        if self.transmissions >= self.max_transmissions:
            # RFC 8489 §6.2.1: after the last transmission wait Rm * RTO.
            self.final = True
            self.next_at = now + self.rto * self.last_wait
        else:
            # RFC 8489 §6.2.1: the interval doubles after each transmission.
            self.next_at = now + self.rto * (1 << (self.transmissions - 1))
        return True


@dataclass
class _EarlyCheck:
    """A check received before the remote credentials (RFC 8445 §7.3, RFC 8838 §12)."""

    key: Hashable
    addr: Address
    priority: int
    use_candidate: bool


@dataclass(eq=False)
class _Generation:
    """One ICE session: credentials, remote candidates, checklist.  An ICE
    restart (RFC 8445 §9) starts a new generation; the previous one keeps its
    selected pair (and consent on it) until the new one selects a pair."""

    index: int
    local_ufrag: str
    local_pwd: str
    local_key: HmacKey
    remote_ufrag: str | None = None
    remote_pwd: str | None = None
    remote_key: HmacKey | None = None
    remote_lite: bool = False
    remote_candidates: list[Candidate] = field(default_factory=list)
    remote_end: bool = False
    checklist: Checklist = field(default_factory=Checklist)
    selected: CandidatePair | None = None
    early: list[_EarlyCheck] = field(default_factory=list)
    first_valid_at: float | None = None
    nominating: CandidatePair | None = None
    prflx_counter: int = 0


class IceAgent:
    """A sans-IO RFC 8445 ICE agent for one stream with any number of components
    (WebRTC with BUNDLE and rtcp-mux uses one component)."""

    def __init__(
        self,
        controlling: bool,
        *,
        ice_lite: bool = False,
        ice_tcp: bool = False,
        aggressive_nomination: bool = False,
        transport_policy: str = "all",
        ufrag: str | None = None,
        pwd: str | None = None,
        tie_breaker: int | None = None,
        ta: float = TA,
        consent_interval: float = CONSENT_INTERVAL,
        disconnected_timeout: float = DISCONNECTED_TIMEOUT,
        consent_timeout: float = CONSENT_TIMEOUT,
        nomination_delay: float = NOMINATION_DELAY,
        check_max_transmissions: int = CHECK_MAX_TRANSMISSIONS,
        rng: random.Random | None = None,
    ) -> None:
        if transport_policy not in ("all", "relay"):
            raise ValueError(f"transport policy must be 'all' or 'relay', got {transport_policy!r}")
        # RFC 8445 §6.1.1: a lite agent is always controlled (unless both are lite).
        self.controlling = controlling and not ice_lite
        self.ice_lite = ice_lite
        # RFC 6544: accept (and pair) TCP candidates, active and passive.
        self.ice_tcp = ice_tcp
        self.aggressive_nomination = aggressive_nomination
        self.transport_policy = transport_policy
        # RFC 8445 §16.1: a 64-bit tie-breaker for role conflicts.
        self.tie_breaker = tie_breaker if tie_breaker is not None else secrets.randbits(64)
        self.ta = ta
        self.consent_interval = consent_interval
        self.disconnected_timeout = disconnected_timeout
        self.consent_timeout = consent_timeout
        self.nomination_delay = nomination_delay
        self.check_max_transmissions = check_max_transmissions
        self._rng = rng or random.Random()
        self.stats = AgentStats()
        self.local_candidates: list[LocalCandidate] = []
        self._gen = self._new_generation(0, ufrag, pwd)
        self._previous: _Generation | None = None
        self._transactions: dict[bytes, _Transaction] = {}
        self._transmits: deque[Transmit] = deque()
        self._events: deque[Event] = deque()
        self._state = IceState.NEW
        self._gathering = GatheringState.NEW
        self._local_done = False
        self._srflx_pending = 0
        self._last_check_at = float("-inf")
        self._consent_failed = False
        self._closed = False
        # The time of the latest input (the agent has no clock of its own).
        self._now: float | None = None
        # (key, remote addr) pairs we accept application data from (RFC 8445 §12).
        self._trusted: dict[tuple[Hashable, Address], CandidatePair] = {}
        self._msg = stun.Message()

    # ------------------------------------------------------------ properties

    @property
    def local_username(self) -> str:
        """ice-ufrag of the current generation."""
        return self._gen.local_ufrag

    @property
    def local_password(self) -> str:
        """ice-pwd of the current generation."""
        return self._gen.local_pwd

    @property
    def remote_username(self) -> str | None:
        return self._gen.remote_ufrag

    @property
    def state(self) -> IceState:
        return self._state

    @property
    def gathering_state(self) -> GatheringState:
        return self._gathering

    @property
    def generation(self) -> int:
        return self._gen.index

    @property
    def checklist(self) -> Checklist:
        return self._gen.checklist

    @property
    def remote_candidates(self) -> list[Candidate]:
        return list(self._gen.remote_candidates)

    @property
    def selected_pair(self) -> CandidatePair | None:
        """The pair data goes on: the current generation's selected pair, else
        (during a restart) the previous generation's (RFC 8445 §9)."""
        if self._gen.selected is not None:
            return self._gen.selected
        if self._previous is not None:
            return self._previous.selected
        return None

    def send_pair(self) -> CandidatePair | None:
        """The pair to send application data on, or None when not allowed:
        the selected pair, else the best valid pair (RFC 8445 §12.1 lets data
        flow on a valid pair before nomination), never after consent expired
        (RFC 7675 §5.1)."""
        if self._consent_failed or self._closed:
            return None
        pair = self.selected_pair
        if pair is not None:
            return pair
        usable = self._usable_pair(self._gen)
        if usable is not None:
            return usable
        valid = self._gen.checklist.valid_pairs()
        return valid[0] if valid else None

    def _usable_pair(self, gen: _Generation) -> CandidatePair | None:
        """The best valid pair the peer has also checked, before nomination.

        Our check on it succeeded (RFC 8445 §7.2.5.3.2: valid) and the peer
        sent us an authenticated check on it, so the peer holds our
        credentials and accepts data from us there (RFC 8445 §12.1 lets
        data flow on a valid pair before nomination).  A full controlled
        agent reports "connected" on it (see :meth:`_update_state`)."""
        for p in gen.checklist.valid_pairs():
            if p.requestsReceived:
                return p
        return None

    # ------------------------------------------------------------ outputs

    def poll_transmit(self) -> Transmit | None:
        return self._transmits.popleft() if self._transmits else None

    def poll_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must be called next (None: no timer)."""
        if self._closed:
            return None
        best: float | None = None

        def consider(t: float | None) -> None:
            nonlocal best
            if t is not None and (best is None or t < best):
                best = t

        for tr in self._transactions.values():
            consider(tr.next_at)
        gen = self._gen
        if self._can_check(gen) and gen.checklist.has_work():
            consider(self._last_check_at + self.ta)
        if self._wants_nomination(gen) and gen.first_valid_at is not None:
            consider(gen.first_valid_at + self.nomination_delay)
        for g in (self._gen, self._previous):
            if g is None or g.selected is None:
                continue
            pair = g.selected
            if self._consent_failed:
                continue
            if not self.ice_lite and pair.next_consent_at is not None:
                consider(pair.next_consent_at)
            last = self._last_alive(pair)
            if last is not None:
                if self._state is not IceState.DISCONNECTED:
                    consider(last + self.disconnected_timeout)
                consider(last + self.consent_timeout)
        return best

    # ------------------------------------------------------------ local side

    def _new_generation(self, index: int, ufrag: str | None, pwd: str | None) -> _Generation:
        ufrag = ufrag or _random_ice_string(UFRAG_LENGTH)
        pwd = pwd or _random_ice_string(PWD_LENGTH)
        # RFC 8445 §7.2.2: short-term credential key = the password (RFC 8489 §9.1.1).
        return _Generation(index, ufrag, pwd, HmacKey(pwd.encode(), "sha1"))

    def start_gathering(self) -> None:
        """The driver begins gathering (webrtc-pc RTCIceGathererState "gathering")."""
        if self._gathering is GatheringState.NEW:
            self._set_gathering(GatheringState.GATHERING)

    def _set_gathering(self, state: GatheringState) -> None:
        self._gathering = state
        self._events.append(GatheringStateEvent(state))

    def add_local_candidate(
        self, candidate: Candidate, key: Hashable, base: Address | None = None
    ) -> LocalCandidate | None:
        """Report a gathered candidate on socket ``key``.  ``base`` defaults to
        the candidate's own address (host, relay).  Returns None when it is
        redundant (RFC 8445 §5.1.3) or filtered by the transport policy."""
        if self._closed:
            return None
        # webrtc-pc §4.2.1: iceTransportPolicy "relay" uses relay candidates only.
        if self.transport_policy == "relay" and candidate.type != "relay":
            return None
        # RFC 8445 §2.5: a lite agent has host candidates only.
        if self.ice_lite and candidate.type != "host":
            return None
        base = base or (candidate.ip, candidate.port)
        for lc in self.local_candidates:
            # RFC 8445 §5.1.3: same transport address and same base -> redundant.
            if (
                lc.candidate.addr == candidate.addr
                and lc.base == base
                and lc.candidate.protocol == candidate.protocol
            ):
                return None
        if self._gathering is GatheringState.NEW:
            self._set_gathering(GatheringState.GATHERING)
        local = LocalCandidate(candidate, key, base)
        self.local_candidates.append(local)
        if candidate.type != "prflx":
            self._events.append(LocalCandidateEvent(candidate, self._gen.local_ufrag))
        for remote in self._gen.remote_candidates:
            self._pair(self._gen, local, remote)
        return local

    def gather_server_reflexive(self, key: Hashable, server: Address, now: float) -> None:
        """RFC 8445 §5.1.1.2: send a Binding request to a STUN server from the
        socket ``key`` (whose host candidate must have been added)."""
        if self._closed or self.ice_lite or self.transport_policy == "relay":
            return
        msg = stun.Message(stun.BINDING, stun.REQUEST)
        data = msg.marshal(fingerprint=True)
        tr = _Transaction(
            _Kind.SRFLX,
            msg.transaction_id,
            key,
            server,
            data,
            now,
            RTO_MIN,
            SRFLX_MAX_TRANSMISSIONS,
            SRFLX_LAST_WAIT_FACTOR,
        )
        self._transactions[tr.tid] = tr
        self._srflx_pending += 1
        if self._gathering is GatheringState.NEW:
            self._set_gathering(GatheringState.GATHERING)
        self._transmits.append(Transmit(key, server, data))

    def local_candidates_done(self) -> None:
        """The driver has added every host and relay candidate; gathering
        completes once the STUN server transactions are done (RFC 8838 §4)."""
        self._local_done = True
        self._maybe_gathering_complete()

    def _maybe_gathering_complete(self) -> None:
        if self._local_done and self._srflx_pending == 0:
            if self._gathering is not GatheringState.COMPLETE:
                self._set_gathering(GatheringState.COMPLETE)
                # RFC 8838 §4.1: signal end-of-candidates.
                self._events.append(LocalCandidateEvent(None, self._gen.local_ufrag))
            self._update_state()

    # ------------------------------------------------------------ remote side

    def set_remote_credentials(self, ufrag: str, pwd: str, ice_lite: bool = False) -> None:
        """The remote ice-ufrag / ice-pwd (and a=ice-lite).  New credentials
        after the first ones mean an ICE restart (RFC 8445 §9): if the caller
        has not called :meth:`restart` for it, the agent restarts itself
        (new local credentials: read :attr:`local_username` again)."""
        if self._closed:
            raise InvalidStateError("ICE agent is closed")
        gen = self._gen
        if gen.remote_ufrag is not None:
            if gen.remote_ufrag == ufrag and gen.remote_pwd == pwd:
                return
            self.restart()
            gen = self._gen
        gen.remote_ufrag = ufrag
        gen.remote_pwd = pwd
        gen.remote_key = HmacKey(pwd.encode(), "sha1")
        gen.remote_lite = ice_lite
        if ice_lite and not self.ice_lite and not self.controlling:
            # RFC 8445 §6.1.1: facing a lite agent, the full agent is controlling.
            self._switch_role(True)
        # RFC 8445 §7.3 / RFC 8838 §12: checks that arrived before the
        # credentials are processed now.
        early, gen.early = gen.early, []
        for ec in early:
            self._process_check(gen, ec.key, ec.addr, ec.priority, ec.use_candidate, None)
        self._update_state()

    def add_remote_candidate(self, candidate: Candidate | None) -> None:
        """A trickled remote candidate (RFC 8838 §11), or ``None`` for
        end-of-candidates (RFC 8838 §13).  Accepted at any time, also before
        the remote credentials.  ``.local`` names must be resolved by the
        caller (draft-ietf-mmusic-mdns-ice-candidates §3.2); unresolved names,
        TCP candidates unless ``ice_tcp`` (RFC 6544; active/passive only),
        other transports and candidates after end-of-candidates are ignored
        and counted."""
        if self._closed:
            return
        gen = self._gen
        if candidate is None:
            gen.remote_end = True
            self._update_state()
            return
        ufrag = candidate.usernameFragment
        if ufrag is not None and gen.remote_ufrag is not None and ufrag != gen.remote_ufrag:
            # RFC 8838 §11: a candidate of another generation.
            self.stats.remote_candidates_ignored += 1
            return
        if gen.remote_end or not self._usable_transport(candidate) or candidate.is_mdns:
            self.stats.remote_candidates_ignored += 1
            return
        for existing in gen.remote_candidates:
            if (
                existing.addr == candidate.addr
                and existing.component == candidate.component
                and existing.protocol == candidate.protocol
            ):
                if existing.type == "prflx" and candidate.type != "prflx":
                    # RFC 8445 §7.3.1.3: a signalled candidate replaces the
                    # peer-reflexive one learned from a check.
                    existing.type = candidate.type
                    existing.priority = candidate.priority
                    existing.foundation = candidate.foundation
                    existing.relatedAddress = candidate.relatedAddress
                    existing.relatedPort = candidate.relatedPort
                    gen.checklist.set_role(self.controlling)
                return
        gen.remote_candidates.append(candidate)
        for local in self.local_candidates:
            self._pair(gen, local, candidate)
        self._update_state()

    def _usable_transport(self, candidate: Candidate) -> bool:
        if candidate.protocol == "udp":
            return True
        # RFC 6544 §4.5: active and passive TCP candidates (simultaneous-open
        # "so" is not implemented), when ICE-TCP is on.
        return self.ice_tcp and candidate.protocol == "tcp" and candidate.tcpType in TCP_PAIRABLE

    def _pair(self, gen: _Generation, local: LocalCandidate, remote: Candidate) -> None:
        if self.ice_lite or not can_pair(local, remote):
            return
        gen.checklist.add(CandidatePair(local, remote, self.controlling))

    # ------------------------------------------------------------ restart / close

    def restart(self) -> None:
        """RFC 8445 §9: new local credentials and a new checklist.  The selected
        pair (if any) keeps carrying data, with consent on the old
        credentials, until the new generation selects a pair."""
        if self._closed:
            raise InvalidStateError("ICE agent is closed")
        old = self._gen
        # Stop the old generation's checks; keep consent transactions.
        for tid, tr in list(self._transactions.items()):
            if tr.kind is _Kind.CHECK and tr.generation is old:
                del self._transactions[tid]
        if old.selected is not None:
            self._previous = old
        elif self._previous is None or self._previous.selected is None:
            self._previous = None
        self._gen = self._new_generation(old.index + 1, None, None)
        self._consent_failed = False
        # RFC 8445 §9: local candidates may be reused; re-signal them.
        for lc in self.local_candidates:
            if lc.candidate.type != "prflx":
                self._events.append(LocalCandidateEvent(lc.candidate, self._gen.local_ufrag))
        if self._gathering is GatheringState.COMPLETE:
            self._events.append(LocalCandidateEvent(None, self._gen.local_ufrag))
        self._update_state()

    def close(self) -> None:
        """webrtc-pc ``RTCIceTransport.stop()``: state "closed", no more output."""
        if self._closed:
            return
        self._closed = True
        self._transactions.clear()
        self._transmits.clear()
        self._trusted.clear()
        self._set_state(IceState.CLOSED)

    # ------------------------------------------------------------ input

    def handle_datagram(self, key: Hashable, addr: Address, data: bytes, now: float) -> None:
        """A datagram received on socket ``key`` from ``addr``."""
        if self._closed or not data:
            return
        self._now = now
        # RFC 7983 §7: first byte 0..3 is STUN.
        if data[0] > 3:
            self._handle_data(key, addr, data, now)
            return
        msg = self._msg
        try:
            msg.parse_into(data)
        except stun.ParseError:
            self.stats.stun_malformed += 1
            return
        cls = msg.message_class
        if cls == stun.REQUEST:
            self._handle_request(msg, key, addr, now)
        elif cls == stun.SUCCESS_RESPONSE or cls == stun.ERROR_RESPONSE:
            self._handle_response(msg, key, addr, now)
        else:
            # RFC 8445 §11: Binding indications are keepalives; nothing to do.
            pass

    def receive_data(self, key: Hashable, addr: Address, size: int, now: float) -> bool:
        """Fast path for drivers that demultiplex themselves: account a non-STUN
        datagram and say whether it comes from a validated remote (RFC 8445 §12)."""
        pair = self._trusted.get((key, addr))
        if pair is None:
            self.stats.data_dropped += 1
            return False
        pair.packetsReceived += 1
        pair.bytesReceived += size
        pair.lastPacketReceivedTimestamp = now
        return True

    def trusted_pair(self, key: Hashable, addr: Address) -> CandidatePair | None:
        """The validated pair data from ``addr`` on socket ``key`` belongs to
        (RFC 8445 §12), or None; for drivers that account a whole burst at
        once (they update the pair's counters themselves)."""
        return self._trusted.get((key, addr))

    def _handle_data(self, key: Hashable, addr: Address, data: bytes, now: float) -> None:
        if self.receive_data(key, addr, len(data), now):
            self._events.append(DataEvent(key, addr, data))

    def data_sent(self, pair: CandidatePair, size: int, now: float) -> None:
        """The driver sent ``size`` bytes of application data on ``pair``."""
        pair.packetsSent += 1
        pair.bytesSent += size
        pair.lastPacketSentTimestamp = now

    # ------------------------------------------------------------ requests

    def _respond(
        self,
        msg: stun.Message,
        key: Hashable,
        addr: Address,
        integrity: HmacKey | None,
        error: tuple[int, str] | None = None,
        unknown: list[int] | None = None,
    ) -> None:
        if error is None:
            # RFC 8445 §7.3.1.2: success response with XOR-MAPPED-ADDRESS,
            # MESSAGE-INTEGRITY (local password) and FINGERPRINT.
            resp = stun.Message(
                stun.BINDING,
                stun.SUCCESS_RESPONSE,
                msg.transaction_id,
                [(stun.ATTR_XOR_MAPPED_ADDRESS, addr)],
            )
            self.stats.binding_responses_sent += 1
        else:
            attrs: list[tuple[int | str, Any]] = [(stun.ATTR_ERROR_CODE, error)]
            if unknown:
                # RFC 8489 §14.13: list the unknown attributes.
                attrs.append((stun.ATTR_UNKNOWN_ATTRIBUTES, unknown))
            resp = stun.Message(msg.message_method, stun.ERROR_RESPONSE, msg.transaction_id, attrs)
            self.stats.error_responses_sent += 1
        self._transmits.append(Transmit(key, addr, resp.marshal(integrity, True)))

    def _generation_for(self, username: str) -> _Generation | None:
        """RFC 8445 §7.3: USERNAME is "<our ufrag>:<their ufrag>"."""
        local, sep, _ = username.partition(":")
        if not sep:
            return None
        if local == self._gen.local_ufrag:
            return self._gen
        if self._previous is not None and local == self._previous.local_ufrag:
            return self._previous
        return None

    def _handle_request(self, msg: stun.Message, key: Hashable, addr: Address, now: float) -> None:
        if msg.message_method != stun.BINDING:
            # RFC 8489 §6.3.1: a method we do not serve on an ICE socket.
            self.stats.stun_unexpected += 1
            self._respond(msg, key, addr, None, (400, "Bad Request"))
            return
        self.stats.binding_requests_received += 1
        username = msg.get(stun.ATTR_USERNAME)
        if not isinstance(username, str) or stun.ATTR_MESSAGE_INTEGRITY not in msg:
            # RFC 8489 §9.1.3.1: no USERNAME or MESSAGE-INTEGRITY -> 400.
            self.stats.stun_bad_username += 1
            self._respond(msg, key, addr, None, (400, "Bad Request"))
            return
        gen = self._generation_for(username)
        if gen is None:
            # RFC 8489 §9.1.3.1: unknown username -> 401.
            self.stats.stun_bad_username += 1
            self._respond(msg, key, addr, None, (401, "Unauthenticated"))
            return
        if not msg.verify(gen.local_key, False):
            # RFC 8489 §9.1.3.1: bad MESSAGE-INTEGRITY (or FINGERPRINT) -> 401.
            self.stats.stun_bad_integrity += 1
            self._respond(msg, key, addr, None, (401, "Unauthenticated"))
            return
        unknown = msg.unknown_comprehension_required()
        if unknown:
            # RFC 8489 §6.3.1.1: 420 listing the unknown attributes.
            self.stats.stun_unknown_attributes += 1
            self._respond(msg, key, addr, gen.local_key, (420, "Unknown Attribute"), unknown)
            return
        priority = msg.get(stun.ATTR_PRIORITY)
        if not isinstance(priority, int):
            # RFC 8445 §7.1.1: PRIORITY is mandatory in a check.
            self.stats.stun_unexpected += 1
            self._respond(msg, key, addr, gen.local_key, (400, "Bad Request"))
            return
        # RFC 8445 §7.3.1.1: detect and repair role conflicts.
        theirs_controlling = msg.get(stun.ATTR_ICE_CONTROLLING)
        theirs_controlled = msg.get(stun.ATTR_ICE_CONTROLLED)
        if self.controlling and isinstance(theirs_controlling, int):
            self.stats.role_conflicts += 1
            if self.tie_breaker >= theirs_controlling:
                # RFC 8445 §7.3.1.1: we keep the role; they get 487.
                self._respond(msg, key, addr, gen.local_key, (487, "Role Conflict"))
                return
            # RFC 8445 §7.3.1.1: we switch to controlled.
            self._switch_role(False)
        elif not self.controlling and isinstance(theirs_controlled, int):
            self.stats.role_conflicts += 1
            if self.tie_breaker >= theirs_controlled:
                # RFC 8445 §7.3.1.1: we switch to controlling.
                self._switch_role(True)
            else:
                self._respond(msg, key, addr, gen.local_key, (487, "Role Conflict"))
                return
        self._respond(msg, key, addr, gen.local_key)
        use_candidate = stun.ATTR_USE_CANDIDATE in msg
        if gen.remote_key is None:
            # RFC 8445 §7.3 / RFC 8838 §12: remember it until the remote
            # credentials arrive.
            if len(gen.early) < 100:
                gen.early.append(_EarlyCheck(key, addr, priority, use_candidate))
            return
        self._process_check(gen, key, addr, priority, use_candidate, now)

    def _process_check(
        self,
        gen: _Generation,
        key: Hashable,
        addr: Address,
        priority: int,
        use_candidate: bool,
        now: float | None,
    ) -> None:
        local = next((lc for lc in self.local_candidates if lc.key == key and lc.pairable), None)
        if local is None:
            return
        remote = next(
            (
                c
                for c in gen.remote_candidates
                if c.addr == addr
                and c.component == local.candidate.component
                and c.protocol == local.candidate.protocol
            ),
            None,
        )
        if remote is None:
            # RFC 8445 §7.3.1.3: a peer-reflexive remote candidate, priority
            # from PRIORITY, a foundation of its own.
            gen.prflx_counter += 1
            remote = Candidate(
                component=local.candidate.component,
                foundation=f"prflx{gen.prflx_counter}",
                ip=addr[0],
                port=addr[1],
                priority=priority,
                protocol=local.candidate.protocol,
                type="prflx",
            )
            if local.candidate.protocol == "tcp":
                # RFC 6544 §7.2.1: a check arriving on a passive candidate's
                # connection comes from an active peer (and vice versa).
                remote.tcpType = "active" if local.candidate.tcpType == "passive" else "passive"
            gen.remote_candidates.append(remote)
        pair = gen.checklist.find(key, addr)
        if pair is None:
            pair = CandidatePair(local, remote, self.controlling)
            if self.ice_lite:
                # RFC 8445 §2.5: a lite agent's pairs are valid once checked by the peer.
                pair.state = PairState.SUCCEEDED
                pair.valid = True
            added = gen.checklist.add(pair)
            if added is None:
                return
            pair = added
        pair.requestsReceived += 1
        pair.responsesSent += 1
        if now is not None:
            pair.lastRequestReceived = now
        self._trusted[(key, addr)] = pair
        if not self.ice_lite:
            # RFC 8445 §7.3.1.4: triggered checks.
            if pair.state in (PairState.FROZEN, PairState.WAITING, PairState.FAILED):
                gen.checklist.trigger(pair)
            elif pair.state is PairState.IN_PROGRESS:
                tr = self._transactions.get(pair.transaction or b"")
                if tr is not None and tr.transmissions > 1:
                    # RFC 8445 §7.3.1.4: a stalled check is replaced by a
                    # triggered one (the old transaction still counts).
                    tr.retransmit = False
                    gen.checklist.trigger(pair)
        # RFC 8445 §7.3.1.5: USE-CANDIDATE from the controlling agent.
        if use_candidate and not self.controlling:
            if pair.valid:
                self._nominate(gen, pair)
            else:
                pair.nominate_on_success = True
        self._update_state()

    # ------------------------------------------------------------ responses

    def _handle_response(self, msg: stun.Message, key: Hashable, addr: Address, now: float) -> None:
        tr = self._transactions.get(msg.transaction_id)
        if tr is None:
            # RFC 8489 §6.3.3: a response to no transaction of ours: drop.
            self.stats.stun_unknown_transaction += 1
            return
        if tr.kind is _Kind.SRFLX:
            self._handle_srflx_response(tr, msg, key, addr)
            return
        gen = tr.generation
        assert gen is not None and gen.remote_key is not None
        if not msg.verify(gen.remote_key, False):
            # RFC 8489 §9.1.3.2: a response failing integrity is discarded.
            self.stats.stun_bad_integrity += 1
            return
        if msg.unknown_comprehension_required():
            # RFC 8489 §6.3.3/§6.3.4: discard; the transaction may still succeed.
            self.stats.stun_unknown_attributes += 1
            return
        del self._transactions[tr.tid]
        self.stats.binding_responses_received += 1
        pair = tr.pair
        assert pair is not None
        if pair.transaction == tr.tid:
            pair.transaction = None
        if tr.kind is _Kind.CONSENT:
            if msg.message_class == stun.SUCCESS_RESPONSE and key == tr.key and addr == tr.addr:
                pair.responsesReceived += 1
                self._rtt(pair, now - tr.sent_at)
                # RFC 7675 §5.1: consent refreshed.
                pair.lastConsentResponse = now
                self._update_state()
            return
        # RFC 8445 §7.2.5.2.1: the response must come from where the request
        # went, on the socket it left from.
        if key != tr.key or addr != tr.addr:
            pair.state = PairState.FAILED
            self._after_check_failed(gen, pair)
            return
        if msg.message_class == stun.ERROR_RESPONSE:
            code = msg.error_code
            if code == 487:
                # RFC 8445 §7.2.5.1: role conflict; switch only if our role
                # is still the one the request carried, then retry.
                self.stats.role_conflicts += 1
                if self.controlling == tr.controlling:
                    self._switch_role(not tr.controlling)
                gen.checklist.trigger(pair)
            else:
                # RFC 8445 §7.2.5.2.4: other errors fail the pair.
                pair.state = PairState.FAILED
                self._after_check_failed(gen, pair)
            return
        pair.responsesReceived += 1
        self._rtt(pair, now - tr.sent_at)
        mapped = msg.get(stun.ATTR_XOR_MAPPED_ADDRESS)
        if isinstance(mapped, tuple):
            self._learn_local_prflx(pair, mapped)
        # RFC 8445 §7.2.5.3.2: the pair is valid; §7.2.5.3.3: Succeeded.
        pair.state = PairState.SUCCEEDED
        pair.valid = True
        pair.lastConsentResponse = now
        self._trusted[(pair.key, pair.remote_addr)] = pair
        if gen.first_valid_at is None:
            gen.first_valid_at = now
        # RFC 8445 §7.2.5.3.3: unfreeze pairs with the same foundation.
        gen.checklist.unfreeze_foundation(pair.foundation)
        if tr.use_candidate and self.controlling:
            # RFC 8445 §7.2.5.3.4: a successful check with USE-CANDIDATE nominates.
            self._nominate(gen, pair)
        elif pair.nominate_on_success and not self.controlling:
            # RFC 8445 §7.3.1.5: nominated by the peer before it was valid.
            self._nominate(gen, pair)
        self._maybe_nominate(gen, now)
        self._update_state()

    def _rtt(self, pair: CandidatePair, rtt: float) -> None:
        pair.currentRoundTripTime = rtt
        pair.totalRoundTripTime += rtt
        pair.roundTripTimeMeasurements += 1

    def _learn_local_prflx(self, pair: CandidatePair, mapped: Address) -> None:
        """RFC 8445 §7.2.5.3.1: a mapped address we do not know is a local
        peer-reflexive candidate (not signalled)."""
        for lc in self.local_candidates:
            if lc.candidate.addr == mapped:
                return
        c = pair.local.candidate
        if c.protocol == "tcp" and c.tcpType == "active" and c.ip == mapped[0]:
            # RFC 6544 §7.2.2: an active candidate's port (9) is not the
            # connection's ephemeral source port; only the address counts.
            return
        prflx = Candidate(
            component=c.component,
            foundation=candidate_foundation("prflx", c.protocol, pair.local.base[0]),
            ip=mapped[0],
            port=mapped[1],
            priority=pair.local.prflx_priority(),
            protocol=c.protocol,
            type="prflx",
            relatedAddress=pair.local.base[0],
            relatedPort=pair.local.base[1],
        )
        self.local_candidates.append(LocalCandidate(prflx, pair.key, pair.local.base))

    def _handle_srflx_response(
        self, tr: _Transaction, msg: stun.Message, key: Hashable, addr: Address
    ) -> None:
        if key != tr.key or addr != tr.addr:
            self.stats.stun_unexpected += 1
            return
        del self._transactions[tr.tid]
        self._srflx_pending -= 1
        if msg.message_class == stun.SUCCESS_RESPONSE:
            mapped = msg.get(stun.ATTR_XOR_MAPPED_ADDRESS) or msg.get(stun.ATTR_MAPPED_ADDRESS)
            base = next((lc for lc in self.local_candidates if lc.key == key and lc.pairable), None)
            if isinstance(mapped, tuple) and base is not None:
                bc = base.candidate
                cand = Candidate(
                    component=bc.component,
                    # RFC 8445 §5.1.1.3: foundation includes the STUN server.
                    foundation=candidate_foundation("srflx", bc.protocol, base.base[0], addr[0]),
                    ip=mapped[0],
                    port=mapped[1],
                    priority=candidate_priority(bc.component, "srflx", base.local_preference),
                    protocol=bc.protocol,
                    type="srflx",
                    relatedAddress=base.base[0],
                    relatedPort=base.base[1],
                )
                # RFC 8445 §5.1.3: a srflx equal to its base is redundant.
                if cand.addr != base.base:
                    self.add_local_candidate(cand, key, base.base)
        self._maybe_gathering_complete()

    # ------------------------------------------------------------ checks

    def _can_check(self, gen: _Generation) -> bool:
        # RFC 8445 §2.5: lite agents send no checks; checks need the remote password.
        return not self.ice_lite and gen.remote_key is not None and not self._closed

    def _send_check(
        self, gen: _Generation, pair: CandidatePair, now: float, use_candidate: bool
    ) -> None:
        """RFC 8445 §7.2.4: a Binding request on ``pair``."""
        assert gen.remote_key is not None and gen.remote_ufrag is not None
        attrs: list[tuple[int | str, Any]] = [
            # RFC 8445 §7.2.2: USERNAME = "<remote ufrag>:<local ufrag>".
            (stun.ATTR_USERNAME, f"{gen.remote_ufrag}:{gen.local_ufrag}"),
            # RFC 8445 §7.1.1: PRIORITY as a peer-reflexive candidate.
            (stun.ATTR_PRIORITY, pair.local.prflx_priority()),
            # RFC 8445 §7.1.3: role and tie-breaker.
            (
                stun.ATTR_ICE_CONTROLLING if self.controlling else stun.ATTR_ICE_CONTROLLED,
                self.tie_breaker,
            ),
        ]
        if use_candidate:
            # RFC 8445 §7.1.2: the controlling agent nominates.
            attrs.append((stun.ATTR_USE_CANDIDATE, None))
        msg = stun.Message(stun.BINDING, stun.REQUEST, None, attrs)
        data = msg.marshal(gen.remote_key, True)
        # RFC 8445 §14.3: RTO = MAX(500 ms, Ta * (Waiting + In-Progress pairs)).
        active = sum(
            1 for p in gen.checklist if p.state in (PairState.WAITING, PairState.IN_PROGRESS)
        )
        rto = max(RTO_MIN, self.ta * active)
        tr = _Transaction(
            _Kind.CHECK,
            msg.transaction_id,
            pair.key,
            pair.remote_addr,
            data,
            now,
            rto,
            self.check_max_transmissions,
            LAST_WAIT_FACTOR,
        )
        tr.pair = pair
        tr.generation = gen
        tr.use_candidate = use_candidate
        tr.controlling = self.controlling
        old = self._transactions.get(pair.transaction or b"")
        if old is not None:
            # RFC 8445 §7.3.1.4: the replaced check keeps listening, no retransmits.
            old.retransmit = False
        self._transactions[tr.tid] = tr
        pair.transaction = tr.tid
        # RFC 8445 §6.1.2.6: Waiting -> In-Progress when the check is sent.
        pair.state = PairState.IN_PROGRESS
        pair.requestsSent += 1
        self.stats.binding_requests_sent += 1
        self._transmits.append(Transmit(pair.key, pair.remote_addr, data))

    def _send_consent(self, gen: _Generation, pair: CandidatePair, now: float) -> None:
        """RFC 7675 §5.1: a consent check (a Binding request, new transaction)."""
        assert gen.remote_key is not None and gen.remote_ufrag is not None
        msg = stun.Message(
            stun.BINDING,
            stun.REQUEST,
            None,
            [
                (stun.ATTR_USERNAME, f"{gen.remote_ufrag}:{gen.local_ufrag}"),
                (stun.ATTR_PRIORITY, pair.local.prflx_priority()),
                (
                    stun.ATTR_ICE_CONTROLLING if self.controlling else stun.ATTR_ICE_CONTROLLED,
                    self.tie_breaker,
                ),
            ],
        )
        data = msg.marshal(gen.remote_key, True)
        tr = _Transaction(
            _Kind.CONSENT,
            msg.transaction_id,
            pair.key,
            pair.remote_addr,
            data,
            now,
            RTO_MIN,
            CONSENT_MAX_TRANSMISSIONS,
            1,
        )
        tr.pair = pair
        tr.generation = gen
        self._transactions[tr.tid] = tr
        pair.requestsSent += 1
        pair.consentRequestsSent += 1
        self.stats.binding_requests_sent += 1
        # RFC 7675 §5.1: next check after a randomised interval in [0.8, 1.2] x 5 s.
        pair.next_consent_at = now + self.consent_interval * self._rng.uniform(0.8, 1.2)
        self._transmits.append(Transmit(pair.key, pair.remote_addr, data))

    def _after_check_failed(self, gen: _Generation, pair: CandidatePair) -> None:
        # RFC 8445 §7.2.5.2: a failed check takes the pair out of the valid list.
        pair.valid = False
        # RFC 8445 §6.1.2.6 / §7.2.5.4: a failure may leave only Frozen pairs
        # of that foundation; unfreeze the best of them.
        for p in gen.checklist:
            if p.state is PairState.FROZEN and p.foundation == pair.foundation:
                p.state = PairState.WAITING
                break
        if pair.nominated or gen.nominating is pair:
            gen.nominating = None
        self._update_state()

    def _switch_role(self, controlling: bool) -> None:
        """RFC 8445 §7.2.5.1 / §7.3.1.1: change role, recompute pair priorities."""
        self.controlling = controlling
        for g in (self._gen, self._previous):
            if g is not None:
                g.checklist.set_role(controlling)

    # ------------------------------------------------------------ nomination

    def _wants_nomination(self, gen: _Generation) -> bool:
        return (
            self.controlling
            and not self.aggressive_nomination
            and gen.selected is None
            and gen.nominating is None
            and self._can_check(gen)
        )

    def _maybe_nominate(self, gen: _Generation, now: float) -> None:
        """RFC 8445 §8.1.1: the controlling agent picks a valid pair and checks
        it again with USE-CANDIDATE (regular nomination).  It nominates the
        best valid pair once no higher-priority pair can still succeed, or
        after ``nomination_delay`` since the first valid pair."""
        if not self._wants_nomination(gen):
            return
        valid = gen.checklist.valid_pairs()
        if not valid:
            return
        best = valid[0]
        waiting_better = any(
            p.priority > best.priority
            and p.state in (PairState.FROZEN, PairState.WAITING, PairState.IN_PROGRESS)
            for p in gen.checklist
        )
        assert gen.first_valid_at is not None
        if waiting_better and now < gen.first_valid_at + self.nomination_delay:
            return
        gen.nominating = best
        self._send_check(gen, best, now, use_candidate=True)
        self._last_check_at = now

    def _nominate(self, gen: _Generation, pair: CandidatePair) -> None:
        """RFC 8445 §8.1.1 / §7.3.1.5: set the nominated flag; the selected pair
        is the highest-priority nominated pair (RFC 8445 §8.1.1)."""
        pair.nominated = True
        if gen.nominating is pair:
            gen.nominating = None
        best = max((p for p in gen.checklist if p.nominated and p.valid), key=lambda p: p.priority)
        if gen.selected is best:
            return
        gen.selected = best
        if best.next_consent_at is None:
            best.next_consent_at = (best.lastConsentResponse or 0.0) + self.consent_interval
        if not self.aggressive_nomination or not self.controlling:
            # RFC 8445 §8.1.2: stop checking once a pair is nominated.
            gen.checklist.stop_after_nomination(best)
            for tid, tr in list(self._transactions.items()):
                if tr.kind is _Kind.CHECK and tr.generation is gen and tr.pair is not best:
                    if tr.pair is not None and tr.pair.state is PairState.FAILED:
                        del self._transactions[tid]
        if gen is self._gen and self._previous is not None:
            # RFC 8445 §9: the new generation took over; drop the old one.
            for tid, tr in list(self._transactions.items()):
                if tr.generation is self._previous:
                    del self._transactions[tid]
            self._previous = None
        self._events.append(SelectedPairEvent(best))

    # ------------------------------------------------------------ timers

    def handle_timeout(self, now: float) -> None:
        """Run everything due at ``now``: retransmissions, the next paced
        check, nomination, consent checks and consent expiry."""
        if self._closed:
            return
        self._now = now
        for tr in list(self._transactions.values()):
            if tr.next_at > now:
                continue
            if tr.retransmit and tr.advance(now):
                self._transmits.append(Transmit(tr.key, tr.addr, tr.data))
                if tr.pair is not None:
                    tr.pair.requestsSent += 1
                    if tr.kind is _Kind.CONSENT:
                        tr.pair.consentRequestsSent += 1
                self.stats.binding_requests_sent += 1
                continue
            if not tr.retransmit and not tr.final:
                # A replaced check: wait out the remaining time quietly.
                tr.final = True
                tr.next_at = now + tr.rto * tr.last_wait
                continue
            self._transaction_timeout(tr)
        gen = self._gen
        # RFC 8445 §6.1.4.2: one check every Ta.
        if self._can_check(gen) and now >= self._last_check_at + self.ta:
            picked = gen.checklist.next_check()
            if picked is not None:
                pair, _triggered = picked
                # RFC 5245 §8.1.1.2 aggressive nomination: USE-CANDIDATE on every check.
                nominate = (self.controlling and self.aggressive_nomination) or (
                    self.controlling and gen.nominating is pair
                )
                self._send_check(gen, pair, now, nominate)
                self._last_check_at = now
        self._maybe_nominate(gen, now)
        # RFC 7675 §5.1: consent checks on the selected pair(s).
        for g in (self._gen, self._previous):
            if g is None or g.selected is None or self.ice_lite or self._consent_failed:
                continue
            pair = g.selected
            if pair.next_consent_at is not None and now >= pair.next_consent_at:
                self._send_consent(g, pair, now)
        self._update_state()

    def _transaction_timeout(self, tr: _Transaction) -> None:
        self._transactions.pop(tr.tid, None)
        if tr.kind is _Kind.SRFLX:
            self._srflx_pending -= 1
            self._maybe_gathering_complete()
            return
        pair = tr.pair
        if tr.kind is _Kind.CONSENT or pair is None or tr.generation is None:
            return
        if pair.transaction != tr.tid:
            return  # a newer check on this pair is running
        pair.transaction = None
        # RFC 8445 §7.2.5.2.2 / RFC 8489 §6.2.1: a timed-out check fails the pair.
        pair.state = PairState.FAILED
        self._after_check_failed(tr.generation, pair)

    # ------------------------------------------------------------ state

    def _last_alive(self, pair: CandidatePair) -> float | None:
        if self.ice_lite:
            # A lite agent sends no checks: the peer's checks are its evidence.
            return pair.lastRequestReceived or pair.lastConsentResponse
        return pair.lastConsentResponse

    def _set_state(self, state: IceState) -> None:
        if state is not self._state:
            self._state = state
            self._events.append(StateEvent(state))

    def _update_state(self) -> None:
        """W3C webrtc-pc §5.6 RTCIceTransportState from the agent's facts
        (at the time of the last input)."""
        if self._closed:
            return
        now = self._now
        pair = self.selected_pair
        gen = self._gen
        if pair is not None:
            last = self._last_alive(pair)
            if now is not None and last is not None:
                if now >= last + self.consent_timeout and not self._consent_failed:
                    # RFC 7675 §5.1: consent expired -> stop sending, failed.
                    self._consent_failed = True
                    self.stats.consent_expired += 1
            if self._consent_failed:
                self._set_state(IceState.FAILED)
                return
            if now is not None and last is not None and now >= last + self.disconnected_timeout:
                # webrtc-pc §5.6: consent checks failing -> disconnected.
                self._set_state(IceState.DISCONNECTED)
                return
            if (
                gen.selected is not None
                and gen.remote_end
                and self._gathering is GatheringState.COMPLETE
                and not gen.checklist.has_pending()
            ):
                # webrtc-pc §5.6: gathering done, end-of-candidates, checks done.
                self._set_state(IceState.COMPLETED)
            else:
                self._set_state(IceState.CONNECTED)
            return
        if self._consent_failed:
            self._set_state(IceState.FAILED)
            return
        if not self.controlling and not self.ice_lite and self._usable_pair(gen) is not None:
            # webrtc-pc §5.6 "connected": a usable connection was found while
            # checks go on.  The controlled agent would otherwise wait for the
            # controlling agent's nomination (one more round trip) before the
            # DTLS handshake (RFC 8842 §5: DTLS once ICE has a working pair)
            # can start; the controlling agent selects right after its first
            # valid pair anyway (RFC 8445 §8.1.1).
            self._set_state(IceState.CONNECTED)
            return
        if gen.remote_key is None and not gen.remote_candidates:
            self._set_state(IceState.NEW)
            return
        if (
            not self.ice_lite
            and gen.remote_end
            and gen.remote_key is not None
            and (self._gathering is GatheringState.COMPLETE or self._local_done)
            and not gen.checklist.has_pending()
            and not gen.checklist.valid_pairs()
        ):
            # RFC 8445 §6.1.2.1 / RFC 8838 §8: every pair failed and no more
            # candidates can come -> the checklist fails.
            gen.checklist.state = ChecklistState.FAILED
            self._set_state(IceState.FAILED)
            return
        if self._state is IceState.FAILED:
            return
        self._set_state(IceState.CHECKING if gen.remote_candidates or gen.early else IceState.NEW)

    # ------------------------------------------------------------ stats

    def get_stats(self) -> dict[str, object]:
        """Agent counters and the W3C candidate-pair stats of every pair."""
        pairs = list(self._gen.checklist)
        if self._previous is not None and self._previous.selected is not None:
            pairs.append(self._previous.selected)
        selected = self.selected_pair
        return {
            "agent": dict(vars(self.stats)),
            "state": self._state.value,
            "gatheringState": self._gathering.value,
            "selectedPair": selected.stats() if selected is not None else None,
            "pairs": [p.stats() for p in pairs],
        }
