"""Candidate pairs and the checklist (RFC 8445 §6.1.2): pair formation,
priorities, pruning, the Frozen/Waiting/In-Progress/Succeeded/Failed states and
the order in which checks are picked (RFC 8445 §6.1.4.2).  Sans-IO: nothing here
reads a clock or touches a socket."""

from __future__ import annotations

import enum
import ipaddress
from collections import deque
from collections.abc import Hashable, Iterator
from typing import Final

from rtcengine.ice.candidate import (
    TCP_TYPE_PREFERENCE,
    Candidate,
    candidate_priority,
    pair_priority,
)

Address = tuple[str, int]

# RFC 8445 §6.1.2.5: implementations SHOULD limit a checklist to 100 pairs.
MAX_PAIRS: Final = 100
# RFC 6544 §4.5: the TCP candidate kinds this agent pairs (simultaneous-open
# "so" candidates are not implemented and never paired).
TCP_PAIRABLE: Final = ("active", "passive")


class PairState(enum.Enum):
    """RFC 8445 §6.1.2.6 candidate pair states."""

    FROZEN = "frozen"  # RFC 8445 §6.1.2.6: not checked until unfrozen
    WAITING = "waiting"  # RFC 8445 §6.1.2.6: ready, waiting for its slot
    IN_PROGRESS = "in-progress"  # RFC 8445 §6.1.2.6: a check is outstanding
    SUCCEEDED = "succeeded"  # RFC 8445 §6.1.2.6: check produced a valid pair
    FAILED = "failed"  # RFC 8445 §6.1.2.6: check failed or timed out


class ChecklistState(enum.Enum):
    """RFC 8445 §6.1.2.1 checklist states."""

    RUNNING = "running"  # RFC 8445 §6.1.2.1
    COMPLETED = "completed"  # RFC 8445 §6.1.2.1: a pair nominated per component
    FAILED = "failed"  # RFC 8445 §6.1.2.1: no valid pair for some component


class LocalCandidate:
    """A local candidate and the socket it is sent from (``key``, opaque to
    the agent: the driver's endpoint, a relay client...).  A server-reflexive
    candidate shares its base's key (RFC 8445 §5.1.1.2)."""

    __slots__ = ("base", "candidate", "key")

    def __init__(self, candidate: Candidate, key: Hashable, base: Address) -> None:
        self.candidate = candidate
        self.key = key
        # RFC 8445 §5.1.1.1: the base (address we send from).
        self.base = base

    @property
    def pairable(self) -> bool:
        """RFC 8445 §6.1.2.4: only candidates that are their own base (host,
        relayed) form pairs; a server-reflexive candidate is replaced by its
        base and then pruned as redundant."""
        return self.candidate.type in ("host", "relay")

    @property
    def local_preference(self) -> int:
        # RFC 8445 §5.1.2.1: bits 8..23 of the priority.
        return (self.candidate.priority >> 8) & 0xFFFF

    def prflx_priority(self) -> int:
        """RFC 8445 §7.1.1: PRIORITY of a check = priority the candidate
        would have as peer-reflexive."""
        if self.candidate.protocol == "tcp":
            # RFC 6544 §4.2: TCP type preferences (prflx TCP below UDP).
            return (TCP_TYPE_PREFERENCE["prflx"] << 24) + (self.candidate.priority & 0xFFFFFF)
        return candidate_priority(self.candidate.component, "prflx", self.local_preference)

    def __repr__(self) -> str:
        return f"LocalCandidate({self.candidate.to_sdp()!r})"


class CandidatePair:
    """A candidate pair with its W3C ``RTCIceCandidatePairStats`` counters."""

    __slots__ = (
        "bytesReceived",
        "bytesSent",
        "consentRequestsSent",
        "currentRoundTripTime",
        "foundation",
        "lastConsentResponse",
        "lastPacketReceivedTimestamp",
        "lastPacketSentTimestamp",
        "lastRequestReceived",
        "local",
        "next_consent_at",
        "nominate_on_success",
        "nominated",
        "packetsReceived",
        "packetsSent",
        "priority",
        "remote",
        "remote_addr",
        "requestsReceived",
        "requestsSent",
        "responsesReceived",
        "responsesSent",
        "roundTripTimeMeasurements",
        "state",
        "totalRoundTripTime",
        "transaction",
        "valid",
    )

    def __init__(self, local: LocalCandidate, remote: Candidate, controlling: bool) -> None:
        self.local = local
        self.remote = remote
        self.remote_addr: Address = (remote.ip, remote.port)
        # RFC 8445 §6.1.2.6: pair foundation = local + remote foundations.
        self.foundation = f"{local.candidate.foundation}:{remote.foundation}"
        self.state = PairState.FROZEN
        self.priority = 0
        self.set_role(controlling)
        # RFC 8445 §7.2.5.3.2: the pair produced a valid pair (our check succeeded).
        self.valid = False
        # RFC 8445 §8.1.1: nominated flag.
        self.nominated = False
        # RFC 8445 §7.3.1.5: USE-CANDIDATE seen before the pair became valid.
        self.nominate_on_success = False
        # The outstanding check transaction id, if any.
        self.transaction: bytes | None = None
        # RFC 7675 §5.1: consent bookkeeping (times in the agent's clock).
        self.lastConsentResponse: float | None = None
        self.next_consent_at: float | None = None
        self.lastRequestReceived: float | None = None
        # W3C webrtc-stats RTCIceCandidatePairStats.
        self.requestsSent = 0
        self.requestsReceived = 0
        self.responsesSent = 0
        self.responsesReceived = 0
        self.consentRequestsSent = 0
        self.packetsSent = 0
        self.packetsReceived = 0
        self.bytesSent = 0
        self.bytesReceived = 0
        self.currentRoundTripTime: float | None = None
        self.totalRoundTripTime = 0.0
        self.roundTripTimeMeasurements = 0
        self.lastPacketSentTimestamp: float | None = None
        self.lastPacketReceivedTimestamp: float | None = None

    @property
    def key(self) -> Hashable:
        return self.local.key

    def set_role(self, controlling: bool) -> None:
        """RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority."""
        local = self.local.candidate.priority
        remote = self.remote.priority
        if controlling:
            self.priority = pair_priority(local, remote)
        else:
            self.priority = pair_priority(remote, local)

    def stats(self) -> dict[str, object]:
        """W3C ``RTCIceCandidatePairStats`` fields."""
        return {
            "type": "candidate-pair",
            "localCandidate": self.local.candidate.to_sdp(),
            "remoteCandidate": self.remote.to_sdp(),
            "state": self.state.value,
            "nominated": self.nominated,
            "priority": self.priority,
            "requestsSent": self.requestsSent,
            "requestsReceived": self.requestsReceived,
            "responsesSent": self.responsesSent,
            "responsesReceived": self.responsesReceived,
            "consentRequestsSent": self.consentRequestsSent,
            "packetsSent": self.packetsSent,
            "packetsReceived": self.packetsReceived,
            "bytesSent": self.bytesSent,
            "bytesReceived": self.bytesReceived,
            "currentRoundTripTime": self.currentRoundTripTime,
            "totalRoundTripTime": self.totalRoundTripTime,
            "lastPacketSentTimestamp": self.lastPacketSentTimestamp,
            "lastPacketReceivedTimestamp": self.lastPacketReceivedTimestamp,
            "lastRequestTimestamp": self.lastRequestReceived,
            "lastResponseTimestamp": self.lastConsentResponse,
        }

    def __repr__(self) -> str:
        c = self.local.candidate
        return (
            f"CandidatePair({c.ip}:{c.port} -> {self.remote_addr[0]}:{self.remote_addr[1]},"
            f" {self.state.value}{', nominated' if self.nominated else ''})"
        )


def _family(ip: str) -> int:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return 0


def can_pair(local: LocalCandidate, remote: Candidate) -> bool:
    """RFC 8445 §6.1.2.2: same component, same transport, same IP family;
    for TCP (RFC 6544 §6.2) a local active candidate with a remote passive
    one only."""
    lc = local.candidate
    return (
        local.pairable
        and lc.component == remote.component
        and lc.protocol == remote.protocol
        and _family(lc.ip) == _family(remote.ip) != 0
        and (lc.protocol != "tcp" or can_pair_tcp(lc.tcpType, remote.tcpType))
    )


def can_pair_tcp(local_type: str | None, remote_type: str | None) -> bool:
    """RFC 6544 §6.2: active pairs with passive, passive with active, S-O
    with S-O; pairs whose local candidate is passive are then pruned (the
    passive side never opens a connection: its pairs appear when a check
    arrives on an accepted connection, as peer-reflexive ones, RFC 6544
    §7.2.1).  S-O is not implemented.  What is left: local active, remote
    passive."""
    return local_type == "active" and remote_type == "passive"


class Checklist:
    """One checklist (RFC 8445 §6.1.2): pairs ordered by priority, a lookup by
    (local socket key, remote address) and the triggered-check FIFO
    (RFC 8445 §6.1.4.1)."""

    def __init__(self) -> None:
        self.pairs: list[CandidatePair] = []
        self.state = ChecklistState.RUNNING
        self._by_addr: dict[tuple[Hashable, Address], CandidatePair] = {}
        self.triggered: deque[CandidatePair] = deque()

    def __iter__(self) -> Iterator[CandidatePair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def find(self, key: Hashable, addr: Address) -> CandidatePair | None:
        return self._by_addr.get((key, addr))

    def sort(self) -> None:
        # RFC 8445 §6.1.2.3: decreasing pair priority.
        self.pairs.sort(key=lambda p: p.priority, reverse=True)

    def add(self, pair: CandidatePair) -> CandidatePair | None:
        """Insert a pair, pruning redundant ones (RFC 8445 §6.1.2.4: same
        local base and remote candidate keeps the higher priority) and
        capping the list (RFC 8445 §6.1.2.5).  Returns the pair kept."""
        k = (pair.key, pair.remote_addr)
        old = self._by_addr.get(k)
        if old is not None:
            return old
        self.pairs.append(pair)
        self._by_addr[k] = pair
        self.sort()
        # RFC 8838 §10 / RFC 8445 §6.1.2.6: a new pair is Waiting unless a
        # pair of the same foundation is already being checked or waiting.
        if not any(
            p is not pair
            and p.foundation == pair.foundation
            and p.state in (PairState.WAITING, PairState.IN_PROGRESS)
            for p in self.pairs
        ):
            pair.state = PairState.WAITING
        if len(self.pairs) > MAX_PAIRS:
            # RFC 8445 §6.1.2.5: drop the lowest-priority pairs that are not
            # valid or in progress.
            for victim in reversed(self.pairs):
                if not victim.valid and victim.state is not PairState.IN_PROGRESS:
                    self.remove(victim)
                    break
        return pair if pair in self._by_addr.values() else None

    def remove(self, pair: CandidatePair) -> None:
        self.pairs.remove(pair)
        self._by_addr.pop((pair.key, pair.remote_addr), None)
        try:
            self.triggered.remove(pair)
        except ValueError:
            pass

    def set_role(self, controlling: bool) -> None:
        """RFC 8445 §7.2.5.1 / §7.3.1.1: a role switch recomputes pair priorities."""
        for p in self.pairs:
            p.set_role(controlling)
        self.sort()

    def trigger(self, pair: CandidatePair) -> None:
        """RFC 8445 §7.3.1.4: put the pair on the triggered-check queue (Waiting)."""
        pair.state = PairState.WAITING
        if pair not in self.triggered:
            self.triggered.append(pair)

    def unfreeze_foundation(self, foundation: str) -> None:
        """RFC 8445 §7.2.5.3.3: a success unfreezes the pairs sharing its foundation."""
        for p in self.pairs:
            if p.state is PairState.FROZEN and p.foundation == foundation:
                p.state = PairState.WAITING

    def has_pending(self) -> bool:
        """Pairs still to be checked or being checked."""
        return bool(self.triggered) or any(
            p.state in (PairState.FROZEN, PairState.WAITING, PairState.IN_PROGRESS)
            for p in self.pairs
        )

    def has_work(self) -> bool:
        """A check could be sent now (a triggered, Waiting or Frozen pair)."""
        return bool(self.triggered) or any(
            p.state in (PairState.FROZEN, PairState.WAITING) for p in self.pairs
        )

    def next_check(self) -> tuple[CandidatePair, bool] | None:
        """RFC 8445 §6.1.4.2: the pair to check when Ta fires, and whether it
        came from the triggered queue."""
        # RFC 8445 §6.1.4.2 (1): the triggered-check queue first.
        while self.triggered:
            pair = self.triggered.popleft()
            if pair in self.pairs:
                return pair, True
        # RFC 8445 §6.1.4.2 (2): else the highest-priority Waiting pair.
        for p in self.pairs:
            if p.state is PairState.WAITING:
                return p, False
        # RFC 8445 §6.1.4.2 (3): else unfreeze the highest-priority Frozen pair.
        for p in self.pairs:
            if p.state is PairState.FROZEN:
                return p, False
        return None

    def valid_pairs(self) -> list[CandidatePair]:
        """RFC 8445 §7.2.5.3.2: the valid list, highest priority first."""
        return [p for p in self.pairs if p.valid]

    def stop_after_nomination(self, nominated: CandidatePair) -> None:
        """RFC 8445 §8.1.2: once a pair is nominated, remove Frozen and Waiting
        pairs and stop the checks of lower-priority In-Progress ones."""
        for p in list(self.pairs):
            if p is nominated or p.valid:
                continue
            if p.state in (PairState.FROZEN, PairState.WAITING):
                self.remove(p)
            elif p.state is PairState.IN_PROGRESS and p.priority < nominated.priority:
                p.state = PairState.FAILED
                p.transaction = None
        self.triggered.clear()
        # RFC 8445 §6.1.2.1: a nominated pair for the (single) component completes the list.
        self.state = ChecklistState.COMPLETED
